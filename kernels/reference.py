"""Reference kernels: torch float64 tensors that hold exact integers.

An integer convolution is run by torch's ordinary float64 convolution and rounded to the
nearest integer right after: the true result is an integer below 2**50, so whatever the
library does inside (summation order, threads, algorithm) the error stays far below 0.5
and rounding recovers the exact value (DESIGN.md section 1). Requantization is an exact
floor division by a power of two.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ..errors import FormatError

EXACT_LIMIT = float(2**50)


def _check_range(a: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> None:
    """Refuse before convolving unless every partial sum is provably below 2**50."""
    if not a.numel():
        return
    bound = float(a.abs().max()) * float(weight.abs().sum(dim=(1, 2, 3)).max()) + float(bias.abs().max())
    if bound >= EXACT_LIMIT:
        raise FormatError("integer network out of its exact range (corrupt data, or an input this model cannot code)")


class ReferenceBackend:
    name = "reference"

    @staticmethod
    def int_conv2d(a: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        """Exact integer convolution (same padding, zeros outside) of integer-valued float64."""
        _check_range(a, weight, bias)
        pad = weight.shape[-1] // 2
        out = torch.round(F.conv2d(a, weight, None, padding=pad))
        out += bias.view(1, -1, 1, 1)
        return out

    @staticmethod
    def shift_round(a: torch.Tensor, shift: int) -> torch.Tensor:
        """round(a / 2**shift), halves up, exact for integer-valued float64."""
        if shift <= 0:
            return a * float(2 ** (-shift))
        return torch.floor((a + float(2 ** (shift - 1))) * (1.0 / 2**shift))

    @classmethod
    def lift_forward(cls, x: torch.Tensor, mat: torch.Tensor, frac_bits: int) -> torch.Tensor:
        """y = x + round(M x / 2**frac_bits) per pixel, M strictly triangular (int64 in/out)."""
        mix = torch.einsum("ij,njhw->nihw", mat.double(), x.double())
        return x + cls.shift_round(mix, frac_bits).long()

    @classmethod
    def lift_inverse(cls, y: torch.Tensor, mat: torch.Tensor, frac_bits: int, lower: bool) -> torch.Tensor:
        """Undo :meth:`lift_forward`, channel after channel in dependency order."""
        x = y.clone()
        m = mat.double()
        c = y.shape[1]
        for i in range(c) if lower else range(c - 1, -1, -1):
            deps = slice(0, i) if lower else slice(i + 1, c)
            if (i == 0 and lower) or (i == c - 1 and not lower):
                continue
            mix = torch.einsum("j,njhw->nhw", m[i, deps], x[:, deps].double())
            x[:, i] = y[:, i] - cls.shift_round(mix, frac_bits).long()
        return x


BACKEND = ReferenceBackend()
