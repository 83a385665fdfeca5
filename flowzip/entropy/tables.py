"""Integer CDF tables of the discretized logistic: the only probabilities in a bitstream.

A latent ``z`` is coded under a logistic with mean ``mu`` and scale ``s``. Both arrive as
integers from the integer prior networks (docs/design.md, Exactness):

* ``mu_q``: the mean in quarter units (``mu = mu_q / 4``). Its floor ``center = mu_q // 4``
  shifts the table, its remainder ``phase = mu_q % 4`` picks one of four tables;
* ``scale_idx``: an index into a log-spaced grid, ``s = 2 ** (LOG2_SCALE_MIN + i / 8)``.

Each (scale, phase) table covers the window ``center - H .. center + H`` plus one escape
symbol carrying the tails (IDF's window-plus-escape, Hoogeboom et al. 2019). Every symbol
has frequency >= 1 and the frequencies sum to ``2**24``, constriction's precision.

The tables are computed once in float64 and frozen into ``logistic_tables_v1.npz``: the
float evaluation of the logistic may differ by an ulp between machines (tfc's advice for
``pmf_to_quantized_cdf``), the frozen integers cannot. Their sha256 is part of the format;
changing them is a format-version change.

Example:
    >>> t = load_tables()
    >>> f = t.freqs(scale_idx=40, phase=0)
    >>> int(f.sum()) == 2 ** PRECISION and int(f.min()) >= 1
    True
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from importlib import resources

import numpy as np

from ..errors import FlowzipError
from ..priors import LOG2_SCALE_MIN, MEAN_FRAC_BITS, NUM_SCALES, SCALE_STEPS_PER_OCTAVE
from .stack import PRECISION

PHASES = 2**MEAN_FRAC_BITS
HALF_WIDTH_MIN = 4
HALF_WIDTH_MAX = 2048
TABLES_FILE = "logistic_tables_v1.npz"
TABLES_SHA256 = "bd241328f54c31be7a16d81ab5a4405347c63b708f1272195f9a651f74fa1648"


def scale_of(scale_idx: int) -> float:
    """The logistic scale ``s`` that table row ``scale_idx`` stands for."""
    return 2.0 ** (LOG2_SCALE_MIN + scale_idx / SCALE_STEPS_PER_OCTAVE)


def half_width(scale_idx: int) -> int:
    """Window half-width H of a scale: 16 scales either side (tail mass < 2**-21)."""
    return int(min(HALF_WIDTH_MAX, max(HALF_WIDTH_MIN, math.ceil(16 * scale_of(scale_idx)))))


def _logistic_cdf(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def _quantize(pmf: np.ndarray) -> np.ndarray:
    """freq >= 1 for every symbol, sum exactly 2**PRECISION."""
    budget = 2**PRECISION - pmf.size
    freq = 1 + np.floor(pmf / pmf.sum() * budget).astype(np.int64)
    freq[np.argmax(freq)] += 2**PRECISION - int(freq.sum())
    return freq


def build_table(scale_idx: int, phase: int) -> np.ndarray:
    """Frequencies of one table: window bins -H..H then the escape symbol."""
    s = scale_of(scale_idx)
    h = half_width(scale_idx)
    delta = phase / PHASES
    edges = (np.arange(-h, h + 2, dtype=np.float64) - 0.5 - delta) / s
    cdf = _logistic_cdf(edges)
    window = np.diff(cdf)
    tail = max(cdf[0] + (1.0 - cdf[-1]), 0.0)
    return _quantize(np.concatenate([window, [tail]]))


def build_all() -> np.ndarray:
    """All tables, concatenated in (scale_idx, phase) order, as uint32."""
    parts = [build_table(i, p) for i in range(NUM_SCALES) for p in range(PHASES)]
    return np.concatenate(parts).astype(np.uint32)


def _sha256(freqs: np.ndarray, half_widths: np.ndarray) -> str:
    h = hashlib.sha256(np.ascontiguousarray(freqs, dtype="<u4").tobytes())
    h.update(np.ascontiguousarray(half_widths, dtype="<u4").tobytes())
    return h.hexdigest()


def build_half_widths() -> np.ndarray:
    return np.array([half_width(i) for i in range(NUM_SCALES)], dtype=np.uint32)


@dataclass
class LogisticTables:
    """The frozen tables, with the table lengths and offsets to index them."""

    all_freqs: np.ndarray
    half_widths: np.ndarray  # frozen too: integers only decide the layout
    offsets: np.ndarray = field(init=False)
    _models: dict = field(init=False, default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.half_widths = np.asarray(self.half_widths, dtype=np.int64)
        sizes = np.repeat(2 * self.half_widths + 2, PHASES)
        self.offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        if self.offsets[-1] != self.all_freqs.size:
            raise ValueError("logistic tables do not match their layout")

    def freqs(self, scale_idx: int, phase: int) -> np.ndarray:
        t = scale_idx * PHASES + phase
        return self.all_freqs[self.offsets[t] : self.offsets[t + 1]]

    def model(self, table_id: int):
        """constriction model of one table (cached): exact, since w = freq - 1 are integers."""
        m = self._models.get(table_id)
        if m is None:
            import constriction

            f = self.all_freqs[self.offsets[table_id] : self.offsets[table_id + 1]]
            w = np.ascontiguousarray(f, dtype=np.float64) - 1.0
            m = constriction.stream.model.Categorical(w, perfect=False)
            self._models[table_id] = m
        return m


_CACHE: list[LogisticTables] = []


def load_tables() -> LogisticTables:
    """Load the frozen tables and check their sha256 (cached after the first call)."""
    if not _CACHE:
        with resources.files("flowzip.entropy").joinpath(TABLES_FILE).open("rb") as fh:
            z = np.load(fh)
            freqs, half_widths = z["freqs"].astype(np.uint32), z["half_widths"].astype(np.uint32)
        if _sha256(freqs, half_widths) != TABLES_SHA256:
            raise FlowzipError(f"{TABLES_FILE} is damaged (sha256 mismatch): reinstall flowzip")
        _CACHE.append(LogisticTables(freqs, half_widths))
    return _CACHE[0]


if __name__ == "__main__":  # regenerate: python -m flowzip.entropy.tables (a format change!)
    import pathlib

    out = pathlib.Path(__file__).with_name(TABLES_FILE)
    f, hw = build_all(), build_half_widths()
    np.savez_compressed(out, freqs=f, half_widths=hw)
    print(out, f.size, _sha256(f, hw))
