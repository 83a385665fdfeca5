"""The integer contract of the scale layers between model and coder: iFlow's modular scale
transform (Zhang, Kang, Ryder & Li, NeurIPS 2021), as :mod:`flowzip.priors` is the contract
of the priors.

A scale ``s`` is the rational ``R / S``, ``S = 2**SCALE_DENOM_BITS``, ``R`` from a frozen
table indexed by ``q = log2(s)`` in 1/64 octave. With ``r_d`` in ``[0, R)`` borrowed from the
ANS stack, ``y = floor((R x + r_d) / S)`` and the remainder ``r_e = (R x + r_d) mod S`` is an
exact bijection ``(x, r_d) <-> (y, r_e)``; :mod:`flowzip.flows.scale` holds the layers that
use it and :mod:`flowzip.entropy.bitsback` the stack operations. :func:`mst_forward` and
:func:`mst_inverse` define the transform; every compute backend runs it as its own
``mst_forward`` and ``mst_inverse`` (:class:`flowzip.kernels.Backend`), the reference backend
these very functions.

Example:
    >>> import torch
    >>> x = torch.tensor([5, -3, 0])
    >>> R = torch.full((3,), 512)            # s = 2: y = 2x + (0 or 1)
    >>> y, r_e = mst_forward(x, torch.tensor([1, 0, 511]), R)
    >>> y.tolist(), r_e.tolist()
    ([10, -6, 1], [1, 0, 255])
    >>> x2, r_d = mst_inverse(y, r_e, R)
    >>> x2.tolist(), r_d.tolist()
    ([5, -3, 0], [1, 0, 511])
"""

from __future__ import annotations

from decimal import Decimal, localcontext

import torch

from .errors import FormatError

SCALE_DENOM_BITS = 8
SCALE_DENOM = 1 << SCALE_DENOM_BITS  # S
LOG2_SCALE_FRAC_BITS = 6  # q is log2(s) in 1/64 octave
MAX_LOG2_SCALE_Q = 2 << LOG2_SCALE_FRAC_BITS  # |log2 s| <= 2: s in [1/4, 4]
MST_VALUE_LIMIT = 2**40  # |x| and |y| of a scale layer; beyond it only corrupt data goes


def _numerators() -> tuple[int, ...]:
    # R = round(S * 2**(q / 64)) in 50-digit decimal arithmetic: software arithmetic, so the
    # same integers on every machine (a float pow could differ by an ulp); frozen by a test.
    with localcontext() as ctx:
        ctx.prec = 50
        return tuple(
            int(
                (
                    Decimal(SCALE_DENOM) * Decimal(2) ** (Decimal(q) / (1 << LOG2_SCALE_FRAC_BITS))
                ).to_integral_value()
            )
            for q in range(-MAX_LOG2_SCALE_Q, MAX_LOG2_SCALE_Q + 1)
        )


SCALE_NUMERATORS: tuple[int, ...] = _numerators()
_NUMERATORS = torch.tensor(SCALE_NUMERATORS, dtype=torch.int64)


def scale_numerator(log2_scale_q: torch.Tensor) -> torch.Tensor:
    """``R`` for ``q = log2(s) * 2**LOG2_SCALE_FRAC_BITS`` (int64 in and out; q is clamped)."""
    q = torch.clamp(log2_scale_q, -MAX_LOG2_SCALE_Q, MAX_LOG2_SCALE_Q)
    return _NUMERATORS[q + MAX_LOG2_SCALE_Q]


MST_RANGE_ERROR = "scale layer out of its exact range (corrupt data)"  # every backend's words


def _check_range(v: torch.Tensor) -> None:
    if v.numel() and int(v.abs().max()) >= MST_VALUE_LIMIT:
        raise FormatError(MST_RANGE_ERROR)


# The definition of the transform, run as it stands by the reference backend; the numba
# backend fuses it into one pass (flowzip.kernels.numba_cpu). torch's >>, & and floor
# division floor on negative integers, as the formulas do.
def mst_forward(
    x: torch.Tensor, r_d: torch.Tensor, numer: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(y, r_e)`` from ``x`` and the borrowed ``r_d`` in ``[0, R)`` (all int64, same shape):
    ``v = R x + r_d``, ``y = floor(v / S)``, ``r_e = v mod S``."""
    _check_range(x)
    v = numer.long() * x.long() + r_d.long()
    return v >> SCALE_DENOM_BITS, v & (SCALE_DENOM - 1)


def mst_inverse(
    y: torch.Tensor, r_e: torch.Tensor, numer: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(x, r_d)`` from ``y`` and the popped ``r_e`` in ``[0, S)``: undoes :func:`mst_forward`
    (``v = S y + r_e``, ``x = floor(v / R)``, ``r_d = v mod R``)."""
    _check_range(y)
    v = (y.long() << SCALE_DENOM_BITS) + r_e.long()
    numer = numer.long()
    return torch.div(v, numer, rounding_mode="floor"), torch.remainder(v, numer)


def quantized_scale_forward(
    x: torch.Tensor, numer: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The scale without bits-back (``r_d = 0``): ``y = floor(R x / S)``, and ``x``'s place
    ``j`` among the ``count`` integers that map to ``y`` (``count`` is 1 when ``R >= S``: then
    ``y`` alone gives ``x``). Coding ``j`` uniformly costs about ``log2(S / R)`` when ``R < S``
    (the bits-back cost) and nothing when ``R >= S`` (``log2(R / S)`` more than bits-back)."""
    _check_range(x)
    y = (numer * x) >> SCALE_DENOM_BITS
    first, count = _preimage(y, numer)
    return y, x - first, count


def quantized_scale_inverse(y: torch.Tensor, j: torch.Tensor, numer: torch.Tensor) -> torch.Tensor:
    """``x`` from ``y`` and its place ``j`` (undoes :func:`quantized_scale_forward`)."""
    _check_range(y)
    return _preimage(y, numer)[0] + j


def preimage_count(y: torch.Tensor, numer: torch.Tensor) -> torch.Tensor:
    """How many integers ``x`` have ``floor(R x / S) == y``."""
    _check_range(y)
    return _preimage(y, numer)[1]


def _preimage(y: torch.Tensor, numer: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    # x with y <= R x / S < y + 1: from ceil(S y / R) up to ceil(S (y + 1) / R) - 1
    first = -torch.div(-(y << SCALE_DENOM_BITS), numer, rounding_mode="floor")
    end = -torch.div(-((y + 1) << SCALE_DENOM_BITS), numer, rounding_mode="floor")
    return first, end - first
