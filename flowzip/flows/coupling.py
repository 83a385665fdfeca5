"""Additive integer coupling (IDF, Hoogeboom et al. 2019; RealNVP made discrete).

``z_b = x_b + t(x_a)`` where ``t`` is an integer network rounded to whole numbers and
clamped to ``+-MAX_SHIFT``; ``x_a`` passes unchanged, so the inverse subtracts the same ``t``.
"""

from __future__ import annotations

import torch

from .base import IntTransform
from .intnet import IntConvNet

MAX_SHIFT = 4096


class AdditiveCoupling(IntTransform):
    def __init__(self, split: int, net: IntConvNet):
        self.split = split
        self.net = net

    def _shift(self, xa: torch.Tensor) -> torch.Tensor:
        return torch.clamp(self.net.rounded(xa), -MAX_SHIFT, MAX_SHIFT)

    def forward(self, x: torch.Tensor, stack=None) -> torch.Tensor:
        xa, xb = x[:, : self.split], x[:, self.split :]
        return torch.cat([xa, xb + self._shift(xa)], dim=1)

    def inverse(self, z: torch.Tensor, stack=None) -> torch.Tensor:
        za, zb = z[:, : self.split], z[:, self.split :]
        return torch.cat([za, zb - self._shift(za)], dim=1)
