"""Integer conditioner networks (Balle, Johnston, Minnen 2019, "Integer networks for data
compression"): integer weights, integer activations, exact requantization.

An activation is an integer ``A`` standing for ``A / 2**ACT_FRAC_BITS``. A layer computes
``acc = conv(A, W) + B`` exactly, then ``A' = relu(round(acc / 2**shift))``. The last layer
returns ``acc`` itself, whose scale ``2**-out_frac_bits`` the caller uses to round its
outputs (a translation, a mean, a scale index) with the same exact shift.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

ACT_FRAC_BITS = 8


@dataclass
class IntConvLayer:
    weight: torch.Tensor  # float64 holding integers, (out, in, k, k)
    bias: torch.Tensor  # float64 holding integers, (out,)
    shift: int  # requantization shift; unused on the last layer


class IntConvNet:
    """A stack of integer convolutions with ReLU between them."""

    def __init__(self, layers: list[IntConvLayer], out_frac_bits: int, backend):
        self.layers = layers
        self.out_frac_bits = out_frac_bits
        self.backend = backend

    @classmethod
    def from_params(cls, params: dict[str, np.ndarray], prefix: str, backend) -> IntConvNet:
        n = int(params[f"{prefix}.num_layers"])
        layers = [
            IntConvLayer(
                torch.from_numpy(params[f"{prefix}.{i}.weight"].astype(np.float64)),
                torch.from_numpy(params[f"{prefix}.{i}.bias"].astype(np.float64)),
                int(params[f"{prefix}.{i}.shift"]),
            )
            for i in range(n)
        ]
        return cls(layers, int(params[f"{prefix}.out_frac_bits"]), backend)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """Integer input (int64) -> integer accumulator of the last layer (float64)."""
        be = self.backend
        a = x.double()
        for layer in self.layers[:-1]:
            a = be.int_conv2d(a, layer.weight, layer.bias)
            a = torch.clamp_min(be.shift_round(a, layer.shift), 0.0)
        last = self.layers[-1]
        return be.int_conv2d(a, last.weight, last.bias)

    def rounded(self, x: torch.Tensor, frac_bits: int = 0) -> torch.Tensor:
        """Outputs rounded to ``frac_bits`` fractional bits, as int64."""
        return self.backend.shift_round(self(x), self.out_frac_bits - frac_bits).long()
