"""Integer conditioner networks (Balle, Johnston, Minnen 2019, "Integer networks for data
compression"): integer weights, integer activations, exact requantization.

An activation is an integer ``A`` standing for ``A / 2**ACT_FRAC_BITS``. A layer computes
``acc = conv(A, W) + B`` exactly, then ``A' = relu(round(acc / 2**shift))``. The last layer
returns ``acc`` itself, whose scale ``2**-out_frac_bits`` the caller uses to round its
outputs (a translation, a mean, a scale index) with the same exact shift.

The arithmetic runs in a compute backend (:mod:`flowzip.kernels`); this module only holds
the integers and says what they mean.

Example:
    >>> import numpy as np, torch
    >>> from flowzip.kernels import get_backend
    >>> layer = IntConvLayer(np.ones((1, 1, 1, 1), np.int64), np.zeros(1, np.int64), 0)
    >>> net = IntConvNet([layer], out_frac_bits=1, backend=get_backend("reference"))
    >>> net.rounded(torch.tensor([[[[3, -3]]]])).tolist()
    [[[[2, -1]]]]
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np
import torch

from ..errors import FormatError

if TYPE_CHECKING:
    from ..kernels import Backend

ACT_FRAC_BITS = 8
EXACT_LIMIT = (
    2**50
)  # every partial sum of every backend stays below this (docs/design.md, Exactness)


@dataclass(frozen=True)
class IntConvLayer:
    weight: np.ndarray  # int64 (out, in, k, k), k odd; "same" padding with zeros
    bias: np.ndarray  # int64 (out,)
    shift: int  # requantization shift; unused on the last layer

    @cached_property
    def _norms(self) -> tuple[int, int]:
        """(largest L1 norm of one output channel's weights, largest |bias|), computed once."""
        return int(np.abs(self.weight).sum(axis=(1, 2, 3)).max()), int(
            np.abs(self.bias).max(initial=0)
        )

    def accumulator_bound(self, max_abs_input: int) -> int:
        """An upper bound on |acc| and on every partial sum of it, for inputs up to ``max_abs_input``.

        Every backend checks it before a layer (and may pick a narrower integer type when it
        is small): an input this bound puts at or beyond :data:`EXACT_LIMIT` is refused with
        :class:`~flowzip.errors.FormatError`, by every backend alike.
        """
        l1, bias = self._norms
        bound = max_abs_input * l1 + bias
        if bound >= EXACT_LIMIT:
            raise FormatError(
                "integer network out of its exact range (corrupt data, or an input this model cannot code)"
            )
        return bound


def shift_round(a: torch.Tensor, shift: int) -> torch.Tensor:
    """round(a / 2**shift), halves up, on int64 (an exact floor of a shifted sum)."""
    if shift <= 0:
        return a * (1 << -shift)
    return (a + (1 << (shift - 1))) >> shift


class IntConvNet:
    """A stack of integer convolutions with ReLU between them."""

    def __init__(self, layers: list[IntConvLayer], out_frac_bits: int, backend: Backend):
        self.layers = layers
        self.out_frac_bits = out_frac_bits
        self.backend = backend
        self._prepared = backend.prepare_net(layers)

    @classmethod
    def from_params(
        cls, params: dict[str, np.ndarray], prefix: str, backend: Backend
    ) -> IntConvNet:
        n = int(params[f"{prefix}.num_layers"])
        layers = [
            IntConvLayer(
                params[f"{prefix}.{i}.weight"].astype(np.int64),
                params[f"{prefix}.{i}.bias"].astype(np.int64),
                int(params[f"{prefix}.{i}.shift"]),
            )
            for i in range(n)
        ]
        return cls(layers, int(params[f"{prefix}.out_frac_bits"]), backend)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """Integer input (int64, N C H W) -> integer accumulator of the last layer (int64)."""
        return self.backend.run_net(self._prepared, x)

    def rounded(self, x: torch.Tensor, frac_bits: int = 0) -> torch.Tensor:
        """Outputs rounded to ``frac_bits`` fractional bits, as int64."""
        return shift_round(self(x), self.out_frac_bits - frac_bits)
