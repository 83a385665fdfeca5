"""The float twin of :class:`flowzip.model.IntFlowModel`, for training, and its export.

Training runs in float32 with straight-through rounding (IDF): the flow still maps integers
to integers, so the discretized-logistic likelihood of the latents is exact. :meth:`FloatFlow.export`
turns every network into an integer network (weights scaled to 14-bit integers, activations
with 8 fractional bits) and returns the ``.npz`` dict that :class:`IntFlowModel` loads. The
codec only ever runs the exported integers.

Scale layers (``FlowConfig.scale_from_level``) are trained as the codec runs them: iFlow's
modular scale transform (Zhang et al., NeurIPS 2021) with the exact rational scale ``R / S``,
simulated with uniform noise (:func:`simulated_mst`), and its ``-log2(R / S)`` bits per element.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Generic, TypeVar, overload

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from ..architecture import (
    BASE,
    BASE_MU_KEY,
    BASE_SCALE_KEY,
    CONFIG_KEY,
    FlowConfig,
    LiftKeys,
    prior_passes,
    prior_prefix,
)
from ..flows.conv1x1 import LIFT_FRAC_BITS
from ..flows.coupling import MAX_SHIFT
from ..flows.intnet import ACT_FRAC_BITS
from ..flows.reshape import Squeeze
from ..model import PIXEL_OFFSET
from ..mst import LOG2_SCALE_FRAC_BITS, MAX_LOG2_SCALE_Q, SCALE_DENOM, SCALE_NUMERATORS
from ..priors import (
    LOG2_SCALE_MAX,
    LOG2_SCALE_MIN,
    MEAN_FRAC_BITS,
    NUM_SCALES,
    SCALE_STEPS_PER_OCTAVE,
)

WEIGHT_BITS = 14
LN2 = math.log(2.0)


_NUMERATORS_F64 = torch.tensor(SCALE_NUMERATORS, dtype=torch.float64)
_LOG2_SCALES_F64 = torch.log2(_NUMERATORS_F64 / SCALE_DENOM)  # the exact log2(R / S) of each q


def round_ste(x: torch.Tensor) -> torch.Tensor:
    """Round in the forward pass, identity gradient (straight-through estimator)."""
    return x + (torch.round(x) - x).detach()


def simulated_mst(x: torch.Tensor, log2_scale: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The modular scale transform of iFlow (Zhang et al., NeurIPS 2021) as the codec runs it,
    for training: ``(y, bits of each image (N,))`` for integer-valued ``x`` (N, C, H, W) and a
    log2 scale in octaves broadcastable to it.

    ``q = clamp(round(64 * log2_scale), +-128)`` and ``R = SCALE_NUMERATORS[q + 128]`` as in
    :class:`flowzip.flows.scale.AffineCoupling`; ``y = floor(s * (x + u))`` with ``s = R / S`` and
    ``u ~ U[0, 1)``, which is the distribution of the codec's ``floor((R*x + r) / S)`` with ``r``
    uniform in ``[0, R)``; each element costs ``-log2(R / S)`` bits. The values are exact (``s = 1``
    gives ``y = x``); gradients pass straight through the floor and flow to ``log2_scale``
    through the smooth ``2**(q / 64)``.
    """
    q = torch.clamp(
        round_ste(log2_scale * 2**LOG2_SCALE_FRAC_BITS), -MAX_LOG2_SCALE_Q, MAX_LOG2_SCALE_Q
    )
    index = q.detach().long() + MAX_LOG2_SCALE_Q
    numer = _NUMERATORS_F64.to(x.device)[index]
    log2_s = q / 2**LOG2_SCALE_FRAC_BITS
    u = torch.rand_like(x)
    with torch.no_grad():
        # floor((R*x + r) / S) with r = floor(u * R): the same value as floor(s * (x + u)),
        # computed exactly (float64 integers) so that s = 1 gives back x whatever u is
        r = torch.minimum(torch.floor(u.double() * numer), numer - 1)
        y_exact = torch.floor((numer * x.double() + r) / SCALE_DENOM).float()
    s_smooth = torch.exp2(log2_s)
    s = (numer / SCALE_DENOM).float() + (
        s_smooth - s_smooth.detach()
    )  # exact R / S, smooth gradient
    smooth = s * (x + u)
    y = y_exact + (smooth - smooth.detach())  # exact value, gradient of s * (x + u)
    bits = -_LOG2_SCALES_F64.to(x.device)[index].float() + (log2_s.detach() - log2_s)
    return y, torch.broadcast_to(bits, x.shape).sum(dim=(1, 2, 3))


ModuleT = TypeVar("ModuleT", bound=nn.Module)


class ModuleList(nn.ModuleList, Generic[ModuleT]):
    """``nn.ModuleList`` whose items the type checker knows (torch types them ``Module``);
    the same module at run time, with the same state-dict keys."""

    def __iter__(self) -> Iterator[ModuleT]:
        return super().__iter__()  # type: ignore[return-value]

    @overload  # type: ignore[override]
    def __getitem__(self, idx: int) -> ModuleT: ...
    @overload
    def __getitem__(self, idx: slice) -> ModuleList[ModuleT]: ...
    def __getitem__(self, idx):
        return super().__getitem__(idx)


class ModuleDict(nn.ModuleDict, Generic[ModuleT]):
    """``nn.ModuleDict`` whose values the type checker knows, as :class:`ModuleList`."""

    def __getitem__(self, key: str) -> ModuleT:
        return super().__getitem__(key)  # type: ignore[return-value]

    def items(self) -> Iterator[tuple[str, ModuleT]]:  # type: ignore[override]
        yield from super().items()  # type: ignore[misc]


def _bias(conv: nn.Conv2d) -> torch.Tensor:
    assert conv.bias is not None  # every convolution here is made with a bias
    return conv.bias


class ConvNet(nn.Module):
    """conv3x3 -> ReLU -> conv1x1 -> ReLU -> conv3x3, last layer zero-initialised (identity start)."""

    # registered buffers, declared for the type checker (nn.Module's __getattr__ is untyped)
    out_mult: torch.Tensor
    out_bias: torch.Tensor

    def __init__(self, cin: int, hidden: int, cout: int, in_scale: float, out_mult, out_bias):
        super().__init__()
        self.convs: ModuleList[nn.Conv2d] = ModuleList(
            [
                nn.Conv2d(cin, hidden, 3, padding=1),
                nn.Conv2d(hidden, hidden, 1),
                nn.Conv2d(hidden, cout, 3, padding=1),
            ]
        )
        nn.init.zeros_(self.convs[-1].weight)
        nn.init.zeros_(_bias(self.convs[-1]))
        self.in_scale = in_scale
        self.register_buffer("out_mult", torch.as_tensor(out_mult, dtype=torch.float32))
        self.register_buffer("out_bias", torch.as_tensor(out_bias, dtype=torch.float32))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x * self.in_scale
        for conv in self.convs[:-1]:
            h = F.relu(conv(h))
        h = self.convs[-1](h)
        return h * self.out_mult.view(1, -1, 1, 1) + self.out_bias.view(1, -1, 1, 1)

    def export(self, prefix: str) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {f"{prefix}.num_layers": np.array(len(self.convs))}
        act_frac = 0  # the input is integer pixels/latents
        for i, conv in enumerate(self.convs):
            w = conv.weight.detach().double()
            b = _bias(conv).detach().double()
            if i == 0:
                w = w * self.in_scale
            last = i == len(self.convs) - 1
            if last:
                mult = self.out_mult.double()
                w = w * mult.view(-1, 1, 1, 1)
                b = b * mult + self.out_bias.double()
            peak = float(w.abs().max())
            w_bits = (
                24 if peak == 0 else int(min(24, max(0, math.floor(WEIGHT_BITS - math.log2(peak)))))
            )
            acc_frac = act_frac + w_bits
            out[f"{prefix}.{i}.weight"] = torch.round(w * 2.0**w_bits).numpy().astype(np.int64)
            out[f"{prefix}.{i}.bias"] = torch.round(b * 2.0**acc_frac).numpy().astype(np.int64)
            out[f"{prefix}.{i}.shift"] = np.array(0 if last else acc_frac - ACT_FRAC_BITS)
            if last:
                out[f"{prefix}.out_frac_bits"] = np.array(acc_frac)
            act_frac = ACT_FRAC_BITS
        return out

    @torch.no_grad()
    def import_(self, params: dict[str, np.ndarray], prefix: str) -> None:
        """Load the float weights that :meth:`export` would turn into ``params`` (exactly the
        same integers come back out: each weight is an integer times a power of two)."""
        act_frac = 0
        n = int(params[f"{prefix}.num_layers"])
        if n != len(self.convs):
            raise ValueError(f"{prefix}: {n} layers, this architecture has {len(self.convs)}")
        for i, conv in enumerate(self.convs):
            last = i == n - 1
            acc_frac = (
                int(params[f"{prefix}.out_frac_bits"])
                if last
                else int(params[f"{prefix}.{i}.shift"]) + ACT_FRAC_BITS
            )
            w = torch.from_numpy(params[f"{prefix}.{i}.weight"].astype(np.float64)) / 2.0 ** (
                acc_frac - act_frac
            )
            b = torch.from_numpy(params[f"{prefix}.{i}.bias"].astype(np.float64)) / 2.0**acc_frac
            if i == 0:
                w = w / self.in_scale
            if last:
                mult = self.out_mult.double()
                w = w / mult.view(-1, 1, 1, 1)
                b = (b - self.out_bias.double()) / mult
            conv.weight.copy_(w.view_as(conv.weight))
            _bias(conv).copy_(b)
            act_frac = ACT_FRAC_BITS


class Lifting(nn.Module):
    """Float twin of :class:`flowzip.flows.conv1x1.LiftingConv1x1`; with ``scales``, a diagonal
    ``log2_diag`` (log2 of each channel's scale, init 0: identity) between the two lifting steps,
    run as iFlow's modular scale transform (:func:`simulated_mst`)."""

    perm: torch.Tensor  # a registered buffer

    def __init__(self, channels: int, generator: torch.Generator, scales: bool = False):
        super().__init__()
        self.register_buffer("perm", torch.randperm(channels, generator=generator))
        self.lower = nn.Parameter(torch.zeros(channels, channels))
        self.upper = nn.Parameter(torch.zeros(channels, channels))
        self.log2_diag = nn.Parameter(torch.zeros(channels)) if scales else None

    def _q(self, m: torch.Tensor) -> torch.Tensor:
        # what export will store: fixed point with LIFT_FRAC_BITS
        return round_ste(m * 2**LIFT_FRAC_BITS) / 2**LIFT_FRAC_BITS

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | float]:
        """``(y, bits of each image)``: the diagonal's MST bits (N,), or 0 without a diagonal."""
        x = x[:, self.perm]
        x = x + round_ste(torch.einsum("ij,njhw->nihw", torch.tril(self._q(self.lower), -1), x))
        bits: torch.Tensor | float = 0.0
        if self.log2_diag is not None:
            x, bits = simulated_mst(x, self.log2_diag.view(1, -1, 1, 1))
        return x + round_ste(
            torch.einsum("ij,njhw->nihw", torch.triu(self._q(self.upper), 1), x)
        ), bits

    @torch.no_grad()
    def import_(self, params: dict[str, np.ndarray], keys: LiftKeys) -> None:
        self.perm.copy_(torch.from_numpy(params[keys.perm]))
        self.lower.copy_(
            torch.from_numpy(params[keys.lower].astype(np.float64)) / 2**LIFT_FRAC_BITS
        )
        self.upper.copy_(
            torch.from_numpy(params[keys.upper].astype(np.float64)) / 2**LIFT_FRAC_BITS
        )
        if self.log2_diag is not None:
            q = torch.from_numpy(params[keys.log2_diag_q].astype(np.float64))
            self.log2_diag.copy_(q / 2**LOG2_SCALE_FRAC_BITS)

    def export(self, keys: LiftKeys) -> dict[str, np.ndarray]:
        out = {
            keys.perm: self.perm.numpy().astype(np.int64),
            keys.lower: np.tril(_lift_fixed_point(self.lower), -1),
            keys.upper: np.triu(_lift_fixed_point(self.upper), 1),
        }
        if self.log2_diag is not None:
            diag_q = torch.round(self.log2_diag.detach().double() * 2**LOG2_SCALE_FRAC_BITS)
            out[keys.log2_diag_q] = (
                diag_q.clamp(-MAX_LOG2_SCALE_Q, MAX_LOG2_SCALE_Q).numpy().astype(np.int64)
            )
        return out


def _lift_fixed_point(m: torch.Tensor) -> np.ndarray:
    """A lifting matrix as the integers export stores (LIFT_FRAC_BITS fractional bits)."""
    return torch.round(m.detach().double() * 2**LIFT_FRAC_BITS).numpy().astype(np.int64)


def logistic_bits(z: torch.Tensor, mu: torch.Tensor, log2s: torch.Tensor) -> torch.Tensor:
    """-log2 P(z) of a logistic discretized to integer bins (stable form), elementwise."""
    log2s = torch.clamp(log2s, LOG2_SCALE_MIN, LOG2_SCALE_MAX)
    inv_s = torch.exp2(-log2s)
    a = (z + 0.5 - mu) * inv_s
    b = (z - 0.5 - mu) * inv_s
    logp = F.logsigmoid(a) + F.logsigmoid(-b) + torch.log(-torch.expm1(-inv_s))
    return -torch.clamp_min(logp, -24 * LN2) / LN2


class FloatFlow(nn.Module):
    """Trainable flow; ``forward`` returns the bits of each image (N,) exactly as coded."""

    MU_MULT = 16.0
    INIT_LOG2_SCALE = 2.0

    def __init__(self, config: FlowConfig, seed: int = 0):
        super().__init__()
        self.config = config
        g = torch.Generator().manual_seed(seed)
        h = config.hidden
        if config.scale_from_level is not None and not 0 <= config.scale_from_level < config.levels:
            raise ValueError(
                f"scale_from_level {config.scale_from_level}: "
                f"this flow has levels 0 to {config.levels - 1}"
            )
        self.plan = config.plan()
        self.steps = config.steps()  # self.lifts[k] and self.couplings[k] are steps[k]'s
        self.lifts: ModuleList[Lifting] = ModuleList()
        self.couplings: ModuleList[ConvNet] = ModuleList()
        for step in self.steps:
            c = step.channels
            self.lifts.append(Lifting(c, g, step.scales))
            half, cb = c // 2, c - c // 2
            # with scales, the net's second half is log2 s in octaves (zero: s = 1, identity)
            mult = [16.0] * cb + ([1.0] * cb if step.scales else [])
            self.couplings.append(ConvNet(half, h, len(mult), 1 / 64, mult, [0.0] * len(mult)))
        self.priors: ModuleDict[ConvNet] = ModuleDict(
            {
                prior.name: self._prior_net(prior.in_channels, prior.channels)
                for prior in config.prior_nets()
            }
        )
        base = config.latents()[-1].channels  # the base: the last latent, no network
        self.base_mu = nn.Parameter(torch.zeros(base))
        self.base_log2s = nn.Parameter(torch.full((base,), 4.0))

    def load_warm(self, state: dict) -> None:
        """Load weights to start from: the same architecture, or a plain (one-pass) model
        into a checkerboard one, whose second passes then start as copies of the first, and/or
        a model without scale layers into one with them, whose scales then start at exactly 1
        (the same bits as the plain model)."""
        state = self._with_unit_scales(state)
        try:
            missing, unexpected = self.load_state_dict(state, strict=False)
        except RuntimeError as e:  # shapes differ
            raise ValueError(
                f"weights of another architecture ({str(e).splitlines()[-1].strip()})"
            ) from None
        second_passes = {p.name for p in self.config.prior_nets() if p.first_pass is not None}

        def second_pass(key: str) -> bool:
            return key.startswith("priors.") and key.split(".")[1] in second_passes

        def diagonal(key: str) -> bool:  # new ones stay 0
            return key.startswith("lifts.") and key.endswith(".log2_diag")

        if unexpected or not all(second_pass(k) or diagonal(k) for k in missing):
            raise ValueError(
                f"weights of another architecture (missing {missing[:3]}, unexpected {unexpected[:3]})"
            )
        if any(second_pass(k) for k in missing):
            self.start_second_passes_from_first()

    def _with_unit_scales(self, state: dict) -> dict:
        """``state`` with each additive coupling net that this model has as an affine one
        widened: the plain last-layer rows give the shift, zero rows the log-scale (s = 1)."""
        state = dict(state)
        for k, (net, step) in enumerate(zip(self.couplings, self.steps, strict=True)):
            last, key = net.convs[-1], f"couplings.{k}.convs.{len(net.convs) - 1}"
            w = state.get(f"{key}.weight")
            cb = last.out_channels // 2
            if w is None or not step.scales or w.shape[0] != cb:
                continue
            state[f"{key}.weight"] = torch.cat([w, torch.zeros_like(w)])
            state[f"{key}.bias"] = torch.cat(
                [state[f"{key}.bias"], torch.zeros_like(state[f"{key}.bias"])]
            )
            state[f"couplings.{k}.out_mult"] = net.out_mult.clone()
            state[f"couplings.{k}.out_bias"] = net.out_bias.clone()
        return state

    @torch.no_grad()
    def start_second_passes_from_first(self) -> None:
        """Make every second-pass prior compute exactly what its first pass does (the extra
        inputs get zero weights): a checkerboard model warm-started from a plain one starts
        at the plain one's rate and can only learn to use the anchors from there."""
        for prior in self.config.prior_nets():
            if prior.first_pass is not None:
                net, first = self.priors[prior.name], self.priors[prior.first_pass]
                for dst, src in zip(net.convs, first.convs, strict=True):
                    dst.weight.zero_()
                    dst.weight[:, : src.weight.shape[1]] = src.weight
                    _bias(dst).copy_(_bias(src))

    def _prior_net(self, cin: int, cout: int) -> ConvNet:
        mult = [self.MU_MULT] * cout + [1.0] * cout
        bias = [0.0] * cout + [self.INIT_LOG2_SCALE] * cout
        return ConvNet(cin, self.config.hidden, 2 * cout, 1 / 64, mult, bias)

    def _coupling(self, i: int, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | float]:
        """Additive coupling, or with scales iFlow's affine one ``y_b = MST(x_b; s) + t``:
        ``(y, bits of each image)`` (0 without scales)."""
        half = x.shape[1] // 2
        cb = x.shape[1] - half
        out = self.couplings[i](x[:, :half])
        t = round_ste(torch.clamp(out[:, :cb], -MAX_SHIFT, MAX_SHIFT))
        xb = x[:, half:]
        bits: torch.Tensor | float = 0.0
        if out.shape[1] > cb:
            xb, bits = simulated_mst(xb, out[:, cb:])
        return torch.cat([x[:, :half], xb + t], dim=1), bits

    def _split_bits(self, name: str, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(bits of each image, what is left)`` of factoring latent ``name`` out of ``h``:
        its first half, coded pass by pass as the codec does."""
        half = h.shape[1] // 2
        z, rest = h[:, :half], h[:, half:]
        bits = torch.zeros_like(z)
        for coding_pass in prior_passes(self.config, name, rest, z):
            out = self.priors[coding_pass.prior](coding_pass.context)
            pass_bits = logistic_bits(z, out[:, :half], out[:, half:])
            positions = coding_pass.positions
            bits = pass_bits if positions is None else torch.where(positions, pass_bits, bits)
        return bits.sum(dim=(1, 2, 3)), rest

    def forward(self, x: torch.Tensor, charge_unfunded: bool = False) -> torch.Tensor:
        """Bits of each image (N,): every scale element at its ideal ``-log2(R / S)``.

        With ``charge_unfunded``, plus what the codec pays when a scale layer's net pops
        outrun the bits pushed before it in the same tile (each image is taken as one tile):
        the coder codes those elements without bits-back (seed chunks, see
        :mod:`flowzip.entropy.bitsback`), which costs about the shortfall. In encode order the
        balance is the latents pushed so far less the scale layers' net pops; the charge is
        its lowest point below zero. Training on it keeps the scales within what a tile funds.
        """
        h = x.float() - PIXEL_OFFSET
        bits = torch.zeros(x.shape[0], device=x.device)
        balance = torch.zeros_like(bits)  # pushed minus net popped, in encode order
        lowest = torch.zeros_like(bits)
        k = 0
        for level in self.plan:
            h = Squeeze().forward(h)  # pure reshaping: the same layer for floats
            for _ in level.steps:
                h, lift_bits = self.lifts[k](h)
                balance = balance + lift_bits
                lowest = torch.minimum(lowest, balance)
                h, coupling_bits = self._coupling(k, h)
                balance = balance + coupling_bits
                lowest = torch.minimum(lowest, balance)
                bits = bits + lift_bits + coupling_bits
                k += 1
            for latent in level.latents:
                if latent.name == BASE:  # a per-channel prior, no network
                    mu = self.base_mu.view(1, -1, 1, 1)
                    log2s = self.base_log2s.view(1, -1, 1, 1)
                    b = logistic_bits(h, mu, log2s).sum(dim=(1, 2, 3))
                else:
                    b, h = self._split_bits(latent.name, h)
                bits = bits + b
                balance = balance + b  # (after the last scale layer it no longer matters)
        return bits - lowest if charge_unfunded else bits

    @classmethod
    def from_integer(cls, params: dict[str, np.ndarray]) -> FloatFlow:
        """The float flow whose :meth:`export` gives ``params`` back: to fine-tune an exported
        or shipped model (one flow's keys, without the ``rgb/`` or ``gray/`` prefix)."""
        model = cls(FlowConfig.from_json(str(params[CONFIG_KEY])))
        for lift, coupling, step in zip(model.lifts, model.couplings, model.steps, strict=True):
            lift.import_(params, step.lift_keys)
            coupling.import_(params, step.coupling)
        for name, net in model.priors.items():
            net.import_(params, prior_prefix(name))
        with torch.no_grad():
            model.base_mu.copy_(
                torch.from_numpy(params[BASE_MU_KEY].astype(np.float64)) / 2**MEAN_FRAC_BITS
            )
            sidx = torch.from_numpy(params[BASE_SCALE_KEY].astype(np.float64))
            model.base_log2s.copy_(sidx / SCALE_STEPS_PER_OCTAVE + LOG2_SCALE_MIN)
        return model

    def export(self) -> dict[str, np.ndarray]:
        """Integer parameters for :class:`flowzip.model.IntFlowModel` (plus ``config``)."""
        out: dict[str, np.ndarray] = {CONFIG_KEY: np.array(self.config.to_json())}
        for lift, coupling, step in zip(self.lifts, self.couplings, self.steps, strict=True):
            out.update(lift.export(step.lift_keys))
            out.update(coupling.export(step.coupling))
        for name, net in self.priors.items():
            out.update(net.export(prior_prefix(name)))
        mu_q = torch.round(self.base_mu.detach().double() * 2**MEAN_FRAC_BITS)
        log2s = torch.clamp(self.base_log2s.detach().double(), LOG2_SCALE_MIN, LOG2_SCALE_MAX)
        sidx = torch.round((log2s - LOG2_SCALE_MIN) * SCALE_STEPS_PER_OCTAVE).clamp(
            0, NUM_SCALES - 1
        )
        out[BASE_MU_KEY] = mu_q.numpy().astype(np.int64)
        out[BASE_SCALE_KEY] = sidx.numpy().astype(np.int64)
        return out
