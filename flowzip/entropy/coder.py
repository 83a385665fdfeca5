"""rANS coding of integer latents under the frozen logistic tables (constriction's AnsCoder).

The model hands the coder integers only: the latent values and, per latent, ``mu_q`` and
``scale_idx`` (see :mod:`flowzip.entropy.tables`). Symbols that share a table are coded in one
vectorized call, in a stable order that the decoder recomputes from the same integers, so
there is no per-symbol Python loop. Values outside a table's window are coded as the escape
symbol followed by their 32-bit zigzag offset (two uniform 16-bit symbols).

AnsCoder is a stack: :class:`LatentEncoder` records its operations in *decode* order and
pushes them in reverse (:meth:`LatentEncoder.push_onto`, or :meth:`LatentEncoder.finish` for a
stream of its own), so the decoder pops them forward. A bits-back model pushes each latent as
soon as the flow factors it out, onto the stack its scale layers use (:mod:`flowzip.codec`).

Example:
    >>> import numpy as np
    >>> enc = LatentEncoder()
    >>> z = np.array([3, -1, 900, 0])
    >>> enc.encode(z, mu_q=np.zeros(4, np.int64), scale_idx=np.full(4, 30))
    >>> data = enc.finish()
    >>> dec = LatentDecoder(data)
    >>> dec.decode(mu_q=np.zeros(4, np.int64), scale_idx=np.full(4, 30)).tolist()
    [3, -1, 900, 0]
    >>> dec.finish()
"""

from __future__ import annotations

import functools

import numpy as np

from ..errors import FormatError, UnsupportedImageError
from .stack import PRECISION, AnsStack, uniform
from .tables import PHASES, LogisticTables, load_tables

_ESCAPE_RANGE = 2**31  # |value - center| must stay below this


@functools.cache
def _escape_word():
    """The model of one 16-bit half of an escaped value's offset: uniform, 256 each."""
    return uniform(1 << 16).model


class _Plan:
    """How one latent tensor maps to table symbols; both sides compute it from integers."""

    def __init__(self, tables: LogisticTables, mu_q: np.ndarray, scale_idx: np.ndarray):
        mu_q = np.ascontiguousarray(mu_q, dtype=np.int64).ravel()
        sidx = np.ascontiguousarray(scale_idx, dtype=np.int64).ravel()
        self.center = np.floor_divide(mu_q, PHASES)
        self.table = sidx * PHASES + (mu_q - self.center * PHASES)
        self.half = tables.half_widths[sidx]
        # a stable sort by table id; ids fit 16 bits, where numpy's stable sort is a radix sort
        self.order = np.argsort(self.table.astype(np.uint16), kind="stable")
        counts = np.bincount(self.table)
        ids = np.flatnonzero(counts)
        starts = np.cumsum(counts) - counts
        self.groups = list(
            zip(ids.tolist(), starts[ids].tolist(), counts[ids].tolist(), strict=True)
        )


class LatentEncoder:
    """Collects latents with their integer prior parameters; :meth:`finish` returns the stream."""

    def __init__(self, tables: LogisticTables | None = None):
        self._tables = tables or load_tables()
        self._ops: list[tuple[np.ndarray, object]] = []
        self.bits = 0.0  # exact code length under the integer tables, -log2 p
        self.escapes = 0

    def encode(self, values: np.ndarray, mu_q: np.ndarray, scale_idx: np.ndarray) -> None:
        t = self._tables
        plan = _Plan(t, mu_q, scale_idx)
        off = np.asarray(values, dtype=np.int64).ravel() - plan.center
        inside = np.abs(off) <= plan.half
        sym = np.where(inside, off + plan.half, 2 * plan.half + 1)
        freq = t.all_freqs[t.offsets[plan.table] + sym]
        self.bits += float(np.sum(PRECISION - np.log2(freq.astype(np.float64))))
        sorted_sym = sym[plan.order].astype(np.int32)
        for table_id, start, count in plan.groups:
            self._ops.append((sorted_sym[start : start + count], t.model(table_id)))
        if not inside.all():
            esc = off[~inside]
            if np.abs(esc).max() >= _ESCAPE_RANGE:
                # the flows keep latents of 8-bit planes far inside; only a broken model gets here
                raise UnsupportedImageError("latent outside the coder's 32-bit escape range")
            zig = np.where(esc >= 0, 2 * esc, -2 * esc - 1)
            words = np.stack([zig >> 16, zig & 0xFFFF], axis=1).ravel().astype(np.int32)
            self._ops.append((words, _escape_word()))
            self.bits += 32.0 * esc.size
            self.escapes += int(esc.size)

    def push_onto(self, stack: AnsStack) -> None:
        """Push what was recorded (last operation first) and forget it."""
        for symbols, model in reversed(self._ops):
            stack.push_model(model, symbols)
        self._ops.clear()

    def finish(self) -> bytes:
        stack = AnsStack()
        self.push_onto(stack)
        return stack.to_bytes()


class LatentDecoder:
    """Pops latents in the order the encoder recorded them."""

    def __init__(self, data: bytes, tables: LogisticTables | None = None):
        if len(data) % 4:
            raise FormatError("corrupt stream: length is not a whole number of words")
        words = np.frombuffer(data, dtype="<u4").astype(np.uint32)
        if words.size and words[-1] == 0:
            raise FormatError("corrupt stream: it ends in a zero word")
        self._tables = tables or load_tables()
        self.stack = AnsStack(words)

    def decode(self, mu_q: np.ndarray, scale_idx: np.ndarray) -> np.ndarray:
        t = self._tables
        shape = np.shape(mu_q)
        plan = _Plan(t, mu_q, scale_idx)
        before = self.stack.position()
        sorted_sym = np.empty(plan.table.size, dtype=np.int64)
        for table_id, start, count in plan.groups:
            sorted_sym[start : start + count] = self.stack.pop_model(t.model(table_id), count)
        sym = np.empty_like(sorted_sym)
        sym[plan.order] = sorted_sym
        escaped = sym == 2 * plan.half + 1
        off = sym - plan.half
        n_esc = int(escaped.sum())
        if n_esc:
            words = self.stack.pop_model(_escape_word(), 2 * n_esc).astype(np.int64).reshape(-1, 2)
            zig = (words[:, 0] << 16) | words[:, 1]
            off[escaped] = np.where(zig % 2 == 0, zig // 2, -(zig + 1) // 2)
        if plan.table.size and self.stack.position() == before:
            # every symbol free: each at its window's far left (cumulative frequency 0) on a
            # stack down to its last few bits, which is where a used-up stream gets stuck;
            # an encoder would need a whole latent tensor 16 scales below its means
            raise FormatError("corrupt stream: it ends before the image does")
        return (off + plan.center).reshape(shape)

    def finish(self) -> None:
        """Raise :class:`FormatError` unless the stream was used up exactly."""
        if not self.stack.is_empty():
            raise FormatError("corrupt stream: data left over after decoding")
