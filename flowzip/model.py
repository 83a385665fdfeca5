"""The integer discrete flow that the codec runs: IDF (Hoogeboom et al. 2019) with
multi-scale factor-out (RealNVP/Glow) and discrete invertible 1x1 convolutions.

::

    x (C,H,W) - 128
      |  per level l = 0..L-1:
      |    Squeeze 2x2 -> [LiftingConv1x1, AdditiveCoupling] x couplings
      |    l < L-1: factor out half the channels  z_l ~ p(z_l | rest)     (split prior)
      |  top: factor out half, twice               z_t ~ p(z_t | rest)     (top priors)
      v  base: the rest                            z_b ~ p(z_b)            (per channel)

Every prior is a discretized logistic whose integer parameters (``mu_q``, ``scale_idx``,
see :mod:`flowzip.priors`) come from an integer network of the part decoded before it.
``forward`` returns the latents with their contexts in encode order; the decoder calls
``inverse`` with a function that pops each latent given its prior parameters, base first.

The model holds only integers: :meth:`IntFlowModel.load` reads an exported ``.npz``
(weights as integers plus a JSON config); training lives in :mod:`flowzip.train`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import NamedTuple

import numpy as np
import torch

from .flows.base import Composite
from .flows.conv1x1 import LiftingConv1x1
from .flows.coupling import AdditiveCoupling
from .flows.intnet import IntConvNet, shift_round
from .flows.reshape import Squeeze
from .flows.scale import AffineCoupling
from .priors import MEAN_FRAC_BITS, SCALE_FRAC_BITS, scale_index

PIXEL_OFFSET = 128
MAX_MEAN_Q = 2**24
MASK_VALUE = 64  # the anchor-mask channel's integer value (1.0 after the nets' 1/64 input scale)


def anchor_mask(height: int, width: int) -> torch.Tensor:
    """Checkerboard anchors of a latent grid, (1, 1, H, W) bool: positions with even y + x.

    With ``FlowConfig.checkerboard`` a factored-out latent is coded in two passes (He et al.
    2021, "Checkerboard context model"): the anchors under a prior of the coarser context,
    then the other half under a second prior that also sees the anchors' values.
    """
    y = torch.arange(height).view(-1, 1)
    x = torch.arange(width).view(1, -1)
    return ((y + x) % 2 == 0).view(1, 1, height, width)


def checkerboard_context(
    context: torch.Tensor, z: torch.Tensor, anchors: torch.Tensor
) -> torch.Tensor:
    """What the second pass's prior sees: the context, the anchors' values (zeros elsewhere)
    and the anchor mask itself. Integer in, integer out (float in, float out for training)."""
    m = anchors.to(z.dtype).expand(z.shape[0], 1, *z.shape[2:])
    return torch.cat([context, z * m, MASK_VALUE * m], dim=1)


@dataclass(frozen=True)
class FlowConfig:
    """Architecture of a flow; stored as JSON next to its weights."""

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

    def level_channels(self) -> list[int]:
        """Channels inside each level (after its squeeze)."""
        out, c = [], self.in_channels
        for level in range(self.levels):
            c *= 4
            out.append(c)
            if level < self.levels - 1:
                c -= c // 2
        return out

    def latent_names(self) -> list[str]:
        """Latent names in encode order (the decoder goes backwards)."""
        names = [f"split{l}" for l in range(self.levels - 1)]
        return names + [f"top{s}" for s in range(self.top_splits)] + ["base"]

    @property
    def bits_back(self) -> bool:
        return self.scale_from_level is not None

    def has_scales(self, level: int) -> bool:
        return self.scale_from_level is not None and level >= self.scale_from_level

    def to_json(self) -> str:
        fields = asdict(self)
        # older configs have no such keys: keep their JSON (and so their weights' hash) as it was
        for key, off in (("checkerboard", False), ("scale_from_level", None)):
            if fields[key] == off:
                del fields[key]
        return json.dumps(fields, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> FlowConfig:
        return cls(**json.loads(text))


class Latent(NamedTuple):
    name: str
    z: torch.Tensor  # int64 (N, c, h, w)
    context: torch.Tensor | None  # what the prior of z sees; None for the base


class IntFlowModel:
    """The exported integer flow: exact ``forward`` (encode) and ``inverse`` (decode)."""

    def __init__(self, config: FlowConfig, params: dict[str, np.ndarray], backend):
        self.config = config
        self.backend = backend
        self.levels: list[Composite] = []
        for l, c in enumerate(config.level_channels()):
            steps = [Squeeze()]
            scales = config.has_scales(l)
            for k in range(config.couplings):
                p = f"level{l}.step{k}"
                steps.append(
                    LiftingConv1x1(
                        torch.from_numpy(params[f"{p}.lift.perm"]),
                        torch.from_numpy(params[f"{p}.lift.lower"]),
                        torch.from_numpy(params[f"{p}.lift.upper"]),
                        backend,
                        torch.from_numpy(params[f"{p}.lift.log2_diag_q"]) if scales else None,
                    )
                )
                net = IntConvNet.from_params(params, f"{p}.coupling", backend)
                steps.append(
                    AffineCoupling(c // 2, net) if scales else AdditiveCoupling(c // 2, net)
                )
            self.levels.append(Composite(steps))
        passes = ("", "b") if config.checkerboard else ("",)
        self.priors = {
            name + p: IntConvNet.from_params(params, f"prior.{name}{p}", backend)
            for name in config.latent_names()
            if name != "base"
            for p in passes
        }
        self.base_mu_q = torch.from_numpy(params["prior.base.mu_q"]).long()
        self.base_scale_idx = torch.from_numpy(params["prior.base.scale_idx"]).long()

    @classmethod
    def load(cls, params: dict[str, np.ndarray], backend) -> IntFlowModel:
        config = FlowConfig.from_json(str(params["config"]))
        return cls(config, params, backend)

    # -- the bijection -------------------------------------------------------------

    def forward(
        self, x: torch.Tensor, stack=None, emit: Callable[[Latent], None] | None = None
    ) -> list[Latent]:
        """Pixels (N, C, H, W) uint8 or int64 -> latents with contexts, in encode order.

        A bits-back model (``config.bits_back``) codes its scale layers on ``stack`` (a
        :class:`~flowzip.flows.scale.ScaleStack`) as it goes, so its latents must be pushed
        in between: ``emit`` gets each latent as soon as it is factored out.
        """
        h = x.long() - PIXEL_OFFSET
        out: list[Latent] = []

        def factor_out(latent: Latent) -> None:
            out.append(latent)
            if emit is not None:
                emit(latent)

        for l, level in enumerate(self.levels):
            h = level.forward(h, stack)
            if l < len(self.levels) - 1:
                factor_out(self._split(f"split{l}", h))
                h = h[:, h.shape[1] // 2 :]
        for s in range(self.config.top_splits):
            factor_out(self._split(f"top{s}", h))
            h = h[:, h.shape[1] // 2 :]
        factor_out(Latent("base", h, None))
        return out

    @staticmethod
    def _split(name: str, h: torch.Tensor) -> Latent:
        half = h.shape[1] // 2
        return Latent(name, h[:, :half], h[:, half:])

    def inverse(
        self,
        pop: Callable[[str, torch.Tensor | None, tuple[int, ...]], torch.Tensor],
        shape: tuple[int, ...],
        stack=None,
    ) -> torch.Tensor:
        """Rebuild pixels (int64) from latents that ``pop(name, context, shape)`` supplies
        (a bits-back model's scale layers pop and push on ``stack`` in between)."""
        n, c, height, width = shape
        chans = self.config.level_channels()
        stride = self.config.stride
        top_sizes = [chans[-1]]  # channels before each top split, as forward() splits them
        for _ in range(self.config.top_splits):
            top_sizes.append(top_sizes[-1] - top_sizes[-1] // 2)
        h = pop("base", None, (n, top_sizes[-1], height // stride, width // stride))
        for s in reversed(range(self.config.top_splits)):
            h = torch.cat([pop(f"top{s}", h, (n, top_sizes[s] // 2, *h.shape[2:])), h], dim=1)
        for l in reversed(range(len(self.levels))):
            if l < len(self.levels) - 1:
                half = chans[l] // 2
                h = torch.cat([pop(f"split{l}", h, (n, half, *h.shape[2:])), h], dim=1)
            h = self.levels[l].inverse(h, stack)
        return h + PIXEL_OFFSET

    # -- priors -------------------------------------------------------------------

    def prior_passes(self, name: str, context: torch.Tensor | None, z: torch.Tensor):
        """The coding passes of latent ``name`` in decode order: ``(positions, mu_q, scale_idx)``
        with ``positions`` a bool mask of the latent (None: all of it).

        A generator: the decoder writes the values it pops at ``positions`` into ``z`` before
        asking for the next pass, whose prior may read them (checkerboard); the encoder passes
        the whole latent, of which a pass reads only what the decoder has by then.
        """
        if context is None or not self.config.checkerboard:
            yield None, *self.prior(name, context, tuple(z.shape))
            return
        anchors = anchor_mask(*z.shape[2:])
        yield anchors.expand(z.shape), *self.prior(name, context, tuple(z.shape))
        second = checkerboard_context(context, z, anchors)
        yield (~anchors).expand(z.shape), *self.prior(name + "b", second, tuple(z.shape))

    def prior(self, name: str, context: torch.Tensor | None, shape: tuple[int, ...]):
        """Integer prior parameters (mu_q, scale_idx) of latent ``name``, each of ``shape``
        (the first pass only, for a checkerboard model; see :meth:`prior_passes`)."""
        if context is None:
            mu_q = self.base_mu_q.view(1, -1, 1, 1).expand(shape)
            sidx = self.base_scale_idx.view(1, -1, 1, 1).expand(shape)
            return mu_q, sidx
        acc_net = self.priors[name]
        acc = acc_net(context)
        c = shape[1]
        mu_q = shift_round(acc[:, :c], acc_net.out_frac_bits - MEAN_FRAC_BITS)
        mu_q = torch.clamp(mu_q, -MAX_MEAN_Q, MAX_MEAN_Q)  # keeps escape offsets within 32 bits
        log2s_q = shift_round(acc[:, c:], acc_net.out_frac_bits - SCALE_FRAC_BITS)
        return mu_q, scale_index(log2s_q)
