"""Discrete invertible 1x1 convolution: Glow's 1x1 conv (Kingma & Dhariwal 2018) factored
as W = U L P (permutation, unit lower, unit upper triangular), each triangular factor run
as exact integer lifting steps (the triangular decomposition of iVPF/iFlow, Zhang et al. 2021).

A lifting step adds to each channel a rounded fixed-point combination of the channels it
depends on; the inverse subtracts them again, channel after channel.
"""
from __future__ import annotations

import torch

from .base import IntTransform

LIFT_FRAC_BITS = 12


class LiftingConv1x1(IntTransform):
    def __init__(self, perm: torch.Tensor, lower: torch.Tensor, upper: torch.Tensor, backend):
        self.perm = perm.long()
        self.inv_perm = torch.argsort(self.perm)
        self.lower = torch.tril(lower.long(), -1)
        self.upper = torch.triu(upper.long(), 1)
        self.backend = backend

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        be = self.backend
        x = x[:, self.perm]
        x = be.lift_forward(x, self.lower, LIFT_FRAC_BITS)
        return be.lift_forward(x, self.upper, LIFT_FRAC_BITS)

    def inverse(self, z: torch.Tensor) -> torch.Tensor:
        be = self.backend
        z = be.lift_inverse(z, self.upper, LIFT_FRAC_BITS, lower=False)
        z = be.lift_inverse(z, self.lower, LIFT_FRAC_BITS, lower=True)
        return z[:, self.inv_perm]
