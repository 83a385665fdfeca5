"""Exact integer scale layers: the modular scale transform (MST) of iFlow (Zhang, Kang, Ryder
& Li, NeurIPS 2021), paid for with bits-back coding on the ANS stack.

A scale ``s`` is approximated by the rational ``R / S`` with ``S = 2**SCALE_DENOM_BITS`` and
``R = SCALE_NUMERATORS[q + MAX_LOG2_SCALE_Q]``, where ``q`` is ``log2 s`` in units of
``2**-LOG2_SCALE_FRAC_BITS`` octaves. Then::

    encode:  r_d = pop uniform(R);  v = R*x + r_d;  y = v // S;  push uniform(S) v % S
    decode:  r_e = pop uniform(S);  v = S*y + r_e;  x = v // R;  push uniform(R) v % R

is an exact integer bijection (with the stack); it costs ``log2 S - log2 R = -log2 s`` bits
per element, the log-determinant a continuous flow would pay. The stack operations live in
the coder (:class:`flowzip.entropy.bitsback.ScaleCoder`); a layer only computes ``R`` and
hands ``x``, ``R`` and its compute backend (which runs the arithmetic, see
:class:`flowzip.kernels.Backend`) to the object it is given, whose interface is
:class:`ScaleStack`.

Layers:

* :class:`AffineCoupling`: ``y_b = MST(x_b; R(x_a)) + t(x_a)``, scale and shift from one
  integer network (RealNVP's affine coupling, made exact);
* the diagonal factor of :class:`~flowzip.flows.conv1x1.LiftingConv1x1` (a per-channel,
  ActNorm-like scale between its two triangular factors).

The arithmetic and the frozen table of numerators are :mod:`flowzip.mst`, shared with the
coder.

Example (a 1x1 convolution that is only its diagonal: scales 2, 1, 1/2 and 2**0.5):
    >>> import torch
    >>> from flowzip.kernels import get_backend
    >>> from flowzip.flows.conv1x1 import LiftingConv1x1
    >>> from flowzip.entropy.bitsback import ScaleCoder
    >>> from flowzip.entropy.stack import AnsStack
    >>> none = torch.zeros(4, 4, dtype=torch.int64)
    >>> conv = LiftingConv1x1(torch.arange(4), none, none, get_backend("reference"), torch.tensor([64, 0, -64, 32]))
    >>> x = torch.arange(-32, 32).view(1, 4, 4, 4)
    >>> stack = AnsStack()
    >>> y = conv.forward(x, ScaleCoder(stack))
    >>> y.abs().amax(dim=(2, 3)).tolist()  # |x| up to 32, 16, 15, 31: doubled, kept, halved, times 2**0.5
    [[64, 16, 7, 43]]
    >>> torch.equal(conv.inverse(y, ScaleCoder(stack)), x) and stack.is_empty()
    True
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

import torch

from ..mst import LOG2_SCALE_FRAC_BITS, scale_numerator
from .base import IntTransform
from .coupling import MAX_SHIFT
from .intnet import IntConvNet, shift_round

if TYPE_CHECKING:
    from ..kernels import Backend


class ScaleStack(Protocol):
    """What a scale layer needs from the coder: the MST of ``x`` by ``R / S``, elementwise,
    with the remainders on the stack (``numer`` has the shape of ``x``), its arithmetic run
    by the layer's ``backend``."""

    def scale_forward(
        self, x: torch.Tensor, numer: torch.Tensor, backend: Backend
    ) -> torch.Tensor: ...

    def scale_inverse(
        self, y: torch.Tensor, numer: torch.Tensor, backend: Backend
    ) -> torch.Tensor: ...


def require_stack(stack: ScaleStack | None) -> ScaleStack:
    if stack is None:
        raise ValueError("a scale layer codes with bits-back: it needs the coder's stack")
    return stack


class AffineCoupling(IntTransform):
    """``z_b = MST(x_b; R) + t`` with ``t`` and ``q = log2 s`` from one integer network of ``x_a``
    (first half of its outputs: shift, whole numbers; second half: ``q``, see module doc)."""

    def __init__(self, split: int, net: IntConvNet):
        self.split = split
        self.net = net

    def _shift_and_numer(self, xa: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        acc = self.net(xa)
        cb = acc.shape[1] // 2
        shift = torch.clamp(shift_round(acc[:, :cb], self.net.out_frac_bits), -MAX_SHIFT, MAX_SHIFT)
        q = shift_round(acc[:, cb:], self.net.out_frac_bits - LOG2_SCALE_FRAC_BITS)
        return shift, scale_numerator(q)

    def forward(self, x: torch.Tensor, stack: ScaleStack | None = None) -> torch.Tensor:
        xa, xb = x[:, : self.split], x[:, self.split :]
        shift, numer = self._shift_and_numer(xa)
        return torch.cat(
            [xa, require_stack(stack).scale_forward(xb, numer, self.net.backend) + shift], dim=1
        )

    def inverse(self, z: torch.Tensor, stack: ScaleStack | None = None) -> torch.Tensor:
        za, zb = z[:, : self.split], z[:, self.split :]
        shift, numer = self._shift_and_numer(za)
        return torch.cat(
            [za, require_stack(stack).scale_inverse(zb - shift, numer, self.net.backend)], dim=1
        )
