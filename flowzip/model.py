"""The integer discrete flow that the codec runs: IDF (Hoogeboom et al. 2019) with
multi-scale factor-out (RealNVP/Glow) and discrete invertible 1x1 convolutions, built from
the plan of its :class:`~flowzip.architecture.FlowConfig` (the diagram is there).

Every prior is a discretized logistic whose integer parameters (``mu_q``, ``scale_idx``,
see :mod:`flowzip.priors`) come from an integer network of the part decoded before it.
``forward`` returns the latents with their contexts in encode order; the decoder calls
``inverse`` with a function that pops each latent given its prior parameters, base first.

The model holds only integers: :meth:`IntFlowModel.load` reads an exported ``.npz``
(weights as integers plus a JSON config, keys as :mod:`flowzip.architecture` names them);
training lives in :mod:`flowzip.train`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np
import torch

from . import architecture
from .architecture import (
    BASE,
    BASE_MU_KEY,
    BASE_SCALE_KEY,
    CONFIG_KEY,
    FlowConfig,
    prior_prefix,
)
from .flows.base import Composite, IntTransform
from .flows.conv1x1 import LiftingConv1x1
from .flows.coupling import AdditiveCoupling
from .flows.intnet import IntConvNet, shift_round
from .flows.reshape import Squeeze
from .flows.scale import AffineCoupling
from .priors import MEAN_FRAC_BITS, SCALE_FRAC_BITS, scale_index

PIXEL_OFFSET = 128
MAX_MEAN_Q = 2**24


class Latent(NamedTuple):
    name: str
    z: torch.Tensor  # int64 (N, c, h, w)
    context: torch.Tensor | None  # what the prior of z sees; None for the base


class IntFlowModel:
    """The exported integer flow: exact ``forward`` (encode) and ``inverse`` (decode)."""

    def __init__(self, config: FlowConfig, params: dict[str, np.ndarray], backend):
        self.config = config
        self.backend = backend
        self.plan = config.plan()
        self.levels: list[Composite] = []
        for level in self.plan:
            steps: list[IntTransform] = [Squeeze()]
            for step in level.steps:
                keys = step.lift_keys
                steps.append(
                    LiftingConv1x1(
                        torch.from_numpy(params[keys.perm]),
                        torch.from_numpy(params[keys.lower]),
                        torch.from_numpy(params[keys.upper]),
                        backend,
                        torch.from_numpy(params[keys.log2_diag_q]) if step.scales else None,
                    )
                )
                net = IntConvNet.from_params(params, step.coupling, backend)
                half = step.channels // 2
                steps.append(
                    AffineCoupling(half, net) if step.scales else AdditiveCoupling(half, net)
                )
            self.levels.append(Composite(steps))
        self.priors = {
            prior.name: IntConvNet.from_params(params, prior_prefix(prior.name), backend)
            for prior in config.prior_nets()
        }
        self.base_mu_q = torch.from_numpy(params[BASE_MU_KEY]).long()
        self.base_scale_idx = torch.from_numpy(params[BASE_SCALE_KEY]).long()

    @classmethod
    def load(cls, params: dict[str, np.ndarray], backend) -> IntFlowModel:
        config = FlowConfig.from_json(str(params[CONFIG_KEY]))
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
        for level, layers in zip(self.plan, self.levels, strict=True):
            h = layers.forward(h, stack)
            for planned in level.latents:
                if planned.name == BASE:
                    latent = Latent(BASE, h, None)
                else:
                    z, h = h[:, : planned.channels], h[:, planned.channels :]
                    latent = Latent(planned.name, z, h)
                out.append(latent)
                if emit is not None:
                    emit(latent)
        return out

    def inverse(
        self,
        pop: Callable[[str, torch.Tensor | None, tuple[int, ...]], torch.Tensor],
        shape: tuple[int, ...],
        stack=None,
    ) -> torch.Tensor:
        """Rebuild pixels (int64) from latents that ``pop(name, context, shape)`` supplies
        (a bits-back model's scale layers pop and push on ``stack`` in between)."""
        n, _, height, width = shape
        base = self.plan[-1].latents[-1]  # the last latent is the base
        h = pop(BASE, None, base.shape(n, height, width))
        for level, layers in zip(reversed(self.plan), reversed(self.levels), strict=True):
            for planned in reversed(level.latents):
                if planned.name != BASE:
                    latent = pop(planned.name, h, planned.shape(n, height, width))
                    h = torch.cat([latent, h], dim=1)
            h = layers.inverse(h, stack)
        return h + PIXEL_OFFSET

    # -- priors -------------------------------------------------------------------

    def prior_passes(self, name: str, context: torch.Tensor | None, z: torch.Tensor):
        """The coding passes of latent ``name`` in decode order: ``(positions, mu_q, scale_idx)``
        with ``positions`` a bool mask of the latent (None: all of it).

        A generator, as :func:`flowzip.architecture.prior_passes`: the decoder writes the
        values it pops at ``positions`` into ``z`` before asking for the next pass.
        """
        for coding_pass in architecture.prior_passes(self.config, name, context, z):
            mu_q, scale_idx = self.prior(coding_pass.prior, coding_pass.context, tuple(z.shape))
            yield coding_pass.positions, mu_q, scale_idx

    def prior(self, name: str, context: torch.Tensor | None, shape: tuple[int, ...]):
        """Integer prior parameters (mu_q, scale_idx), each of ``shape``, of prior network
        ``name`` on ``context`` (the base's own parameters when ``context`` is None)."""
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
