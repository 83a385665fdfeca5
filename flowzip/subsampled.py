"""Tiles made by upsampling: the subsampled path codes what such a tile really holds, its
planes at half resolution (format 7).

Most photos users hold went through a 4:2:0 or 4:2:2 stage on the way (a camera, a video
codec, a JPEG, a resize of the chroma planes): their full-resolution chroma carries no detail
of its own, only the interpolation of half or a quarter as many samples; an upscaled image
holds only the image before it. A context coder or a flow over RGB pays for those samples
again at every pixel. Where an image's pixels are exactly what a known decoder or resizer
makes of such planes, this path finds the planes (the encoder inverts the upsampling: a
least-squares estimate, a Viterbi pass over each line's integer inputs for two-tap filters,
greedy repairs) and codes, per tile, the luma (for chroma methods), the half-resolution
samples the tile's pixels read, and the difference between the tile and what those planes
give (zero where the method matches), each with the classic coders (:mod:`flowzip.classic`).
The encoder keeps the path only where it is smaller than every other.

Methods (the first byte of a tile's payload; docs/format.md has them exactly):

1. Pillow's 4:2:0: chroma of ceil(h/2) x ceil(w/2) samples resized bilinear to the image's
   size (:func:`pillow_taps`: Pillow's 22-bit fixed-point weights, derived here in exact
   rationals, the horizontal pass rounded to 8 bits before the vertical) and Pillow's
   YCbCr -> RGB (its integer tables, measured from Pillow and frozen in
   ``ycbcr_pillow_v1.npz``).
2. A 4:2:0 JPEG as libjpeg decodes it: h2v2 "fancy" upsampling (:func:`fancy_taps`) and
   libjpeg's YCbCr -> RGB (:func:`libjpeg_tables`).
3. A 2x upscale by Pillow's bicubic resize, the three planes at half resolution.
4. A 4:2:2 JPEG as libjpeg decodes it: h2v1 fancy upsampling along the rows.

Everything the decoder does is integer arithmetic.

Example:
    >>> import numpy as np
    >>> from PIL import Image
    >>> rng = np.random.default_rng(0)
    >>> luma = rng.integers(60, 200, (40, 48)).astype(np.uint8)
    >>> cb, cr = (rng.integers(100, 160, (20, 24)).astype(np.uint8) for _ in range(2))
    >>> up = [Image.fromarray(c).resize((48, 40), Image.Resampling.BILINEAR) for c in (cb, cr)]
    >>> ycc = Image.merge("YCbCr", [Image.fromarray(luma), *up])
    >>> rgb = np.asarray(ycc.convert("RGB"))
    >>> found = recover(rgb)
    >>> found is not None and found.residual_share < 0.01
    True
    >>> kind, payload, bits = encode_tile(found, (0, 0, 40, 48))
    >>> np.array_equal(decode_tile(payload, (0, 0, 40, 48), (40, 48)), rgb)
    True
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from importlib import resources

import numba as nb
import numpy as np

from .directory import SUBSAMPLED
from .errors import FlowzipError, FormatError

# the method byte of a subsampled tile (format 7): 4:2:0 chroma as Pillow's bilinear resize
# and YCbCr make it, as libjpeg decodes a 4:2:0 JPEG; an image upscaled 2x by Pillow's bicubic
PILLOW, LIBJPEG, PILLOW_BICUBIC, LIBJPEG_422 = 1, 2, 3, 4
TABLES_FILE = "ycbcr_pillow_v1.npz"
TABLES_SHA256 = "abe18ca4bac0c0aee2be23a3c09575514b69ac31c06baff742c123b782892213"

# the encoder tries a method on an image only when a window of 32 x 256 pixels across its
# middle, before the repairs, rebuilds with at most MAX_PROBE_SHARE of its pixels differing
# (0.01-0.33 where the method made the image, mostly 0.4-1.0 elsewhere: dev and its
# variants); a fit under CLEAR_FIT is taken at once, and between several others the window
# coded decides (4:2:2's rows fit a 4:2:0 JPEG unrepaired about as well as 4:2:0 does, but
# 6-12% of its pixels stay missed); it keeps the path when the whole image, repaired,
# misses at most MAX_RESIDUAL_SHARE (0.001-0.03 where the method made it), and per tile
# only where it is smaller
PROBE_ROWS, PROBE_COLUMNS, MAX_PROBE_SHARE, CLEAR_FIT, MAX_RESIDUAL_SHARE = 32, 256, 0.4, 0.02, 0.25
# photos and their variants repeat at most 0.57 of their pixels (a slide), graphics 0.62
# and up or 0.14 and down; where a chroma method made an image its tables make every
# unclipped pixel of the probe's window, elsewhere 0.09-0.55 (grey images aside: 1)
MAX_REPEATS, MIN_CONVERTED = 0.6, 0.6
# a luma section is tried with the palette path only where its values fill less of their
# range than this (the two luma sections of the variants that the palette path won, of
# images quantized to few colours, fill 0.63 and 0.71; photos' 0.94-1.0)
MIN_LUMA_FILL = 0.9
# a method whose repaired probe window misses more than this fits only roughly (dev's urban
# photos under 4:2:2: 0.19-0.31, where the repairs found no more of the image's pixels,
# docs/experiments.md M42; where the method made it 0.07 and less) and is solved without
# repairs
ROUGH_FIT = 0.15
_RADIUS = 3  # integer 8-bit inputs tried around the least-squares estimate


@dataclass(frozen=True)
class YCbCrTables:
    """A YCbCr -> RGB conversion: R = Y + r_cr[Cr], G = Y + ((g_cb[Cb] + g_cr[Cr]) >> shift),
    B = Y + b_cb[Cb], each clipped to 0..255."""

    r_cr: np.ndarray
    b_cb: np.ndarray
    g_cb: np.ndarray
    g_cr: np.ndarray
    shift: int

    def green(self, cb: np.ndarray, cr: np.ndarray) -> np.ndarray:
        return (self.g_cb[cb] + self.g_cr[cr]) >> self.shift

    def rgb(self, y: np.ndarray, cb: np.ndarray, cr: np.ndarray) -> np.ndarray:
        """(h, w, 3) int64 RGB of integer Y, Cb, Cr planes."""
        planes = [y + self.r_cr[cr], y + self.green(cb, cr), y + self.b_cb[cb]]
        return np.clip(np.stack(planes, axis=-1), 0, 255)


def _tables_digest(arrays: list[np.ndarray]) -> str:
    h = hashlib.sha256()
    for a in arrays:
        h.update(a.astype("<i2").tobytes())
    return h.hexdigest()


@lru_cache(maxsize=1)
def pillow_tables() -> YCbCrTables:
    """Pillow's conversion (``Image.convert`` from "YCbCr"): hand-made 16-bit tables with a
    6-bit shift, measured from Pillow and frozen, checked against their sha256."""
    with resources.files("flowzip").joinpath(TABLES_FILE).open("rb") as fh:
        z = np.load(fh)
        arrays = [z[k].astype(np.int64) for k in ("r_cr", "b_cb", "g_cb", "g_cr")]
    if _tables_digest(arrays) != TABLES_SHA256:
        raise FlowzipError(f"{TABLES_FILE} is damaged (sha256 mismatch): reinstall flowzip")
    r_cr, b_cb, g_cb, g_cr = arrays
    return YCbCrTables(r_cr, b_cb, g_cb, g_cr, shift=6)


@lru_cache(maxsize=1)
def libjpeg_tables() -> YCbCrTables:
    """libjpeg's conversion (jdcolor.c): JFIF's coefficients in 16-bit fixed point,
    FIX(1.40200) = 91881, FIX(1.77200) = 116130, FIX(0.71414) = 46802, FIX(0.34414) = 22554,
    R and B rounded, G's two terms summed before the shift."""
    x = np.arange(256, dtype=np.int64) - 128
    half = 1 << 15
    return YCbCrTables(
        (91881 * x + half) >> 16, (116130 * x + half) >> 16, -22554 * x + half, -46802 * x, shift=16
    )


# ---------------------------------------------------------------- the upsampling


@dataclass(frozen=True)
class Taps:
    """A 1-D integer resampling: output ``i`` is ``(sum_t a[start[i] + t] * weights[i, t] +
    bias[i]) >> shift``, clipped to ``0..top`` (inputs past the last are the last); its
    inputs lie in ``0..in_top``. ``end[i]`` is one past the last input with a weight."""

    start: np.ndarray
    weights: np.ndarray  # (n_out, taps)
    bias: np.ndarray
    shift: int
    top: int
    in_top: int

    @property
    def end(self) -> np.ndarray:
        last = self.weights.shape[1] - 1 - np.argmax(self.weights[:, ::-1] != 0, axis=1)
        return self.start + last + 1

    @property
    def n_in(self) -> int:
        return int(self.end.max())

    def inputs(self, lo: int, hi: int) -> tuple[int, int]:
        """The input range that outputs ``lo:hi`` read."""
        return int(self.start[lo:hi].min()), int(self.end[lo:hi].max())

    def window(self, lo: int, hi: int) -> Taps:
        """Outputs ``lo:hi``, their starts relative to the first input they read."""
        part = slice(lo, hi)
        return dataclasses.replace(
            self,
            start=self.start[part] - self.start[lo:hi].min(),
            weights=self.weights[part],
            bias=self.bias[part],
        )

    def _sum(self, a: np.ndarray, scale: float | None) -> np.ndarray:
        shape = (-1,) + (1,) * (a.ndim - 1)
        total = None
        for t in range(self.weights.shape[1]):
            w = self.weights[:, t].reshape(shape)
            term = a[np.minimum(self.start + t, a.shape[0] - 1)] * (
                w if scale is None else w / scale
            )
            total = term if total is None else total + term
        assert total is not None
        return total

    def apply(self, a: np.ndarray, axis: int) -> np.ndarray:
        """Resample int64 ``a`` along ``axis`` (whose inputs begin at this window's start)."""
        a = np.moveaxis(a, axis, 0)
        s = (self._sum(a, None) + self.bias.reshape((-1,) + (1,) * (a.ndim - 1))) >> self.shift
        return np.moveaxis(np.clip(s, 0, self.top), 0, axis)

    def float_apply(self, a: np.ndarray) -> np.ndarray:
        """The resampling of float ``a`` (n_in, B) without rounding: an estimate's outputs."""
        return self._sum(a, float(1 << self.shift))


_PRECISION = 22  # Pillow's fixed point for 8-bit resampling: 32 - 8 - 2 bits


def _taps(start, weights, bias, shift: int, top: int, in_top: int = 255) -> Taps:
    w = np.asarray(weights, np.int64).reshape(len(start), -1)
    if w.shape[1] < 2:
        w = np.concatenate([w, np.zeros_like(w)], axis=1)
    return Taps(np.asarray(start, np.int64), w, np.asarray(bias, np.int64), shift, top, in_top)


def _triangle(x: Fraction) -> Fraction:
    x = abs(x)
    return 1 - x if x < 1 else Fraction(0)


def _keys_cubic(x: Fraction) -> Fraction:
    """Keys' cubic convolution kernel with a = -1/2 (Pillow's BICUBIC)."""
    a, x = Fraction(-1, 2), abs(x)
    if x < 1:
        return ((a + 2) * x - (a + 3)) * x * x + 1
    if x < 2:
        return (((x - 5) * x + 8) * x - 4) * a
    return Fraction(0)


@lru_cache(maxsize=32)
def pillow_taps(n_in: int, n_out: int, cubic: bool = False) -> Taps:
    """Pillow's bilinear (support 1) or bicubic (support 2) resize of ``n_in`` samples to
    ``n_out >= n_in``: the kernel at output centres ``(i + 1/2) n_in / n_out``, normalised,
    rounded half away from zero to 22-bit integers (Pillow's ``precompute_coeffs`` and
    ``normalize_coeffs_8bpc``), in exact rationals where Pillow uses doubles; an equal size
    is the identity, as Pillow skips that pass."""
    if not 1 <= n_in <= n_out:
        raise ValueError(f"an upsampling, not {n_in} -> {n_out}")
    bias = np.full(n_out, 1 << (_PRECISION - 1))
    if n_in == n_out:
        return _taps(np.arange(n_out), np.full(n_out, 1 << _PRECISION), bias, _PRECISION, 255)
    kernel, support = (_keys_cubic, 2) if cubic else (_triangle, 1)
    scale, half = Fraction(n_in, n_out), Fraction(1, 2)
    rows = []
    for i in range(n_out):
        centre = (i + half) * scale
        lo = max(0, int(centre - support + half))
        hi = min(n_in, int(centre + support + half))
        weights = [kernel(x - centre + half) for x in range(lo, hi)]
        total = sum(weights)
        fixed = [w / total * (1 << _PRECISION) for w in weights]
        fixed_int = [int(v + half) if v >= 0 else int(v - half) for v in fixed]
        used = [t for t, k in enumerate(fixed_int) if k]
        rows.append((lo + used[0], fixed_int[used[0] : used[-1] + 1]))
    taps = max(len(w) for _, w in rows)
    weights_out = np.zeros((n_out, taps), np.int64)
    for i, (_, w) in enumerate(rows):
        weights_out[i, : len(w)] = w
    return _taps([r[0] for r in rows], weights_out, bias, _PRECISION, 255)


def _triangle_2x(n_in: int, n_out: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """libjpeg's 2x triangle: 3 x the nearer input + 1 x the farther (the one before for
    even outputs, after for odd ones; at an edge the nearer itself): starts, weights, and
    the outputs' indices."""
    if not (n_out + 1) // 2 == n_in:
        raise ValueError(f"a 2x upsampling, not {n_in} -> {n_out}")
    i = np.arange(n_out)
    near = i // 2
    far = np.clip(np.where(i % 2, near + 1, near - 1), 0, n_in - 1)
    start = np.minimum(near, far)
    w0 = np.where(far == near, 4, np.where(start == near, 3, 1))
    return start, np.stack([w0, np.where(far == near, 0, 4 - w0)], axis=1), i


@lru_cache(maxsize=32)
def fancy_taps(n_in: int, n_out: int, vertical: bool) -> Taps:
    """libjpeg's h2v2 "fancy" upsampling (jdsample.c), a triangle filter of 3/4 and 1/4
    about each output's nearer input, edges replicated: first down the columns, exactly
    (sums 3 * nearer + farther row, 0..1020), then along the rows with the rounding
    ``(3 * nearer + farther + 8 or 7) >> 4`` (8 at even outputs, 7 at odd ones)."""
    start, weights, i = _triangle_2x(n_in, n_out)
    if vertical:
        return _taps(start, weights, np.zeros(n_out), 0, 1020)
    return _taps(start, weights, np.where(i % 2, 7, 8), 4, 255, in_top=1020)


@lru_cache(maxsize=32)
def fancy_h2v1_taps(n_in: int, n_out: int) -> Taps:
    """libjpeg's h2v1 "fancy" upsampling (4:2:2, jdsample.c): along the rows only,
    ``(3 * nearer + farther + 1 or 2) >> 2`` (1 at even outputs, 2 at odd ones), edges
    replicated."""
    start, weights, i = _triangle_2x(n_in, n_out)
    return _taps(start, weights, np.where(i % 2, 2, 1), 2, 255)


@dataclass(frozen=True)
class Method:
    """How a decoder made the pixels from planes of half the resolution: the upsampling of
    each direction, which runs first, and for chroma methods the colour conversion (an
    RGB method upsamples the three planes themselves)."""

    code: int
    horizontal_first: bool
    chroma: bool

    def taps(self, height: int, width: int) -> tuple[Taps, Taps]:
        """The (vertical, horizontal) resamplings of an image of this size."""
        (hh, hw) = (_half(height), _half(width))
        if self.code == LIBJPEG:
            return fancy_taps(hh, height, True), fancy_taps(hw, width, False)
        if self.code == LIBJPEG_422:
            return pillow_taps(height, height), fancy_h2v1_taps(hw, width)
        cubic = self.code == PILLOW_BICUBIC
        return pillow_taps(hh, height, cubic), pillow_taps(hw, width, cubic)

    @property
    def planes(self) -> int:
        """The planes at half resolution."""
        return 2 if self.chroma else 3

    def low_shape(self, height: int, width: int) -> tuple[int, int]:
        """The size of the planes at lower resolution."""
        rows, cols = self.taps(height, width)
        return rows.n_in, cols.n_in

    def tables(self) -> YCbCrTables:
        return pillow_tables() if self.code == PILLOW else libjpeg_tables()

    def upsample(self, block: np.ndarray, rows: Taps, cols: Taps) -> np.ndarray:
        """Half-resolution samples to the outputs of two windows."""
        b = block.astype(np.int64)
        if self.horizontal_first:
            return rows.apply(cols.apply(b, 1), 0)
        return cols.apply(rows.apply(b, 0), 1)

    def predict(
        self, luma: np.ndarray | None, block: np.ndarray, rows: Taps, cols: Taps
    ) -> np.ndarray:
        """The (h, w, 3) int64 RGB that a tile's planes give."""
        up = [self.upsample(block[:, :, p], rows, cols) for p in range(self.planes)]
        if not self.chroma:
            return np.stack(up, axis=-1)
        assert luma is not None
        return self.tables().rgb(luma.astype(np.int64), *up)


METHODS = {
    PILLOW: Method(PILLOW, horizontal_first=True, chroma=True),  # Image.resize(BILINEAR)
    LIBJPEG: Method(LIBJPEG, horizontal_first=False, chroma=True),  # a 4:2:0 JPEG decoded
    LIBJPEG_422: Method(LIBJPEG_422, horizontal_first=False, chroma=True),  # a 4:2:2 one
    PILLOW_BICUBIC: Method(PILLOW_BICUBIC, horizontal_first=True, chroma=False),  # 2x upscale
}


def _half(n: int) -> int:
    return (n + 1) // 2


# ---------------------------------------------------------------- finding the planes


def _least_squares(obs: np.ndarray, weight: np.ndarray, taps: Taps) -> np.ndarray:
    """Float inputs (n_in, B) whose resampling best fits ``obs`` (n_out, B) under
    ``weight``: the normal equations are banded (adjacent taps); two taps an output make
    them tridiagonal, solved per column under its weights, more are solved densely once
    for all columns (the weight of each output then its mean over the columns)."""
    n_in, n_taps = taps.n_in, taps.weights.shape[1]
    scale = float(1 << taps.shift)
    obs = obs - (taps.bias / scale - (0.5 if taps.shift else 0.0))[:, None]
    w = taps.weights / scale
    if n_taps > 2:
        return _conjugate_gradients(obs, weight, taps, w, n_in)
    w0 = w[:, 0][:, None] * np.ones_like(obs)
    w1 = w[:, 1][:, None] * np.ones_like(obs)
    s, s1 = taps.start, np.minimum(taps.start + 1, n_in - 1)
    diag = np.full((n_in, obs.shape[1]), 1e-6)
    off = np.zeros((n_in, obs.shape[1]))
    rhs = np.zeros((n_in, obs.shape[1]))
    np.add.at(diag, s, weight * w0 * w0)
    np.add.at(diag, s1, weight * w1 * w1)
    np.add.at(off, s, weight * w0 * w1)
    np.add.at(rhs, s, weight * obs * w0)
    np.add.at(rhs, s1, weight * obs * w1)
    c, d = np.zeros_like(diag), np.zeros_like(diag)
    c[0], d[0] = off[0] / diag[0], rhs[0] / diag[0]
    for k in range(1, n_in):
        m = diag[k] - off[k - 1] * c[k - 1]
        c[k], d[k] = off[k] / m, (rhs[k] - off[k - 1] * d[k - 1]) / m
    x = np.zeros_like(diag)
    x[-1] = d[-1]
    for k in range(n_in - 2, -1, -1):
        x[k] = d[k] - c[k] * x[k + 1]
    return x


def _conjugate_gradients(
    obs: np.ndarray, weight: np.ndarray, taps: Taps, w: np.ndarray, n_in: int, steps: int = 40
) -> np.ndarray:
    """The weighted normal equations of a resampling with more than two taps, by conjugate
    gradients, per column: the memory of a few planes, where a dense solve needs
    n_in x n_out."""
    index = np.minimum(taps.start[None, :] + np.arange(w.shape[1])[:, None], n_in - 1)
    w_t = np.ascontiguousarray(w.T)

    def forward(x: np.ndarray) -> np.ndarray:
        return _resample_f(np.ascontiguousarray(x), index, w_t, len(taps.start))

    def adjoint(r: np.ndarray) -> np.ndarray:
        return _resample_f_adjoint(np.ascontiguousarray(r), index, w_t, n_in)

    x = np.zeros((n_in, obs.shape[1]))
    r = adjoint(weight * obs)
    p, rr = r.copy(), (r * r).sum(axis=0)
    for _ in range(steps):
        q = adjoint(weight * forward(p)) + 1e-6 * p
        alpha = rr / np.maximum((p * q).sum(axis=0), 1e-300)
        x += alpha * p
        r -= alpha * q
        rr_next = (r * r).sum(axis=0)
        if rr_next.max() < 1e-12:
            break
        p = r + (rr_next / np.maximum(rr, 1e-300)) * p
        rr = rr_next
    return x


@nb.njit(cache=True, nogil=True)
def _resample_f(x, index, w, n_out):  # pragma: no cover (numba)
    """Float resampling of the columns of ``x``: output ``i`` sums ``x[index[t, i]] *
    w[t, i]`` over the taps ``t``, added in tap order (as numpy's sums were)."""
    out = np.zeros((n_out, x.shape[1]))
    for t in range(index.shape[0]):
        for i in range(n_out):
            k, wt = index[t, i], w[t, i]
            for b in range(x.shape[1]):
                out[i, b] += x[k, b] * wt
    return out


@nb.njit(cache=True, nogil=True)
def _resample_f_adjoint(r, index, w, n_in):  # pragma: no cover (numba)
    """The transpose of :func:`_resample_f`: output ``r[i] * w[t, i]`` added into
    ``index[t, i]``, taps then outputs in order (as ``np.add.at`` did, 40x faster)."""
    out = np.zeros((n_in, r.shape[1]))
    for t in range(index.shape[0]):
        for i in range(index.shape[1]):
            k, wt = index[t, i], w[t, i]
            for b in range(r.shape[1]):
                out[k, b] += r[i, b] * wt
    return out


@nb.njit(cache=True, nogil=True)
def _out(a, b, w0, w1, bias, shift, top):  # pragma: no cover (numba)
    return min(top, max(0, (a * w0 + b * w1 + bias) >> shift))


@nb.njit(cache=True, nogil=True)
def _viterbi(obs, valid, estimate, t, radius):  # pragma: no cover (numba)
    start, w0, w1, bias, shift, top, in_top = t
    n_in, batch = estimate.shape
    n_out = start.shape[0]
    width = 2 * radius + 1
    out = np.zeros((n_in, batch), np.int64)
    for b in range(batch):
        cand = np.zeros((n_in, width), np.int64)
        cost = np.zeros((n_in, width))
        back = np.zeros((n_in, width), np.int64)
        for k in range(n_in):
            centre = int(np.rint(estimate[k, b]))
            for c in range(width):
                v = min(in_top, max(0, centre + c - radius))
                cand[k, c] = v
                cost[k, c] = 1e-3 * abs(v - estimate[k, b])
        i = 0
        for k in range(n_in):
            if k:  # the outputs that read k - 1 and k
                for c in range(width):
                    best, arg = 1e300, 0
                    for q in range(width):
                        total = cost[k - 1, q]
                        j = i
                        while j < n_out and start[j] == k - 1:
                            if w1[j] and valid[j, b]:
                                val = _out(
                                    cand[k - 1, q], cand[k, c], w0[j], w1[j], bias[j], shift, top
                                )
                                if val != obs[j, b]:
                                    total += 1.0
                            j += 1
                        if total < best:
                            best, arg = total, q
                    cost[k, c] += best
                    back[k, c] = arg
                while i < n_out and start[i] == k - 1:
                    i += 1
            j = i
            while j < n_out and start[j] == k:  # the outputs that read k alone
                if w1[j] == 0 and valid[j, b]:
                    for c in range(width):
                        if _out(cand[k, c], 0, w0[j], 0, bias[j], shift, top) != obs[j, b]:
                            cost[k, c] += 1.0
                j += 1
        c = 0
        for q in range(width):
            if cost[n_in - 1, q] < cost[n_in - 1, c]:
                c = q
        for k in range(n_in - 1, -1, -1):
            out[k, b] = cand[k, c]
            c = back[k, c]
    return out


def _pair_taps(t: Taps) -> tuple:
    """A two-tap resampling for :func:`_viterbi`."""
    if t.weights.shape[1] != 2:
        raise ValueError("the Viterbi pass takes two taps an output")
    w = np.ascontiguousarray(t.weights)
    return (t.start, w[:, 0].copy(), w[:, 1].copy(), t.bias, t.shift, t.top, t.in_top)


def _kernel_taps(t: Taps) -> tuple:
    """Any resampling for :func:`_local_misses`."""
    return (t.start, t.end, np.ascontiguousarray(t.weights), t.bias, t.shift, t.top)


def _integer_inputs(
    obs: np.ndarray, valid: np.ndarray, estimate: np.ndarray, taps: Taps, close: bool
) -> np.ndarray:
    """Integer inputs (n_in, B) near ``estimate`` whose resampling misses the fewest valid
    observations: a Viterbi pass along the inputs, since an output reads two neighbours
    (ties go to the value nearest the estimate). Inputs of more than 8 bits get a wider
    window, unless the estimate is ``close`` (itself a resampling of integer samples)."""
    scale = max(1, (taps.in_top + 1) // 256)
    return _viterbi(
        np.ascontiguousarray(obs, np.int64),
        np.ascontiguousarray(valid, np.bool_),
        np.ascontiguousarray(estimate, np.float64),
        _pair_taps(taps),
        _RADIUS * (1 if close else max(1, scale // 2)),
    )


@nb.njit(cache=True, nogil=True)
def _readers(start, end, i):  # pragma: no cover (numba)
    """The first and one past the last output that reads input ``i`` (starts and ends
    never decrease along the outputs)."""
    return np.searchsorted(end, i, side="right"), np.searchsorted(start, i, side="right")


@nb.njit(cache=True, nogil=True)
def _resampled(x, k, taps, t, along_rows):  # pragma: no cover (numba)
    """Output ``t`` of resampling row ``k`` of ``x`` (along_rows) or column ``k``."""
    start, _, weights, bias, shift, top = taps
    n = x.shape[1] if along_rows else x.shape[0]
    s = bias[t]
    for q in range(weights.shape[1]):
        i = min(start[t] + q, n - 1)
        s += (x[k, i] if along_rows else x[i, k]) * weights[t, q]
    return min(top, max(0, s >> shift))


@nb.njit(cache=True, nogil=True)
def _local_misses(  # pragma: no cover (numba)
    x,
    obs,
    valid,
    outer,
    inner,
    y0,
    y1,
    c0,
    c1,
    scratch,
    missed,
    changed=(0, 1 << 62),
    bound=1 << 62,
):
    """How many valid outputs in ``y0:y1, c0:c1`` the samples ``x`` miss: ``inner`` runs
    along axis 1 of ``x`` (into ``scratch``, the values between), then ``outer`` along
    axis 0. With a ``missed`` map the size of ``obs`` (not 0 x 0), it is refreshed there.
    Only the rows of ``x`` in ``changed`` are resampled again: the others' values must be
    in ``scratch`` from a call on the same window (a trial changes one or two rows). The
    count stops at ``bound`` (a trial that cannot beat the best so far)."""
    vs, ve, vw, vb, vsh, vtop = outer
    n_rows = x.shape[0]
    if y1 <= y0 or c1 <= c0:
        return 0
    k0, k1 = vs[y0], min(n_rows, ve[y1 - 1])
    for k in range(max(k0, changed[0]), min(k1, changed[1])):
        for xx in range(c0, c1):
            scratch[k - k0, xx - c0] = _resampled(x, k, inner, xx, True)
    marking = missed.shape[0] > 0
    misses = 0
    for yy in range(y0, y1):
        for xx in range(c0, c1):
            miss = False
            if valid[yy, xx]:
                s = vb[yy]
                for q in range(vw.shape[1]):
                    if vw[yy, q]:
                        k = min(vs[yy] + q, n_rows - 1)
                        s += scratch[k - k0, xx - c0] * vw[yy, q]
                miss = min(vtop, max(0, s >> vsh)) != obs[yy, xx]
            misses += miss
            if marking:
                missed[yy, xx] = miss
            elif misses >= bound:
                return misses
    return misses


@nb.njit(cache=True, nogil=True)
def _any_missed(missed, y0, y1, c0, c1):  # pragma: no cover (numba)
    for yy in range(y0, y1):
        for xx in range(c0, c1):
            if missed[yy, xx]:
                return True
    return False


@nb.njit(cache=True, nogil=True)
def _window(outer, inner, k, j, k2, j2):  # pragma: no cover (numba)
    """The outputs that read samples (k, j) or (k2, j2)."""
    y0 = _readers(outer[0], outer[1], min(k, k2))[0]
    y1 = _readers(outer[0], outer[1], max(k, k2))[1]
    c0 = _readers(inner[0], inner[1], min(j, j2))[0]
    c1 = _readers(inner[0], inner[1], max(j, j2))[1]
    return y0, y1, c0, c1


@nb.njit(cache=True, nogil=True)
def _try_pair(x, obs, valid, outer, inner, k, j, k2, j2, limit, scratch, none):  # pragma: no cover
    """Change samples (k, j) and (k2, j2) together by -2..2 each where that lowers the
    misses where either is read; True if it did."""
    y0, y1, c0, c1 = _window(outer, inner, k, j, k2, j2)
    now = _local_misses(x, obs, valid, outer, inner, y0, y1, c0, c1, scratch, none)
    a, b = x[k, j], x[k2, j2]
    best, best_a, best_b = now, a, b
    rows = (min(k, k2), max(k, k2) + 1)
    for da in range(-2, 3):
        for db in range(-2, 3):
            va, vb = a + da, b + db
            if (da == 0 and db == 0) or min(va, vb) < 0 or max(va, vb) > limit:
                continue
            x[k, j], x[k2, j2] = va, vb
            m = _local_misses(
                x, obs, valid, outer, inner, y0, y1, c0, c1, scratch, none, rows, best
            )
            if m < best:
                best, best_a, best_b = m, va, vb
    x[k, j], x[k2, j2] = best_a, best_b
    return best < now


@nb.njit(cache=True, nogil=True)
def _repair(x, obs, valid, outer, inner, radius, sweeps, limit):  # pragma: no cover (numba)
    """Greedy changes that lower the valid outputs missed where a sample is read, until
    none does: of one sample (within ``radius``), else of it and its neighbour below or to
    the right together. What the alternating passes leave. Only samples read by a missed
    output are tried (a map of them, refreshed where a change was made), and in later
    sweeps only those near a change since their last trial: the others' trials would find
    what they found then (their windows read the same samples), so the result is the
    same as trying every one, in about half the time."""
    n_rows, n_cols = x.shape
    scratch = np.zeros((n_rows, obs.shape[1]), np.int64)  # room for any window's values
    missed = np.zeros(obs.shape, np.bool_)
    none = np.zeros((0, 0), np.bool_)  # no map: count only
    _local_misses(x, obs, valid, outer, inner, 0, obs.shape[0], 0, obs.shape[1], scratch, missed)
    # a pair trial's outputs read samples up to a kernel's length either way
    reach_rows, reach_cols = outer[2].shape[1] + 1, inner[2].shape[1] + 1
    stale = np.ones((n_rows, n_cols), np.bool_)
    for _ in range(sweeps):
        changed = 0
        for k in range(n_rows):
            y0, y1 = _readers(outer[0], outer[1], k)
            for j in range(n_cols):
                if not stale[k, j]:
                    continue
                stale[k, j] = False
                c0, c1 = _readers(inner[0], inner[1], j)
                if not _any_missed(missed, y0, y1, c0, c1):
                    continue
                now = _local_misses(x, obs, valid, outer, inner, y0, y1, c0, c1, scratch, none)
                keep = x[k, j]
                best, best_v = now, keep
                for d in range(-radius, radius + 1):
                    v = keep + d
                    if d == 0 or v < 0 or v > limit:
                        continue
                    x[k, j] = v
                    m = _local_misses(
                        x, obs, valid, outer, inner, y0, y1, c0, c1, scratch, none, (k, k + 1), best
                    )
                    if m < best:
                        best, best_v = m, v
                x[k, j] = best_v
                k2, j2 = k, j
                if best_v == keep:
                    if k + 1 < n_rows and _try_pair(
                        x, obs, valid, outer, inner, k, j, k + 1, j, limit, scratch, none
                    ):
                        k2 = k + 1
                    elif j + 1 < n_cols and _try_pair(
                        x, obs, valid, outer, inner, k, j, k, j + 1, limit, scratch, none
                    ):
                        j2 = j + 1
                    else:
                        continue
                changed += 1
                stale[
                    max(0, k - reach_rows) : k2 + reach_rows + 1,
                    max(0, j - reach_cols) : j2 + reach_cols + 1,
                ] = True
                w0, w1, v0, v1 = _window(outer, inner, k, j, k2, j2)
                _local_misses(x, obs, valid, outer, inner, w0, w1, v0, v1, scratch, missed)
        if not changed:
            break
    return x


def _invert(
    obs: np.ndarray,
    valid: np.ndarray,
    fill: np.ndarray,
    outer: Taps,
    inner: Taps,
    fit: np.ndarray | None = None,
    rounds: int = 2,
    sweeps: int = 4,
) -> np.ndarray:
    """Half-resolution integer samples (k, n) whose resampling by ``inner`` along axis 1
    then ``outer`` along axis 0 gives the valid ``obs``. A least-squares estimate in both
    directions (over the ``fit`` outputs, by default the valid ones; ``fill`` in place of
    the others); for two-tap resamplings, then in turn the values between the two passes
    (a Viterbi pass per column, near the estimate's) and the samples (per row), since a
    column's best values alone are often one of several that fit and only some of those
    are a resampling of the other direction; then greedy repairs."""
    fit = valid if fit is None else fit
    between_f = _least_squares(np.where(fit, obs, fill), np.where(fit, 1.0, 0.05), outer)
    samples_f = _least_squares(between_f.T, np.ones(between_f.T.shape), inner)
    samples = np.clip(np.rint(samples_f), 0, 255).astype(np.int64)
    if max(outer.weights.shape[1], inner.weights.shape[1]) > 2 and sweeps:
        # longer kernels: repair each pass on its own first (1-D, cheap), the columns'
        # values between the passes and then the rows' samples, before the 2-D repairs
        between = np.clip(np.rint(between_f), 0, outer.in_top).astype(np.int64)
        between = _repair_1d(between, obs, valid, outer, sweeps)
        samples_f = _least_squares(between.T.astype(float), np.ones(between.T.shape), inner)
        samples = np.clip(np.rint(samples_f), 0, 255).astype(np.int64)
        ones = np.ones(between.T.shape, bool)
        samples = _repair_1d(samples, between.T, ones, inner, sweeps)
    if outer.weights.shape[1] == inner.weights.shape[1] == 2:
        between_est = inner.float_apply(samples_f).T
        for i in range(rounds):
            between = _integer_inputs(obs, valid, between_est, outer, close=i > 0)
            ones = np.ones(between.T.shape, bool)
            samples = _integer_inputs(between.T, ones, samples_f, inner, close=i > 0)
            samples_f = samples.astype(float)
            between_est = inner.apply(samples, 0).T.astype(float)
    return _repair(
        np.ascontiguousarray(samples.T),
        np.ascontiguousarray(obs, np.int64),
        np.ascontiguousarray(valid),
        _kernel_taps(outer),
        _kernel_taps(inner),
        _RADIUS,
        sweeps,
        255,
    )


def _repair_1d(
    inputs: np.ndarray, obs: np.ndarray, valid: np.ndarray, taps: Taps, sweeps: int
) -> np.ndarray:
    """:func:`_repair` of each column of ``inputs`` (n_in, B) against ``obs`` (n_out, B)
    alone: the 2-D repairs with the identity along the rows."""
    batch = inputs.shape[1]
    identity = _taps(np.arange(batch), np.ones(batch), np.zeros(batch), 0, taps.in_top)
    return _repair(
        np.ascontiguousarray(inputs, np.int64),
        np.ascontiguousarray(obs, np.int64),
        np.ascontiguousarray(valid),
        _kernel_taps(taps),
        _kernel_taps(identity),
        _RADIUS,
        sweeps,
        taps.in_top,
    )


@lru_cache(maxsize=len(METHODS))
def _chroma_of_differences(code: int) -> np.ndarray:
    """(R - B, G - R) + 512 -> Cb * 256 + Cr where the method's conversion of an unclipped
    pixel gives those differences, -1 where no pair or several do."""
    t = METHODS[code].tables()
    cb, cr = np.meshgrid(np.arange(256), np.arange(256), indexing="ij")
    rb = (t.r_cr[cr] - t.b_cb[cb] + 512).ravel()
    gr = (t.green(cb, cr) - t.r_cr[cr] + 512).ravel()
    seen = np.zeros((1024, 1024), np.int64)
    np.add.at(seen, (rb, gr), 1)
    lut = np.full((1024, 1024), -1, np.int64)
    lut[rb, gr] = (cb * 256 + cr).ravel()
    lut[seen > 1] = -1
    return lut


@dataclass(frozen=True)
class Recovered:
    """The planes found for an RGB image: what :func:`encode_tile` codes."""

    method: Method
    rgb: np.ndarray  # (h, w, 3) uint8: the image
    luma: np.ndarray | None  # (h, w) uint8, for a chroma method
    low: np.ndarray  # (ceil(h/2), ceil(w/2), planes) uint8: Cb and Cr, or R, G and B
    residual_share: float  # the share of pixels that the planes do not give exactly


def _best_luma(
    t: YCbCrTables, band: np.ndarray, cb: np.ndarray, cr: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per pixel the luma that with this chroma gives its RGB (one channel's difference
    each, or the weighted sum), nearest the weighted sum among those that do; and whether
    one did."""
    r, g, b = band[..., 0], band[..., 1], band[..., 2]
    luma_f = 0.299 * r + 0.587 * g + 0.114 * b
    best = best_err = None
    for guess in (np.rint(luma_f), r - t.r_cr[cr], b - t.b_cb[cb], g - t.green(cb, cr)):
        y = np.clip(guess, 0, 255).astype(np.int64)
        err = np.abs(t.rgb(y, cb, cr) - band).sum(axis=2) * 1024 + np.abs(y - luma_f)
        if best is None or best_err is None:
            best, best_err = y, err
        else:
            best = np.where(err < best_err, y, best)
            best_err = np.minimum(err, best_err)
    assert best is not None and best_err is not None
    return best, best_err < 1024


def _recover_rows(
    method: Method,
    rgb: np.ndarray,
    r0: int,
    r1: int,
    sweeps: int = 4,
    columns: tuple[int, int] | None = None,
) -> tuple[np.ndarray | None, np.ndarray, tuple[int, int], float]:
    """Luma rows ``r0:r1`` (chroma methods; of ``columns`` only, if given), the
    half-resolution rows they read (and their range), and the share of those pixels that
    the planes do not rebuild (after ``sweeps`` of repairs)."""
    height, width = rgb.shape[:2]
    v_taps, h_taps = method.taps(height, width)
    c0, c1 = columns or (0, width)
    band = rgb[r0:r1, c0:c1].astype(np.int64)
    k0, k1 = v_taps.inputs(r0, r1)
    j0, j1 = h_taps.inputs(c0, c1)
    rows, cols = v_taps.window(r0, r1), h_taps.window(c0, c1)
    low = np.zeros((k1 - k0, j1 - j0, method.planes), np.uint8)
    if method.chroma:
        r, g, b = band[..., 0], band[..., 1], band[..., 2]
        luma_f = 0.299 * r + 0.587 * g + 0.114 * b
        code = _chroma_of_differences(method.code)[r - b + 512, g - r + 512]
        valid = (band.min(axis=2) > 0) & (band.max(axis=2) < 255) & (code >= 0)
        fills = ((b - luma_f) / 1.772 + 128, (r - luma_f) / 1.402 + 128)
        planes = [(code >> 8, valid, fill, valid) for fill in fills[:1]]
        planes.append((code & 255, valid, fills[1], valid))
    else:  # a clipped output fits nothing but must still come out clipped
        everywhere = np.ones(band.shape[:2], bool)
        planes = [
            (band[..., c], everywhere, band[..., c], (band[..., c] % 255) > 0) for c in range(3)
        ]
    for p, (obs, valid, fill, fit) in enumerate(planes):
        if method.horizontal_first:
            low[:, :, p] = _invert(obs, valid, fill, rows, cols, fit, sweeps=sweeps)
        else:
            low[:, :, p] = _invert(obs.T, valid.T, fill.T, cols, rows, fit.T, sweeps=sweeps).T
    if not method.chroma:
        rebuilt = method.predict(None, low, rows, cols)
        return None, low, (k0, k1), float(np.mean((rebuilt != band).any(axis=2)))
    cb, cr = (method.upsample(low[:, :, p], rows, cols) for p in range(2))
    luma, exact = _best_luma(method.tables(), band, cb, cr)
    return luma.astype(np.uint8), low, (k0, k1), float(np.mean(~exact))


def _in_parallel(fn, items: list):
    """``fn`` of each item in order, on as many threads as numba may use (the kernels
    release the GIL; memory is then that many bands')."""
    workers = min(len(items), nb.get_num_threads())
    if workers < 2:
        return [fn(i) for i in items]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(workers, thread_name_prefix="flowzip-bands") as pool:
        return list(pool.map(fn, items))


def _drawn(rgb: np.ndarray) -> bool:
    """True for an image whose pixels repeat their left neighbour more than
    :data:`MAX_REPEATS` of the time on every fourth row (screenshots, drawings: their flat
    areas fit every method's probe and the palette and match coders win there anyway)."""
    rows = rgb[::4]
    return bool(np.mean(np.all(rows[:, 1:] == rows[:, :-1], axis=2)) > MAX_REPEATS)


def _probe_window(rgb: np.ndarray) -> tuple[int, int, tuple[int, int]]:
    height, width = rgb.shape[:2]
    top, left = max(0, (height - PROBE_ROWS) // 2), max(0, (width - PROBE_COLUMNS) // 2)
    return top, min(height, top + PROBE_ROWS), (left, min(width, left + PROBE_COLUMNS))


def _probe(method: Method, rgb: np.ndarray, sweeps: int = 0) -> float:
    """The share of a window across the middle that the method's planes miss (unrepaired
    by default); 1 at once for a chroma method whose conversion gives fewer than
    :data:`MIN_CONVERTED` of the window's unclipped pixels (their (R - B, G - R) pair is
    one its tables make), which no search can change."""
    top, bottom, (left, right) = _probe_window(rgb)
    if method.chroma:
        window = rgb[top:bottom, left:right].astype(np.int64)
        r, g, b = window[..., 0], window[..., 1], window[..., 2]
        unclipped = (window.min(axis=2) > 0) & (window.max(axis=2) < 255)
        made = _chroma_of_differences(method.code)[r - b + 512, g - r + 512] >= 0
        if unclipped.any() and np.mean(made[unclipped]) < MIN_CONVERTED:
            return 1.0
    return _recover_rows(method, rgb, top, bottom, sweeps=sweeps, columns=(left, right))[3]


def _probe_bits(method: Method, rgb: np.ndarray) -> tuple[float, float]:
    """The bits of the probe's window coded by the method, repaired (the image's planes
    outside it left zero: the window's tile reads only its own), and the share missed."""
    top, bottom, (left, right) = _probe_window(rgb)
    height, width = rgb.shape[:2]
    luma, low, (k0, k1), share = _recover_rows(method, rgb, top, bottom, columns=(left, right))
    full_luma = None
    if luma is not None:
        full_luma = np.zeros((height, width), np.uint8)
        full_luma[top:bottom, left:right] = luma
    full_low = np.zeros((*method.low_shape(height, width), method.planes), np.uint8)
    j0, j1 = method.taps(height, width)[1].inputs(left, right)
    full_low[k0:k1, j0:j1] = low
    found = Recovered(method, rgb, full_luma, full_low, share)
    return encode_tile(found, (top, left, bottom - top, right - left))[2], share


def recover(rgb: np.ndarray, band: int = 256, margin: int = 8) -> Recovered | None:
    """The planes of an (h, w, 3) uint8 image under the method whose band of rows across
    the middle rebuilds best, or None when none does within :data:`MAX_RESIDUAL_SHARE`
    (nor then the whole image). Bands of ``band`` rows are solved apart, each with
    ``margin`` rows more on either side, so memory stays a band's; a tile's residual is
    taken from the planes as they are stored."""
    if rgb.ndim != 3 or rgb.shape[2] != 3 or min(rgb.shape[:2]) < 2 or _drawn(rgb):
        return None
    height, width = rgb.shape[:2]
    fits = []
    for m in METHODS.values():  # the first that clearly fits is taken without the others
        share = _probe(m, rgb)
        if share < CLEAR_FIT:
            fits = [(share, m.code)]
            break
        if share <= MAX_PROBE_SHARE:
            fits.append((share, m.code))
    if not fits:
        return None
    sweeps = 4
    if len(fits) > 1:  # several roughly: the window coded, repaired, says which
        coded = [(*_probe_bits(METHODS[code], rgb), code) for _, code in fits]
        _, repaired, code = min(coded)
        fits = [(repaired, code)]
    elif fits[0][0] >= CLEAR_FIT:
        fits = [(_probe(METHODS[fits[0][1]], rgb, sweeps), fits[0][1])]
    if fits[0][0] > ROUGH_FIT:  # not the method that made the image: repairs cannot help
        sweeps = 0
    chosen = METHODS[fits[0][1]]
    v_taps = chosen.taps(height, width)[0]
    luma = np.zeros((height, width), np.uint8) if chosen.chroma else None
    low = np.zeros((*chosen.low_shape(height, width), chosen.planes), np.uint8)
    missed = 0.0
    starts = list(range(0, height, band))

    def solve(r0: int):
        lo, hi = max(0, r0 - margin), min(height, min(height, r0 + band) + margin)
        return lo, _recover_rows(chosen, rgb, lo, hi, sweeps)

    for r0, (lo, (rows, found, (k0, _), band_share)) in zip(
        starts, _in_parallel(solve, starts), strict=True
    ):
        r1 = min(height, r0 + band)
        if luma is not None and rows is not None:
            luma[r0:r1] = rows[r0 - lo : r1 - lo]
        # the low rows first read by this band's own rows (the next band's margin overlaps
        # them; where the two disagree, the tile's residual codes the difference)
        c0, c1 = v_taps.inputs(r0, r1)
        c0 = c0 if r0 == 0 else max(c0, v_taps.inputs(r0 - 1, r0)[1])
        low[c0:c1] = found[c0 - k0 : c1 - k0]
        missed += band_share * (r1 - r0)
    share = missed / height
    return Recovered(chosen, rgb, luma, low, share) if share <= MAX_RESIDUAL_SHARE else None


# ---------------------------------------------------------------- a tile's payload


def _section(kind: int, payload: bytes) -> bytes:
    return bytes([kind]) + len(payload).to_bytes(4, "little") + payload


def _tile_windows(
    method: Method, rect: tuple[int, int, int, int], image: tuple[int, int]
) -> tuple[Taps, Taps, tuple[int, int, int, int]]:
    y, x, h, w = rect
    v_taps, h_taps = method.taps(*image)
    k0, k1 = v_taps.inputs(y, y + h)
    j0, j1 = h_taps.inputs(x, x + w)
    return v_taps.window(y, y + h), h_taps.window(x, x + w), (k0, k1, j0, j1)


def _sections(method: Method, h: int, w: int, low: tuple[int, int]) -> list[tuple[tuple, bool]]:
    """The shapes of a tile's sections, and whether each is an RGB group to the classic
    coders: the luma (chroma methods), the low block, the residual."""
    shapes = [((h, w, 1), False)] if method.chroma else []
    return [*shapes, ((*low, method.planes), not method.chroma), ((h, w, 3), False)]


def encode_tile(found: Recovered, rect: tuple[int, int, int, int]) -> tuple[int, bytes, float]:
    """``(SUBSAMPLED, payload, ideal bits)`` of tile ``rect`` (y, x, h, w): the method byte,
    then for a chroma method the tile's luma (h, w, 1), the half-resolution samples the tile
    reads (2 or 3 planes) and its residual (3 planes, the pixels less what the others give,
    mod 256), each as a classic kind byte, a u32 length and the payload."""
    y, x, h, w = rect
    method = found.method
    rows, cols, (k0, k1, j0, j1) = _tile_windows(method, rect, found.rgb.shape[:2])
    luma = None if found.luma is None else found.luma[y : y + h, x : x + w]
    block = found.low[k0:k1, j0:j1]
    pixels = found.rgb[y : y + h, x : x + w].astype(np.int64)
    residual = ((pixels - method.predict(luma, block, rows, cols)) & 255).astype(np.uint8)
    parts = ([] if luma is None else [luma[:, :, None]]) + [block, residual]
    out, bits = bytearray([method.code]), 8.0
    roles = (["luma"] if luma is not None else []) + ["low", "residual"]
    sections = zip(parts, roles, _sections(method, h, w, block.shape[:2]), strict=True)
    for planes, role, (_, rgb) in sections:
        kind, payload, part_bits = _encode_section(np.ascontiguousarray(planes), rgb, role)
        out += _section(kind, payload)
        bits += part_bits + 40
    return SUBSAMPLED, bytes(out), bits


def _encode_section(planes: np.ndarray, rgb: bool, role: str) -> tuple[int, bytes, float]:
    """A section by the classic paths, but not all of them where one is known to win
    (docs/experiments.md M40: the residuals' time -80 to -85%, the lumas' about half, the
    bytes +0.007% on dev-up2 and less elsewhere): a residual with a palette (nearly all
    zeros: 380 of 399 sections) by the palette path; a luma whose values leave no gaps
    (a photo's, not a quantized image's) without it."""
    from . import classic

    if role == "residual":
        found = classic.encode_palette(planes)
        if found is not None:
            return (classic.PALETTE, *found)
        return classic.encode_best(planes, rgb)
    if role == "luma":
        values = np.flatnonzero(np.bincount(planes.ravel(), minlength=256))
        fill = values.size / (int(values[-1]) - int(values[0]) + 1)
        return classic.encode_best(planes, rgb, palette=fill < MIN_LUMA_FILL)
    return classic.encode_best(planes, rgb)


def share_of_rgb(found: Recovered, rows: int = 128, columns: int = 256) -> float:
    """The bytes of a window across the image's middle coded as a subsampled tile over its
    bytes by the RGB classic paths: what the tiles' own ratios are near (on the variants'
    images within 0.2, a slide's flat tiles aside: docs/experiments.md M43)."""
    from . import classic

    height, width = found.rgb.shape[:2]
    rows, columns = min(rows, height), min(columns, width)
    top, left = (height - rows) // 4 * 2, (width - columns) // 4 * 2
    rect = (top, left, rows, columns)
    window = np.ascontiguousarray(found.rgb[top : top + rows, left : left + columns])
    return len(encode_tile(found, rect)[1]) / len(classic.encode_best(window, True)[1])


def decode_tile(
    payload: bytes, rect: tuple[int, int, int, int], image: tuple[int, int]
) -> np.ndarray:
    """The (h, w, 3) uint8 RGB of a tile coded by :func:`encode_tile` in an image of
    ``image`` (height, width)."""
    from . import classic

    if not payload or payload[0] not in METHODS:
        raise FormatError("corrupt data: unknown subsampled tile method")
    method = METHODS[payload[0]]
    _, _, h, w = rect
    rows, cols, (k0, k1, j0, j1) = _tile_windows(method, rect, image)
    parts, pos = [], 1
    for shape, rgb in _sections(method, h, w, (k1 - k0, j1 - j0)):
        if pos + 5 > len(payload):
            raise FormatError("corrupt data: subsampled tile stream")
        kind, size = payload[pos], int.from_bytes(payload[pos + 1 : pos + 5], "little")
        pos += 5
        if pos + size > len(payload):
            raise FormatError("corrupt data: subsampled tile stream")
        parts.append(classic.decode(kind, payload[pos : pos + size], shape, rgb))
        pos += size
    if pos != len(payload):
        raise FormatError("corrupt data: subsampled tile stream")
    luma = parts[0][:, :, 0] if method.chroma else None
    rebuilt = method.predict(luma, parts[-2], rows, cols)
    return ((rebuilt + parts[-1]) & 255).astype(np.uint8)


def measure_pillow_tables() -> dict[str, np.ndarray]:
    """Pillow's YCbCr -> RGB tables, measured by converting every (Cb, Cr) pair with Pillow:
    R's and B's offsets are seen directly; G's is one shifted sum of two tables, which a
    difference-constraint problem on all 65,536 pairs recovers (Bellman-Ford, exactly)."""
    from PIL import Image

    def rgb_of(y: int, cb: np.ndarray, cr: np.ndarray) -> np.ndarray:
        ycc = np.stack([np.full_like(cb, y), cb, cr], axis=-1).astype(np.uint8)[None]
        return np.asarray(Image.fromarray(ycc, "YCbCr").convert("RGB"))[0].astype(np.int64)

    i, mid = np.arange(256), np.full(256, 128)
    r_cr = np.where(i >= 128, rgb_of(0, mid, i)[:, 0], rgb_of(255, mid, i)[:, 0] - 255)
    b_cb = np.where(i >= 128, rgb_of(0, i, mid)[:, 2], rgb_of(255, i, mid)[:, 2] - 255)
    cb, cr = (a.ravel() for a in np.meshgrid(i, i, indexing="ij"))
    low, high = rgb_of(0, cb, cr)[:, 1], rgb_of(255, cb, cr)[:, 1] - 255
    green = np.where(low > 0, low, high).reshape(256, 256)  # (g_cb[Cb] + g_cr[Cr]) >> 6
    lo, hi = green << 6, (green << 6) + 63
    g_cb, minus_g_cr = np.zeros(256, np.int64), np.zeros(256, np.int64)
    for _ in range(10_000):  # g_cb[a] + g_cr[b] in [lo, hi]: shortest paths from zero
        a = np.minimum(g_cb, (minus_g_cr[None, :] + hi).min(axis=1))
        b = np.minimum(minus_g_cr, (a[:, None] - lo).min(axis=0))
        if np.array_equal(a, g_cb) and np.array_equal(b, minus_g_cr):
            break
        g_cb, minus_g_cr = a, b
    g_cr = -minus_g_cr
    g_cb, g_cr = g_cb - g_cb[128], g_cr + g_cb[128]
    if not np.array_equal((g_cb[:, None] + g_cr[None, :]) >> 6, green):
        raise FlowzipError("Pillow's green is not a shifted sum of two tables")
    return {"r_cr": r_cr, "b_cb": b_cb, "g_cb": g_cb, "g_cr": g_cr}


if __name__ == "__main__":  # regenerate: python -m flowzip.subsampled (a format change!)
    import pathlib

    tables = {k: v.astype(np.int16) for k, v in measure_pillow_tables().items()}
    out = pathlib.Path(__file__).with_name(TABLES_FILE)
    np.savez_compressed(out, allow_pickle=False, **tables)
    print(out, _tables_digest([tables[k] for k in ("r_cr", "b_cb", "g_cb", "g_cr")]))
