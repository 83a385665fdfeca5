"""Exact integer bijections: the building blocks of the discrete flow.

Every transform maps int64 tensors (N, C, H, W) to int64 tensors, exactly, both ways:
``forward`` is the encode direction (image to latents, nflows' data-to-noise convention),
``inverse`` decodes, and ``inverse(forward(x))`` equals ``x`` bit for bit (tested with
``torch.equal`` for every transform).

Example:
    >>> import torch
    >>> from flowzip.flows.reshape import Squeeze
    >>> x = torch.arange(16).view(1, 1, 4, 4)
    >>> torch.equal(Squeeze().inverse(Squeeze().forward(x)), x)
    True
"""

from __future__ import annotations

import torch


class IntTransform:
    """An exact integer bijection on (N, C, H, W) int64 tensors.

    A scale layer (:mod:`flowzip.flows.scale`) is a bijection of the pair (tensor, ANS stack):
    it takes the coder's stack as ``stack``. The others ignore it.
    """

    def forward(self, x: torch.Tensor, stack=None) -> torch.Tensor:
        raise NotImplementedError

    def inverse(self, z: torch.Tensor, stack=None) -> torch.Tensor:
        raise NotImplementedError


class Composite(IntTransform):
    """Transforms applied in order; the inverse undoes them in reverse order."""

    def __init__(self, transforms: list[IntTransform]):
        self.transforms = list(transforms)

    def forward(self, x: torch.Tensor, stack=None) -> torch.Tensor:
        for t in self.transforms:
            x = t.forward(x, stack)
        return x

    def inverse(self, z: torch.Tensor, stack=None) -> torch.Tensor:
        for t in reversed(self.transforms):
            z = t.inverse(z, stack)
        return z
