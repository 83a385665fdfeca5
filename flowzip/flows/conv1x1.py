"""Discrete invertible 1x1 convolution: Glow's 1x1 conv (Kingma & Dhariwal 2018) factored
as W = U D L P (permutation, unit lower triangular, diagonal, unit upper triangular), each
triangular factor run as exact integer lifting steps and the diagonal, when the model has
one, as a per-channel modular scale transform (the triangular decomposition of iVPF/iFlow,
Zhang et al. 2021; see :mod:`flowzip.flows.scale`).

A lifting step adds to each channel a rounded fixed-point combination of the channels it
depends on; the inverse subtracts them again, channel after channel. Without a diagonal the
convolution is volume-preserving and needs no stack.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from ..errors import FormatError
from .base import IntTransform
from .intnet import EXACT_LIMIT
from .scale import ScaleStack, require_stack, scale_numerator

if TYPE_CHECKING:
    from ..kernels import Backend

LIFT_FRAC_BITS = 12


class LiftingConv1x1(IntTransform):
    def __init__(
        self,
        perm: torch.Tensor,
        lower: torch.Tensor,
        upper: torch.Tensor,
        backend: Backend,
        log2_diag_q: torch.Tensor | None = None,
    ):
        self.perm = perm.long()
        # per-channel R of the diagonal factor (None: volume-preserving, no stack needed)
        self.diag_numer = (
            None if log2_diag_q is None else scale_numerator(log2_diag_q.long()).view(1, -1, 1, 1)
        )
        self.inv_perm = torch.argsort(self.perm)
        self.lower = torch.tril(lower.long(), -1)
        self.upper = torch.triu(upper.long(), 1)
        self.backend = backend
        self._mat_l1 = (
            max(int(m.abs().sum(dim=1).max()) for m in (self.lower, self.upper)) if len(perm) else 0
        )

    def _check_range(self, x: torch.Tensor) -> None:
        # The first step's sums are below max|x| * L1; it grows |x| by at most a factor
        # 1 + L1 / 2**LIFT_FRAC_BITS (plus rounding), which bounds the second step's sums.
        # Beyond the exact range (only corrupt data gets there) every backend refuses alike.
        bound = int(x.abs().max()) if x.numel() else 0
        if bound * self._mat_l1 * (2 + (self._mat_l1 >> LIFT_FRAC_BITS)) >= EXACT_LIMIT:
            raise FormatError("1x1 convolution out of its exact range (corrupt data)")

    def forward(self, x: torch.Tensor, stack: ScaleStack | None = None) -> torch.Tensor:
        be = self.backend
        self._check_range(x)
        x = x[:, self.perm]
        x = be.lift_forward(x, self.lower, LIFT_FRAC_BITS)
        if self.diag_numer is not None:
            x = require_stack(stack).scale_forward(x, self.diag_numer.expand(x.shape), be)
            self._check_range(x)
        return be.lift_forward(x, self.upper, LIFT_FRAC_BITS)

    def inverse(self, z: torch.Tensor, stack: ScaleStack | None = None) -> torch.Tensor:
        be = self.backend
        self._check_range(z)
        z = be.lift_inverse(z, self.upper, LIFT_FRAC_BITS, lower=False)
        if self.diag_numer is not None:
            z = require_stack(stack).scale_inverse(z, self.diag_numer.expand(z.shape), be)
            self._check_range(z)
        z = be.lift_inverse(z, self.lower, LIFT_FRAC_BITS, lower=True)
        return z[:, self.inv_perm]
