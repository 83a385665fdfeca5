"""Reference kernels: torch float64 tensors that hold exact integers.

An integer convolution is run by torch's ordinary float64 convolution and rounded to the
nearest integer right after: the true result is an integer below 2**50 (checked before each
layer), so whatever the library does inside (summation order, threads, algorithm) the error
stays far below 0.5 and rounding recovers the exact value (docs/design.md, Exactness).
Requantization is an exact floor division by a power of two; the modular scale transform is
its definition in :mod:`flowzip.mst`, in torch. Slow, simple, the ground truth that the other
backends must match integer for integer, and free of numba.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from flowzip import mst


def _shift_round(a: torch.Tensor, shift: int) -> torch.Tensor:
    """round(a / 2**shift), halves up, exact for integer-valued float64 below 2**52."""
    return torch.floor((a + float(2 ** (shift - 1))) * (1.0 / 2**shift))


class ReferenceBackend:
    name = "reference"

    @staticmethod
    def prepare_net(layers):
        return [
            (
                layer,
                torch.from_numpy(layer.weight.astype("float64")),
                torch.from_numpy(layer.bias.astype("float64")),
            )
            for layer in layers
        ]

    @staticmethod
    def run_net(prepared, x: torch.Tensor) -> torch.Tensor:
        """Exact integer network on int64 ``x`` (N, C, H, W): the last layer's accumulator."""
        a = x.double()
        for i, (layer, weight, bias) in enumerate(prepared):
            layer.accumulator_bound(int(a.abs().max()) if a.numel() else 0)
            a = torch.round(F.conv2d(a, weight, None, padding=weight.shape[-1] // 2))
            a += bias.view(1, -1, 1, 1)
            if i < len(prepared) - 1:
                a = (
                    torch.clamp_min(_shift_round(a, layer.shift), 0.0)
                    if layer.shift > 0
                    else torch.clamp_min(a * float(2**-layer.shift), 0.0)
                )
        return a.long()

    @staticmethod
    def lift_forward(x: torch.Tensor, mat: torch.Tensor, frac_bits: int) -> torch.Tensor:
        """y = x + round(M x / 2**frac_bits) per pixel, M strictly triangular (int64 in/out)."""
        mix = torch.einsum("ij,njhw->nihw", mat.double(), x.double())
        return x + _shift_round(mix, frac_bits).long()

    @staticmethod
    def lift_inverse(
        y: torch.Tensor, mat: torch.Tensor, frac_bits: int, lower: bool
    ) -> torch.Tensor:
        """Undo :meth:`lift_forward`, channel after channel in dependency order."""
        x = y.clone()
        m = mat.double()
        c = y.shape[1]
        for i in range(c) if lower else range(c - 1, -1, -1):
            deps = slice(0, i) if lower else slice(i + 1, c)
            if (i == 0 and lower) or (i == c - 1 and not lower):
                continue
            mix = torch.einsum("j,njhw->nhw", m[i, deps], x[:, deps].double())
            x[:, i] = y[:, i] - _shift_round(mix, frac_bits).long()
        return x

    mst_forward = staticmethod(mst.mst_forward)
    mst_inverse = staticmethod(mst.mst_inverse)


BACKEND = ReferenceBackend()
