"""The architecture of a flow and the schema of its weight file, in one place: what the
integer model (:mod:`flowzip.model`) builds and runs, the training flow
(:mod:`flowzip.train.model`) trains and exports, and the registry reads.

* :class:`FlowConfig`: the architecture, stored as JSON next to the weights;
* :meth:`FlowConfig.plan`: the walk through it, level by level: the steps (and the keys of
  their weights), then the latents factored out (names, channels, contexts, sizes);
* :meth:`FlowConfig.prior_nets` and :func:`prior_passes`: the prior networks, and the
  coding passes of a latent (which prior, which positions, which context);
* :func:`join_bundle` / :func:`split_bundle`: a model file holds an RGB and a grayscale
  flow, each one flow's keys under ``rgb/`` or ``gray/``;
* :func:`check_flow_params`: what a loaded file must hold before a model is built from it.

It imports neither torch nor the layers (torch only inside the functions that take
tensors), so the registry can read a file's schema without them.

Example:
    >>> config = FlowConfig(in_channels=3, levels=2, couplings=1, top_splits=1)
    >>> [(z.name, z.channels, z.context_channels, z.downscale) for z in config.latents()]
    [('split0', 6, 6, 2), ('top0', 12, 12, 4), ('base', 12, 0, 4)]
    >>> [step.lift for level in config.plan() for step in level.steps]
    ['level0.step0.lift', 'level1.step0.lift']
    >>> sorted(split_bundle(join_bundle({"rgb": {"config": 1}, "gray": {"config": 2}})).items())
    [('gray', {'config': 2}), ('rgb', {'config': 1})]
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, NamedTuple, TypeVar

if TYPE_CHECKING:
    import torch

# a model file's flows: the plane kind each codes, and its input channels
FLOW_KINDS: dict[str, int] = {"rgb": 3, "gray": 1}

CONFIG_KEY = "config"  # one flow's FlowConfig, as JSON
BASE_MU_KEY = "prior.base.mu_q"  # the base latent's per-channel prior: no network
BASE_SCALE_KEY = "prior.base.scale_idx"
BASE = "base"  # the last latent's name: coded without context
SECOND_PASS = "b"  # suffix of a checkerboard latent's second-pass prior: "split0" -> "split0b"
MASK_VALUE = 64  # the anchor-mask channel's integer value (1.0 after the nets' 1/64 input scale)


class LiftKeys(NamedTuple):
    """The keys of one lifting 1x1 convolution's weights (``log2_diag_q``: with scales only)."""

    perm: str
    lower: str
    upper: str
    log2_diag_q: str


class Step(NamedTuple):
    """One [lifting 1x1 convolution, coupling] step of a level, and where its weights are."""

    level: int
    number: int  # within the level
    channels: int  # the level's channels (after its squeeze)
    scales: bool  # scale layers: a diagonal in the 1x1 convolution, an affine coupling

    @property
    def lift(self) -> str:
        return f"level{self.level}.step{self.number}.lift"

    @property
    def lift_keys(self) -> LiftKeys:
        return LiftKeys(*(f"{self.lift}.{part}" for part in LiftKeys._fields))

    @property
    def coupling(self) -> str:
        """Prefix of the coupling's network (its layers' keys are the network's own)."""
        return f"level{self.level}.step{self.number}.coupling"


class FactoredLatent(NamedTuple):
    """A latent the flow factors out: the first ``channels`` of what a level leaves, coded
    under a prior of the rest (``context_channels`` of them; 0 for the base, coded alone)."""

    name: str
    channels: int
    context_channels: int
    downscale: int  # the latent is (N, channels, H / downscale, W / downscale)

    def shape(self, n: int, height: int, width: int) -> tuple[int, int, int, int]:
        """The latent's shape for ``n`` images of ``height`` x ``width`` pixels."""
        return n, self.channels, height // self.downscale, width // self.downscale


class Level(NamedTuple):
    """A level: a 2x2 squeeze, its steps, then the latents factored out after it (encode order)."""

    number: int
    channels: int  # after its squeeze
    steps: tuple[Step, ...]
    latents: tuple[FactoredLatent, ...]


class PriorNet(NamedTuple):
    """A prior network: its name (its weights under :func:`prior_prefix`), its input and
    output channels (mean and log-scale of each of ``channels``)."""

    name: str
    in_channels: int
    channels: int
    first_pass: str | None  # a second-pass prior: the name of its latent's first pass


def prior_prefix(prior: str) -> str:
    """Prefix of a prior network's weights: ``prior.split0``, ``prior.top1b``, ..."""
    return f"prior.{prior}"


@dataclass(frozen=True)
class FlowConfig:
    """Architecture of a flow; stored as JSON next to its weights.

    ::

        x (C,H,W) - 128
          |  per level l = 0..L-1:
          |    Squeeze 2x2 -> [LiftingConv1x1, coupling] x couplings
          |    l < L-1: factor out half the channels  split{l} ~ p(. | rest)   (split prior)
          |  top: factor out half, top_splits times   top{s}   ~ p(. | rest)   (top priors)
          v  base: the rest                            base     ~ p(.)          (per channel)
    """

    in_channels: int = 3
    levels: int = 3
    couplings: int = 4
    hidden: int = 64
    top_splits: int = 2
    checkerboard: bool = False  # two-pass priors for every factored-out latent (see anchor_mask)
    # levels from this one up get scale layers (affine couplings, a diagonal in each 1x1
    # convolution), coded with bits-back; None: additive couplings only (no bits-back)
    scale_from_level: int | None = None

    @property
    def stride(self) -> int:
        """Height and width of a coded tile must be multiples of this."""
        return 2**self.levels

    @property
    def bits_back(self) -> bool:
        return self.scale_from_level is not None

    def has_scales(self, level: int) -> bool:
        return self.scale_from_level is not None and level >= self.scale_from_level

    def plan(self) -> tuple[Level, ...]:
        """The flow, level by level: what the integer and the float flow both walk."""
        out, c = [], self.in_channels
        for index in range(self.levels):
            c *= 4
            steps = tuple(Step(index, k, c, self.has_scales(index)) for k in range(self.couplings))
            latents, kept = [], c
            names = (
                [f"split{index}"]
                if index < self.levels - 1
                else [f"top{s}" for s in range(self.top_splits)]
            )
            for name in names:
                half = kept // 2
                latents.append(FactoredLatent(name, half, kept - half, 2 ** (index + 1)))
                kept -= half
            if index == self.levels - 1:
                latents.append(FactoredLatent(BASE, kept, 0, 2 ** (index + 1)))
            out.append(Level(index, c, steps, tuple(latents)))
            c = kept
        return tuple(out)

    def steps(self) -> list[Step]:
        """Every step in encode order."""
        return [step for level in self.plan() for step in level.steps]

    def latents(self) -> list[FactoredLatent]:
        """Every latent in encode order (the decoder goes backwards)."""
        return [latent for level in self.plan() for latent in level.latents]

    def level_channels(self) -> list[int]:
        """Channels inside each level (after its squeeze)."""
        return [level.channels for level in self.plan()]

    def latent_names(self) -> list[str]:
        """Latent names in encode order (the decoder goes backwards)."""
        return [latent.name for latent in self.latents()]

    def prior_nets(self) -> list[PriorNet]:
        """The prior networks in the order the training flow creates (and exports) them:
        each context latent's first pass and, with ``checkerboard``, its second pass, which
        also sees the anchors' values and the anchor mask (see :func:`checkerboard_context`)."""
        out = []
        for latent in self.latents():
            if latent.name == BASE:
                continue
            out.append(PriorNet(latent.name, latent.context_channels, latent.channels, None))
            if self.checkerboard:
                second_in = latent.context_channels + latent.channels + 1
                out.append(
                    PriorNet(latent.name + SECOND_PASS, second_in, latent.channels, latent.name)
                )
        return out

    def to_json(self) -> str:
        fields = asdict(self)
        # older configs have no such keys: keep their JSON (and so their weights' hash) as it was
        for key, off in (("checkerboard", False), ("scale_from_level", None)):
            if fields[key] == off:
                del fields[key]
        return json.dumps(fields, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> FlowConfig:
        """The config of :meth:`to_json`; ``ValueError`` for anything else.

        Example:
            >>> FlowConfig.from_json('{"levels": 2}').stride
            4
            >>> FlowConfig.from_json('{"levels": "2"}')
            Traceback (most recent call last):
            ValueError: not a flow config: {"levels": "2"}
        """
        fields = json.loads(text)
        known = {f.name for f in dataclasses.fields(cls)}
        if (
            not isinstance(fields, dict)
            or not set(fields) <= known
            or not all(
                isinstance(v, int) or (k == "scale_from_level" and v is None)
                for k, v in fields.items()
            )
        ):
            raise ValueError(f"not a flow config: {text[:200]}")
        config = cls(**fields)
        if min(config.in_channels, config.levels, config.couplings, config.hidden) < 1 or (
            config.top_splits < 0
        ):
            raise ValueError(f"not a flow config: {text[:200]}")
        return config


# ------------------------------------------------------------------ coding passes


def anchor_mask(height: int, width: int) -> torch.Tensor:
    """Checkerboard anchors of a latent grid, (1, 1, H, W) bool: positions with even y + x.

    With ``FlowConfig.checkerboard`` a factored-out latent is coded in two passes (He et al.
    2021, "Checkerboard context model"): the anchors under a prior of the coarser context,
    then the other half under a second prior that also sees the anchors' values.

    Example:
        >>> anchor_mask(2, 3)[0, 0].int().tolist()
        [[1, 0, 1], [0, 1, 0]]
    """
    import torch

    y = torch.arange(height).view(-1, 1)
    x = torch.arange(width).view(1, -1)
    return ((y + x) % 2 == 0).view(1, 1, height, width)


def checkerboard_context(
    context: torch.Tensor, z: torch.Tensor, anchors: torch.Tensor
) -> torch.Tensor:
    """What the second pass's prior sees: the context, the anchors' values (zeros elsewhere)
    and the anchor mask itself. Integer in, integer out (float in, float out for training)."""
    import torch

    m = anchors.to(z.dtype).expand(z.shape[0], 1, *z.shape[2:])
    return torch.cat([context, z * m, MASK_VALUE * m], dim=1)


class PriorPass(NamedTuple):
    """One coding pass of a latent: the prior network that codes it (``name`` itself for the
    base), the positions it codes (a bool mask of the latent; None: all of it) and what
    that prior sees (None for the base)."""

    prior: str
    positions: torch.Tensor | None
    context: torch.Tensor | None


def prior_passes(
    config: FlowConfig, name: str, context: torch.Tensor | None, z: torch.Tensor
) -> Iterator[PriorPass]:
    """The coding passes of latent ``name`` in decode order.

    A generator: the decoder writes the values it pops at ``positions`` into ``z`` before
    asking for the next pass, whose context may read them (checkerboard); the encoder and
    the training flow pass the whole latent, of which a pass reads only what the decoder has
    by then.
    """
    if context is None or not config.checkerboard:
        yield PriorPass(name, None, context)
        return
    anchors = anchor_mask(*z.shape[2:]).to(z.device)
    yield PriorPass(name, anchors.expand(z.shape), context)
    second = checkerboard_context(context, z, anchors)
    yield PriorPass(name + SECOND_PASS, (~anchors).expand(z.shape), second)


# ------------------------------------------------------------------ the model file

T = TypeVar("T")


def join_bundle(flows: Mapping[str, Mapping[str, T]]) -> dict[str, T]:
    """The arrays of a model file: each flow's (``{kind: {key: array}}``) under ``kind/``."""
    return {f"{kind}/{key}": v for kind, params in flows.items() for key, v in params.items()}


def split_bundle(arrays: Mapping[str, T]) -> dict[str, dict[str, T]]:
    """Each flow's arrays of a model file, ``{kind: {key: array}}`` in :data:`FLOW_KINDS`;
    ``KeyError`` when a flow is missing."""
    flows: dict[str, dict[str, T]] = {kind: {} for kind in FLOW_KINDS}
    for key, v in arrays.items():
        kind, _, rest = key.partition("/")
        if kind in flows:
            flows[kind][rest] = v
    for kind, params in flows.items():
        if CONFIG_KEY not in params:
            raise KeyError(f"{kind}/{CONFIG_KEY}")
    return flows


def check_flow_params(kind: str, params: Mapping) -> FlowConfig:
    """The config of one flow of a model file, after checking what a file can get wrong
    without breaking the zip: the config, the flow's channels, integer weights.
    ``ValueError`` (or ``KeyError`` for a missing array) otherwise.

    Example:
        >>> import numpy as np
        >>> check_flow_params("gray", {"config": np.array('{"in_channels": 1}')}).levels
        3
        >>> check_flow_params("rgb", {"config": np.array('{"in_channels": 1}')})
        Traceback (most recent call last):
        ValueError: the rgb flow has 1 input channels, not 3
    """
    config_array = params[CONFIG_KEY]
    if config_array.shape != () or config_array.dtype.kind != "U":
        raise ValueError(f"{kind}/{CONFIG_KEY} is not a JSON string")
    config = FlowConfig.from_json(str(config_array))
    if config.in_channels != FLOW_KINDS[kind]:
        raise ValueError(
            f"the {kind} flow has {config.in_channels} input channels, not {FLOW_KINDS[kind]}"
        )
    for key, v in params.items():
        if key != CONFIG_KEY and v.dtype.kind not in "iu":
            raise ValueError(f"{kind}/{key} is not an integer array ({v.dtype})")
    return config
