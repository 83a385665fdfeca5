"""Squeeze (space-to-depth 2x2), the multi-scale reshape of RealNVP (Dinh et al. 2017)."""

from __future__ import annotations

import torch

from .base import IntTransform


class Squeeze(IntTransform):
    """(N, C, H, W) -> (N, 4C, H/2, W/2); H and W must be even."""

    def forward(self, x: torch.Tensor, stack=None) -> torch.Tensor:
        n, c, h, w = x.shape
        x = x.reshape(n, c, h // 2, 2, w // 2, 2)
        return x.permute(0, 1, 3, 5, 2, 4).reshape(n, c * 4, h // 2, w // 2)

    def inverse(self, z: torch.Tensor, stack=None) -> torch.Tensor:
        n, c4, h, w = z.shape
        z = z.reshape(n, c4 // 4, 2, 2, h, w)
        return z.permute(0, 1, 4, 2, 5, 3).reshape(n, c4 // 4, h * 2, w * 2)
