"""A thin codec layer over constriction's AnsCoder for bits-back coding (BB-ANS, Townsend,
Bird & Barber 2019; the push/pop idea of craystack, written here): a codec is a (push, pop)
pair on one ANS stack, and bits-back codes ``x`` with a latent ``y`` as pop ``y ~ q(y|x)``,
push ``x ~ p(x|y)``, push ``y ~ p(y)``, for a net cost of ``-log p(x|y) - log p(y) + log q(y|x)``.

The danger is the sender popping bits the stack does not hold: constriction's decoder never
fails, it makes symbols up, and the receiver cannot make up the same ones. So the sender's
pop, :meth:`AnsStack.borrow`, counts: the stack must hold at least the most bits the pop
could take, else :class:`~flowzip.errors.StackUnderflowError`. An encoder must first seed
the stack from the data itself (code a first part without bits-back), never with random
bits charged to the file. The receiver's pops (:meth:`AnsStack.pop`) take back what was
pushed, so they need no such count; damage shows in the file's checksum. They refuse only
an empty stack: past its end a stream would decode made-up symbols for as long as asked
(a forged header could ask for a gigapixel), and a sender never pops an empty stack.

Every codec is an integer frequency table (freq >= 1, sum 2**24), as everything that decides
the bitstream must be (docs/design.md, Exactness).

Example:
    >>> import numpy as np
    >>> stack = AnsStack()
    >>> byte = uniform(256)
    >>> stack.push(byte, np.array([7, 200, 33]))
    >>> stack.pop(byte, 3).tolist()
    [7, 200, 33]
    >>> AnsStack().borrow(byte, 1)
    Traceback (most recent call last):
    ...
    flowzip.errors.StackUnderflowError: borrowing 1 symbol(s) of up to 8.0 bits each needs 8.0 bits on the stack; it holds 0
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field

import numpy as np

from ..errors import StackUnderflowError

# constriction's probability precision: every frequency table of a bitstream sums to
# 2**PRECISION (the logistic tables, the codecs here); the one home of that number
PRECISION = 24


@dataclass(frozen=True, eq=False)
class Codec:
    """Symbols ``0 .. K-1`` under one integer frequency table (each >= 1, sum ``2**24``)."""

    freqs: np.ndarray
    model: object = field(init=False, repr=False)

    def __post_init__(self) -> None:
        f = np.asarray(self.freqs, dtype=np.int64)
        if f.ndim != 1 or f.size < 1 or f.min() < 1 or int(f.sum()) != 1 << PRECISION:
            raise ValueError("a codec's frequencies must be >= 1 and sum to 2**24")
        import constriction

        # constriction builds cdf_k = sum(w_j, j < k) + k from w = freq - 1: exactly our table
        object.__setattr__(
            self,
            "model",
            constriction.stream.model.Categorical((f - 1).astype(np.float64), perfect=False),
        )

    @property
    def max_bits(self) -> float:
        """The most bits one symbol can take: -log2 of the smallest probability."""
        return PRECISION - math.log2(int(np.asarray(self.freqs).min()))


def uniform(n: int) -> Codec:
    """Symbols ``0 .. n-1``, as near uniform as integer frequencies summing to 2**24 allow."""
    if not 2 <= n <= 1 << PRECISION:
        raise ValueError(f"uniform over {n} values: n must be in 2 .. 2**24")
    freqs = np.full(n, (1 << PRECISION) // n, dtype=np.int64)
    freqs[: (1 << PRECISION) - int(freqs.sum())] += 1
    return Codec(freqs)


def _uniform_max_bits(sizes: np.ndarray) -> np.ndarray:
    # the smallest probability of constriction's Uniform(size) is floor(2**24 / size) / 2**24
    return PRECISION - np.log2(np.floor_divide(1 << PRECISION, sizes))


_SMALL_SIZES = 1 << 12
_SMALL_MAX_BITS = np.concatenate([[np.inf, np.inf], _uniform_max_bits(np.arange(2, _SMALL_SIZES))])


def uniform_max_bits(sizes: np.ndarray) -> np.ndarray:
    """Most bits a symbol of constriction's ``Uniform(size)`` can take, per size (a table
    lookup for the sizes below 4096 that scale layers use)."""
    sizes = np.asarray(sizes, dtype=np.int64)
    if sizes.size and int(sizes.max()) < _SMALL_SIZES:
        return _SMALL_MAX_BITS[sizes]
    return _uniform_max_bits(sizes)


@functools.cache
def _uniform_family():
    import constriction

    return constriction.stream.model.Uniform()


@functools.cache
def _uniform_model(size: int):
    import constriction

    return constriction.stream.model.Uniform(size)


class AnsStack:
    """One ANS stack: :meth:`push` encodes, :meth:`pop` decodes, and pops are checked."""

    def __init__(self, words: np.ndarray | None = None):
        import constriction

        self._coder = (
            constriction.stream.stack.AnsCoder()
            if words is None
            else constriction.stream.stack.AnsCoder(np.asarray(words, dtype=np.uint32))
        )

    @property
    def bits(self) -> int:
        """The bits of data the stack holds."""
        return int(self._coder.num_valid_bits())

    def clone(self):
        """A copy of the stack's state, for :meth:`restore`."""
        return self._coder.clone()

    def restore(self, state) -> None:
        """Go back to a state :meth:`clone` returned (the encoder undoing a tile)."""
        self._coder = state.clone()

    def words(self) -> np.ndarray:
        """The stack as 32-bit words (little-endian when written to a file)."""
        return self._coder.get_compressed()

    def to_bytes(self) -> bytes:
        return self.words().astype("<u4").tobytes()

    def is_empty(self) -> bool:
        return bool(self._coder.is_empty())

    def position(self) -> tuple[int, int]:
        """(words left, coder state): unchanged by a pop only if it decoded nothing, or only
        symbols that cost nothing (a stack down to its last state, one that is used up)."""
        return self._coder.pos()

    def _check_not_empty(self, count: int) -> None:
        if count and self._coder.is_empty():
            raise StackUnderflowError("corrupt stream: it ends before the image does")

    def push(self, codec: Codec, symbols: np.ndarray) -> None:
        symbols = np.ascontiguousarray(symbols, dtype=np.int32).ravel()
        if symbols.size and (symbols.min() < 0 or symbols.max() >= len(codec.freqs)):
            raise ValueError("symbol outside the codec's alphabet")
        self._coder.encode_reverse(symbols, codec.model)

    def pop(self, codec: Codec, count: int) -> np.ndarray:
        """Decode ``count`` symbols that were pushed (the receiver's side)."""
        self._check_not_empty(count)
        return np.asarray(self._coder.decode(codec.model, count), dtype=np.int64)

    def push_model(self, model, symbols: np.ndarray) -> None:
        """Push under a constriction model built from an integer table (the latent coder's)."""
        self._coder.encode_reverse(symbols, model)

    def pop_model(self, model, count: int) -> np.ndarray:
        self._check_not_empty(count)
        return self._coder.decode(model, count)

    def push_uniform(self, symbols: np.ndarray, sizes: np.ndarray | int) -> None:
        """Push ``symbols[i]`` uniform over ``0 .. sizes[i]-1`` (constriction's integer
        ``Uniform``; sizes 2 .. 2**24-1, per symbol or one for all)."""
        symbols = np.ascontiguousarray(symbols, dtype=np.int32).ravel()
        if isinstance(sizes, (int, np.integer)):
            self._coder.encode_reverse(symbols, _uniform_model(int(sizes)))
        else:
            self._coder.encode_reverse(
                symbols, _uniform_family(), np.ascontiguousarray(sizes, dtype=np.int32)
            )

    def pop_uniform(self, sizes: np.ndarray) -> np.ndarray:
        """Pop symbols pushed by :meth:`push_uniform` (one per entry of ``sizes``; the
        receiver's side)."""
        sizes = np.ascontiguousarray(sizes, dtype=np.int32)
        self._check_not_empty(sizes.size)
        return np.asarray(self._coder.decode(_uniform_family(), sizes), dtype=np.int64)

    def _check_borrow(self, count: int, need: float) -> None:
        if count and self.bits < need:
            raise StackUnderflowError(
                f"borrowing {count} symbol(s) of up to {need / count:.1f} bits each needs {need:.1f} bits on the "
                f"stack; it holds {self.bits}"
            )

    def borrow(self, codec: Codec, count: int) -> np.ndarray:
        """Pop ``count`` symbols to use the stack's bits (the sender's pop in bits-back);
        refused unless the stack holds the most bits they could take."""
        self._check_borrow(count, count * codec.max_bits)
        return self.pop(codec, count)

    def borrow_uniform(self, sizes: np.ndarray) -> np.ndarray:
        """:meth:`borrow` for uniform symbols, one per entry of ``sizes``."""
        self._check_borrow(len(sizes), float(uniform_max_bits(sizes).sum()))
        return self.pop_uniform(sizes)
