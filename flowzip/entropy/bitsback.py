"""The coder side of the scale layers: the modular scale transform (MST, iFlow, Zhang et al.
NeurIPS 2021) on one ANS stack, with its seed taken from the image itself.

Encoding ``x`` by the scale ``R / S`` pops ``r_d ~ uniform(R)`` from the stack (bits-back) and
pushes the remainder ``r_e ~ uniform(S)``; decoding pops ``r_e`` and pushes ``r_d`` back, so
the receiver's stack ends exactly as the sender's began (the arithmetic is in
:mod:`flowzip.mst`). Net cost: ``log2 S - log2 R`` bits per element.

The sender can only pop bits that are on the stack. Elements go in chunks whose sizes are
powers of two: before each chunk the encoder takes the largest one whose pops the stack can
surely pay for (the most bits they could take, plus a margin). When the stack cannot pay for
2**6 elements (a flat image whose level-0 latent costs little), the chunk, up to 2**14
elements, is coded without bits-back: ``y = floor(R x / S)`` and ``x``'s place among the
integers with that ``y``, uniformly (:func:`~flowzip.mst.quantized_scale_forward`):
about the bits-back cost where ``R < S``, ``log2(R / S)`` bits more per element where ``R > S``.
What such chunks push seeds the chunks after them. No random bits are ever charged to the
file, and a pop from a stack that does not hold the bits cannot happen.

The decoder must know the chunks before it meets them (last to first), so after a layer the
encoder pushes them: one symbol saying "the standard chunks" (bits-back throughout, the
binary decomposition of the element count ``n`` into powers of two up to ``2**20``: what a
full stack gives; 0.0014 bits), or else the chunk count (uniform over ``0 .. n``) and a flag
per chunk (``k`` of its ``2**k`` elements, plus ``K + 1`` for a seed chunk, uniform over
``2 (K + 1)`` with ``K = min(20, floor(log2 n))``).

Example:
    >>> import torch
    >>> stack = AnsStack()
    >>> coder = ScaleCoder(stack)
    >>> x = torch.arange(-500, 500).view(1, 4, 10, 25)
    >>> numer = torch.full(x.shape, 300)                  # s = 300/256
    >>> y = coder.scale_forward(x, numer)
    >>> ScaleCoder(stack).scale_inverse(y, numer).equal(x) and stack.bits == 0
    True
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch

from ..errors import FormatError, UnsupportedImageError
from ..mst import (
    SCALE_DENOM,
    SCALE_DENOM_BITS,
    SCALE_NUMERATORS,
    mst_forward,
    mst_inverse,
    preimage_count,
    quantized_scale_forward,
    quantized_scale_inverse,
)
from .stack import PRECISION, AnsStack, Codec, uniform_max_bits

if TYPE_CHECKING:
    from ..kernels import Backend

MAX_CHUNK_LOG2 = 20
SEED_CHUNK_LOG2 = 14
BORROW_MARGIN_BITS = 64  # kept on the stack beyond the worst case of a chunk's pops
# A chunk is borrowed only if it can take 2**6 elements (or all that are left): on a nearly
# dry stack, chunks of a few elements each cost a listed flag (about 5 bits) for little
# bits-back (wiki_045 through idf-bb-v2: 21,427 chunks, 14 KB of lists; with this floor
# the file is 2 KB smaller, Set14 ppt3's 9 KB). The encoder's choice: decoders read any layout.
MIN_BORROW_LOG2 = 6


LAYOUT = Codec(np.array([(1 << PRECISION) - (1 << 10), 1 << 10], dtype=np.int64))
STANDARD, LISTED = 0, 1
MAX_ELEMENTS = (1 << PRECISION) - 2  # of one scale layer in one tile (a 512x512 tile has < 2**20)


def _largest_pow2_log2(n: int) -> int:
    return n.bit_length() - 1


def max_chunk_log2(n: int) -> int:
    """K: the largest chunk of an ``n``-element layer is ``2**K`` elements."""
    return min(_largest_pow2_log2(n), MAX_CHUNK_LOG2)


def standard_chunk_flags(n: int) -> list[int]:
    """The flags of ``n`` elements in bits-back chunks of the largest possible sizes."""
    flags, left = [], n
    while left:
        k = min(_largest_pow2_log2(left), MAX_CHUNK_LOG2)
        flags.append(k)
        left -= 1 << k
    return flags


# log2 R per numerator R (R <= SCALE_NUMERATORS[-1])
_LOG2 = np.log2(np.maximum(np.arange(max(SCALE_NUMERATORS) + 1), 1).astype(np.float64))


class ScaleCoder:
    """:class:`flowzip.flows.scale.ScaleStack` on an :class:`AnsStack`: what a scale layer calls.

    ``model_bits`` sums the ideal cost ``log2 S - log2 R`` of every element; ``seed_bits``
    what chunks coded without bits-back cost beyond it; ``seed_elements`` counts their elements.
    """

    def __init__(self, stack: AnsStack):
        self.stack = stack
        self.model_bits = 0.0
        self.seed_bits = 0.0
        self.seed_elements = 0

    def scale_forward(
        self, x: torch.Tensor, numer: torch.Tensor, backend: Backend | None = None
    ) -> torch.Tensor:
        """Encode direction: ``y`` for ``x`` by ``R / S`` (``numer`` = R, the shape of ``x``),
        the MST run by ``backend`` (a scale layer's; else :func:`flowzip.mst.mst_forward`
        itself: every backend gives the same integers)."""
        if x.numel() > MAX_ELEMENTS:  # the layout symbols count elements below 2**PRECISION
            raise UnsupportedImageError(
                f"a scale layer of {x.numel():,} elements does not fit one tile of the format"
            )
        forward = mst_forward if backend is None else backend.mst_forward
        xs = x.reshape(-1)
        rs = numer.reshape(-1)
        sizes = rs.numpy().astype(np.int32)
        worst = uniform_max_bits(sizes)
        log2_r = _LOG2[sizes]
        self.model_bits += float(np.sum(SCALE_DENOM_BITS - log2_r))
        need = np.cumsum(worst) + BORROW_MARGIN_BITS  # bits to borrow elements 0 .. i
        y = torch.empty_like(xs)
        start, n = 0, xs.numel()
        seed_flag = max_chunk_log2(n) + 1 if n else 0
        flags: list[int] = []
        while start < n:
            have = self.stack.bits + (float(need[start - 1]) - BORROW_MARGIN_BITS if start else 0.0)
            affordable = int(np.searchsorted(need, have, side="right")) - start
            room = _largest_pow2_log2(n - start)
            if affordable >= 1 << min(MIN_BORROW_LOG2, room):
                k = min(_largest_pow2_log2(affordable), room, MAX_CHUNK_LOG2)
                stop = start + (1 << k)
                r_d = torch.from_numpy(self.stack.borrow_uniform(sizes[start:stop]))
                flag = k
            else:
                k = min(room, SEED_CHUNK_LOG2)
                stop = start + (1 << k)
                y[start:stop], j, count = quantized_scale_forward(xs[start:stop], rs[start:stop])
                coded = count > 1
                self.stack.push_uniform(j[coded].numpy(), count[coded].numpy())
                flags.append(seed_flag + k)
                self.seed_bits += float(
                    np.log2(count.numpy()).sum() - (SCALE_DENOM_BITS - log2_r[start:stop]).sum()
                )
                self.seed_elements += stop - start
                start = stop
                continue
            y[start:stop], r_e = forward(xs[start:stop], r_d, rs[start:stop])
            self.stack.push_uniform(r_e.numpy(), SCALE_DENOM)
            flags.append(flag)
            start = stop
        self._push_layout(flags, n)
        return y.view(x.shape)

    def _push_layout(self, flags: list[int], n: int) -> None:
        if n == 0:
            return
        if flags == standard_chunk_flags(n):
            self.stack.push(LAYOUT, np.array([STANDARD]))
            return
        self.stack.push_uniform(np.array(flags), 2 * (max_chunk_log2(n) + 1))
        self.stack.push_uniform(np.array([len(flags)]), n + 1)
        self.stack.push(LAYOUT, np.array([LISTED]))

    def _pop_layout(self, n: int) -> list[int]:
        if int(self.stack.pop(LAYOUT, 1)[0]) == STANDARD:
            return standard_chunk_flags(n)
        count = int(self.stack.pop_uniform(np.array([n + 1]))[0])
        return self.stack.pop_uniform(np.full(count, 2 * (max_chunk_log2(n) + 1))).tolist()

    def scale_inverse(
        self, y: torch.Tensor, numer: torch.Tensor, backend: Backend | None = None
    ) -> torch.Tensor:
        """Decode direction: undoes :meth:`scale_forward`, chunk by chunk from the last."""
        inverse = mst_inverse if backend is None else backend.mst_inverse
        ys = y.reshape(-1)
        rs = numer.reshape(-1)
        sizes = rs.numpy().astype(np.int32)
        x = torch.empty_like(ys)
        stop = ys.numel()
        if stop == 0:
            return x.view(y.shape)
        seed_flag = max_chunk_log2(stop) + 1
        for flag in reversed(self._pop_layout(stop)):
            seed, k = divmod(flag, seed_flag)
            start = stop - (1 << k)
            if start < 0:
                raise FormatError("corrupt stream: a scale layer's chunk runs past its start")
            if seed:
                count = preimage_count(ys[start:stop], rs[start:stop])
                coded = count > 1
                j = torch.zeros(stop - start, dtype=torch.int64)
                j[coded] = torch.from_numpy(self.stack.pop_uniform(count[coded].numpy()))
                x[start:stop] = quantized_scale_inverse(ys[start:stop], j, rs[start:stop])
            else:
                r_e = torch.from_numpy(
                    self.stack.pop_uniform(np.full(stop - start, SCALE_DENOM, np.int32))
                )
                x[start:stop], r_d = inverse(ys[start:stop], r_e, rs[start:stop])
                self.stack.push_uniform(r_d.numpy(), sizes[start:stop])
            stop = start
        if stop != 0:
            raise FormatError("corrupt stream: a scale layer's chunks do not cover it")
        return x.view(y.shape)
