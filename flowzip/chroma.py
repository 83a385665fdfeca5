"""Tiles whose chroma was subsampled 4:2:0 and upsampled back: the subsampled path codes
what such a tile really holds, its luma at full resolution and its chroma at half.

Most photos users hold went through a 4:2:0 stage on the way (a camera, a video codec, a
JPEG, a resize of the chroma planes): their full-resolution chroma carries no detail of its
own, only the interpolation of a quarter as many samples. A context coder or a flow over
RGB pays for those samples again at every pixel. Where an image's pixels are exactly
``YCbCr -> RGB`` of a luma plane and two half-resolution chroma planes upsampled by a known
filter, this path finds those planes (the encoder inverts the upsampling by least squares
and a dynamic programme over each row's integer inputs) and codes, per tile, the luma, the
chroma samples the tile's pixels depend on, and the difference between the tile and what
those planes give (all zero when the filter and colour conversion match exactly), each with
the classic coders (:mod:`flowzip.classic`). The encoder keeps the path only where it is
smaller than every other, so an image that only looks subsampled costs nothing.

Method 1 (format 7) is Pillow's: chroma planes of ceil(w/2) x ceil(h/2) samples, resized
bilinear to the image's size (:func:`bilinear_taps`: Pillow's 22-bit fixed-point weights,
derived here in exact rationals, the horizontal pass rounded to 8 bits before the vertical)
and Pillow's YCbCr -> RGB (JPEG's full-range BT.601; its integer tables, measured from Pillow
and frozen in ``ycbcr_pillow_v1.npz``). Everything the decoder does is integer arithmetic.

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

PILLOW, LIBJPEG = 1, 2  # the method byte of a subsampled tile (format 7)
TABLES_FILE = "ycbcr_pillow_v1.npz"
TABLES_SHA256 = "abe18ca4bac0c0aee2be23a3c09575514b69ac31c06baff742c123b782892213"

# the encoder tries an image only when a band of rows across its middle rebuilds with at
# most this share of pixels differing (about 1-8% on Pillow's 4:2:0 photos, 70-93% on
# photos with chroma of their own), and keeps the path when the whole image does too
PROBE_ROWS, MAX_RESIDUAL_SHARE = 32, 0.25
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
    """A 1-D integer resampling with at most two adjacent taps an output: output ``i`` is
    ``(a[start[i]] * w0[i] + a[start[i] + 1] * w1[i] + bias[i]) >> shift``, clipped to
    ``0..top``; its inputs lie in ``0..in_top``."""

    start: np.ndarray
    w0: np.ndarray
    w1: np.ndarray
    bias: np.ndarray
    shift: int
    top: int
    in_top: int

    def inputs(self, lo: int, hi: int) -> tuple[int, int]:
        """The input range that outputs ``lo:hi`` read."""
        return int(self.start[lo]), int(self.start[hi - 1] + (self.w1[hi - 1] > 0)) + 1

    def window(self, lo: int, hi: int) -> Taps:
        """Outputs ``lo:hi``, their starts relative to the first input they read."""
        part = slice(lo, hi)
        return dataclasses.replace(
            self,
            start=self.start[part] - self.start[lo],
            w0=self.w0[part],
            w1=self.w1[part],
            bias=self.bias[part],
        )

    def apply(self, a: np.ndarray, axis: int) -> np.ndarray:
        """Resample int64 ``a`` along ``axis`` (whose inputs begin at this window's start)."""
        a = np.moveaxis(a, axis, 0)
        nxt = np.minimum(self.start + 1, a.shape[0] - 1)
        shape = (-1,) + (1,) * (a.ndim - 1)
        s = a[self.start] * self.w0.reshape(shape) + a[nxt] * self.w1.reshape(shape)
        s = (s + self.bias.reshape(shape)) >> self.shift
        return np.moveaxis(np.clip(s, 0, self.top), 0, axis)

    def float_apply(self, a: np.ndarray) -> np.ndarray:
        """The resampling of float ``a`` (n_in, B) without rounding: an estimate's outputs."""
        nxt = np.minimum(self.start + 1, a.shape[0] - 1)
        scale = float(1 << self.shift)
        return a[self.start] * (self.w0 / scale)[:, None] + a[nxt] * (self.w1 / scale)[:, None]

    @property
    def n_in(self) -> int:
        return int(self.start[-1] + (self.w1[-1] > 0)) + 1


_PRECISION = 22  # Pillow's fixed point for 8-bit resampling: 32 - 8 - 2 bits


def _taps(start, w0, w1, bias, shift: int, top: int, in_top: int = 255) -> Taps:
    def ints(a) -> np.ndarray:
        return np.asarray(a, np.int64)

    return Taps(ints(start), ints(w0), ints(w1), ints(bias), shift, top, in_top)


@lru_cache(maxsize=32)
def bilinear_taps(n_in: int, n_out: int) -> Taps:
    """Pillow's bilinear resize of ``n_in`` samples to ``n_out >= n_in``: the support-1
    triangle at output centres ``(i + 1/2) n_in / n_out``, normalised, rounded to 22-bit
    integers (Pillow's ``precompute_coeffs`` and ``normalize_coeffs_8bpc``), in exact
    rationals where Pillow uses doubles; an equal size is the identity, as Pillow skips it."""
    if not 1 <= n_in <= n_out:
        raise ValueError(f"an upsampling, not {n_in} -> {n_out}")
    bias = np.full(n_out, 1 << (_PRECISION - 1))
    if n_in == n_out:
        idx = np.arange(n_out)
        return _taps(idx, np.full(n_out, 1 << _PRECISION), np.zeros(n_out), bias, _PRECISION, 255)
    scale, half = Fraction(n_in, n_out), Fraction(1, 2)
    start, w0, w1 = (np.zeros(n_out, np.int64) for _ in range(3))
    for i in range(n_out):
        centre = (i + half) * scale
        lo = max(0, int(centre - 1 + half))
        hi = min(n_in, int(centre + 1 + half))
        weights = [max(Fraction(0), 1 - abs(x - centre + half)) for x in range(lo, hi)]
        total = sum(weights)
        fixed = [
            (x, int(w / total * (1 << _PRECISION) + half))
            for x, w in zip(range(lo, hi), weights, strict=True)
        ]
        taps = [(x, k) for x, k in fixed if k]
        start[i], w0[i] = taps[0]
        if len(taps) > 1:
            w1[i] = taps[1][1]
    return _taps(start, w0, w1, bias, _PRECISION, 255)


@lru_cache(maxsize=32)
def fancy_taps(n_in: int, n_out: int, vertical: bool) -> Taps:
    """libjpeg's h2v2 "fancy" upsampling (jdsample.c), a triangle filter of 3/4 and 1/4
    about each output's nearer input, edges replicated: first down the columns, exactly
    (sums 3 * nearer + farther row, 0..1020), then along the rows with the rounding
    ``(3 * nearer + farther + 8 or 7) >> 4`` (8 at even outputs, 7 at odd ones)."""
    if not (n_out + 1) // 2 == n_in:
        raise ValueError(f"a 2x upsampling, not {n_in} -> {n_out}")
    i = np.arange(n_out)
    near = i // 2
    far = np.clip(np.where(i % 2, near + 1, near - 1), 0, n_in - 1)
    start = np.minimum(near, far)
    w0 = np.where(far == near, 4, np.where(start == near, 3, 1))
    w1 = np.where(far == near, 0, 4 - w0)
    if vertical:
        return _taps(start, w0, w1, np.zeros(n_out), 0, 1020)
    return _taps(start, w0, w1, np.where(i % 2, 7, 8), 4, 255, in_top=1020)


@dataclass(frozen=True)
class Method:
    """How a decoder made the pixels from its planes: the upsampling of each direction, which
    runs first, and the colour conversion."""

    code: int
    horizontal_first: bool

    def taps(self, height: int, width: int) -> tuple[Taps, Taps]:
        """The (vertical, horizontal) resamplings of an image of this size."""
        if self.code == PILLOW:
            return bilinear_taps(_half(height), height), bilinear_taps(_half(width), width)
        return fancy_taps(_half(height), height, True), fancy_taps(_half(width), width, False)

    def tables(self) -> YCbCrTables:
        return pillow_tables() if self.code == PILLOW else libjpeg_tables()

    def upsample(self, block: np.ndarray, rows: Taps, cols: Taps) -> np.ndarray:
        """Half-resolution samples to the outputs of two windows."""
        b = block.astype(np.int64)
        if self.horizontal_first:
            return rows.apply(cols.apply(b, 1), 0)
        return cols.apply(rows.apply(b, 0), 1)

    def predict(self, luma: np.ndarray, block: np.ndarray, rows: Taps, cols: Taps) -> np.ndarray:
        cb, cr = (self.upsample(block[:, :, p], rows, cols) for p in range(2))
        return self.tables().rgb(luma.astype(np.int64), cb, cr)


METHODS = {
    PILLOW: Method(PILLOW, horizontal_first=True),  # Image.resize(BILINEAR), Image.convert
    LIBJPEG: Method(LIBJPEG, horizontal_first=False),  # a 4:2:0 JPEG as libjpeg decodes it
}


def _half(n: int) -> int:
    return (n + 1) // 2


# ---------------------------------------------------------------- finding the planes


def _least_squares(obs: np.ndarray, weight: np.ndarray, taps: Taps) -> np.ndarray:
    """Float inputs (n_in, B) whose resampling best fits ``obs`` (n_out, B) under
    ``weight``: the normal equations are tridiagonal (two adjacent taps an output)."""
    n_in = taps.n_in
    scale = float(1 << taps.shift)
    obs = obs - (taps.bias / scale - (0.5 if taps.shift else 0.0))[:, None]
    w0 = (taps.w0 / scale)[:, None] * np.ones_like(obs)
    w1 = (taps.w1 / scale)[:, None] * np.ones_like(obs)
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


@nb.njit(cache=True, nogil=True)
def _out(a, b, w0, w1, bias, shift, top):  # pragma: no cover (numba)
    return min(top, max(0, (a * w0 + b * w1 + bias) >> shift))


@nb.njit(cache=True, nogil=True, parallel=True)
def _viterbi(obs, valid, estimate, t, radius):  # pragma: no cover (numba)
    start, w0, w1, bias, shift, top, in_top = t
    n_in, batch = estimate.shape
    n_out = start.shape[0]
    width = 2 * radius + 1
    out = np.zeros((n_in, batch), np.int64)
    for b in nb.prange(batch):
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


def _kernel_taps(t: Taps) -> tuple:
    return (t.start, t.w0, t.w1, t.bias, t.shift, t.top, t.in_top)


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
        _kernel_taps(taps),
        _RADIUS * (1 if close else scale),
    )


@nb.njit(cache=True, nogil=True)
def _readers(start, w1, i, n_out):  # pragma: no cover (numba)
    """The first and one past the last output that reads input ``i``."""
    lo = np.searchsorted(start, i - 1)
    while lo < n_out and not (start[lo] == i or (start[lo] == i - 1 and w1[lo])):
        lo += 1
    hi = lo
    while hi < n_out and (start[hi] == i or (start[hi] == i - 1 and w1[hi])):
        hi += 1
    return lo, hi


@nb.njit(cache=True, nogil=True)
def _local_misses(x, obs, valid, outer, inner, y0, y1, c0, c1):  # pragma: no cover (numba)
    """How many valid outputs in ``y0:y1, c0:c1`` the samples ``x`` miss: ``inner`` runs
    along axis 1 of ``x``, then ``outer`` along axis 0."""
    vs, v0, v1, vb, vsh, vtop, _ = outer
    hs, h0, h1, hb, hsh, htop, _ = inner
    n_rows, n_cols = x.shape
    misses = 0
    for yy in range(y0, y1):
        k = vs[yy]
        k2 = min(k + 1, n_rows - 1)
        for xx in range(c0, c1):
            if not valid[yy, xx]:
                continue
            j = hs[xx]
            j2 = min(j + 1, n_cols - 1)
            a = _out(x[k, j], x[k, j2], h0[xx], h1[xx], hb[xx], hsh, htop)
            b = _out(x[k2, j], x[k2, j2], h0[xx], h1[xx], hb[xx], hsh, htop)
            if _out(a, b, v0[yy], v1[yy], vb[yy], vsh, vtop) != obs[yy, xx]:
                misses += 1
    return misses


@nb.njit(cache=True, nogil=True)
def _repair(x, obs, valid, outer, inner, radius, sweeps):  # pragma: no cover (numba)
    """Greedy single-sample changes (within ``radius``) that lower the valid outputs missed
    where a sample is read, until none does: what the alternating passes leave."""
    n_rows, n_cols = x.shape
    n_out_v, n_out_h = obs.shape
    for _ in range(sweeps):
        changed = 0
        for k in range(n_rows):
            y0, y1 = _readers(outer[0], outer[2], k, n_out_v)
            for j in range(n_cols):
                c0, c1 = _readers(inner[0], inner[2], j, n_out_h)
                now = _local_misses(x, obs, valid, outer, inner, y0, y1, c0, c1)
                if now == 0:
                    continue
                keep = x[k, j]
                best, best_v = now, keep
                for d in range(-radius, radius + 1):
                    v = keep + d
                    if d == 0 or v < 0 or v > 255:
                        continue
                    x[k, j] = v
                    m = _local_misses(x, obs, valid, outer, inner, y0, y1, c0, c1)
                    if m < best:
                        best, best_v = m, v
                x[k, j] = best_v
                if best_v != keep:
                    changed += 1
        if not changed:
            break
    return x


def _invert(
    obs: np.ndarray, valid: np.ndarray, fill: np.ndarray, outer: Taps, inner: Taps, rounds: int = 2
) -> np.ndarray:
    """Half-resolution integer samples (k, n) whose resampling by ``inner`` along axis 1
    then ``outer`` along axis 0 gives the valid ``obs``. A least-squares estimate in both
    directions; then in turn the values between the two passes (a Viterbi pass per column,
    near the estimate's) and the samples (per row), since a column's best values alone are
    often one of several that fit and only some of those are a resampling of the other
    direction; then greedy repairs."""
    weight = np.where(valid, 1.0, 0.05)
    between_f = _least_squares(np.where(valid, obs, fill), weight, outer)
    samples_f = _least_squares(between_f.T, np.ones(between_f.T.shape), inner)
    between_est = inner.float_apply(samples_f).T
    samples = np.rint(samples_f).astype(np.int64)
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
        4,
    )


@lru_cache(maxsize=2)
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
    luma: np.ndarray  # (h, w) uint8
    chroma: np.ndarray  # (ceil(h/2), ceil(w/2), 2) uint8: Cb and Cr
    residual_share: float  # the share of pixels that the planes do not give exactly


def _recover_rows(
    method: Method, rgb: np.ndarray, r0: int, r1: int
) -> tuple[np.ndarray, np.ndarray, tuple[int, int], float]:
    """Luma rows ``r0:r1``, the chroma rows they read (and their range), and the share of
    those pixels that the planes do not rebuild."""
    t = method.tables()
    height, width = rgb.shape[:2]
    v_taps, h_taps = method.taps(height, width)
    band = rgb[r0:r1].astype(np.int64)
    r, g, b = band[..., 0], band[..., 1], band[..., 2]
    luma_f = 0.299 * r + 0.587 * g + 0.114 * b
    code = _chroma_of_differences(method.code)[r - b + 512, g - r + 512]
    valid = (band.min(axis=2) > 0) & (band.max(axis=2) < 255) & (code >= 0)
    fills = ((b - luma_f) / 1.772 + 128, (r - luma_f) / 1.402 + 128)
    k0, k1 = v_taps.inputs(r0, r1)
    rows = v_taps.window(r0, r1)
    chroma = np.zeros((k1 - k0, _half(width), 2), np.uint8)
    for p, (exact, fill) in enumerate(zip((code >> 8, code & 255), fills, strict=True)):
        if method.horizontal_first:
            chroma[:, :, p] = _invert(exact, valid, fill, rows, h_taps)
        else:
            chroma[:, :, p] = _invert(exact.T, valid.T, fill.T, h_taps, rows).T
    cb, cr = (method.upsample(chroma[:, :, p], rows, h_taps) for p in range(2))
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
    share = float(np.mean(best_err >= 1024))
    return best.astype(np.uint8), chroma, (k0, k1), share


def _probe(method: Method, rgb: np.ndarray) -> float:
    height = rgb.shape[0]
    top = max(0, (height - PROBE_ROWS) // 2)
    return _recover_rows(method, rgb, top, min(height, top + PROBE_ROWS))[3]


def recover(rgb: np.ndarray, band: int = 256, margin: int = 8) -> Recovered | None:
    """The luma and half-resolution chroma planes of an (h, w, 3) uint8 image under the
    method whose band of rows across the middle rebuilds best, or None when none does
    within :data:`MAX_RESIDUAL_SHARE` (nor then the whole image). Bands of ``band`` rows
    are solved apart, each with ``margin`` rows more on either side, so memory stays a
    band's; a tile's residual is taken from the planes as they are stored."""
    if rgb.ndim != 3 or rgb.shape[2] != 3 or min(rgb.shape[:2]) < 2:
        return None
    height, width = rgb.shape[:2]
    share, method = min((_probe(m, rgb), m.code) for m in METHODS.values())
    if share > MAX_RESIDUAL_SHARE:
        return None
    chosen = METHODS[method]
    v_taps = chosen.taps(height, width)[0]
    luma = np.zeros((height, width), np.uint8)
    chroma = np.zeros((_half(height), _half(width), 2), np.uint8)
    missed = 0.0
    for r0 in range(0, height, band):
        r1 = min(height, r0 + band)
        lo, hi = max(0, r0 - margin), min(height, r1 + margin)
        rows, found, (k0, _), band_share = _recover_rows(chosen, rgb, lo, hi)
        luma[r0:r1] = rows[r0 - lo : r1 - lo]
        # the chroma rows first read by this band's own rows (the next band's margin
        # overlaps them; where the two disagree, the tile's residual codes the difference)
        c0, c1 = v_taps.inputs(r0, r1)
        c0 = c0 if r0 == 0 else max(c0, v_taps.inputs(r0 - 1, r0)[1])
        chroma[c0:c1] = found[c0 - k0 : c1 - k0]
        missed += band_share * (r1 - r0)
    share = missed / height
    return Recovered(chosen, rgb, luma, chroma, share) if share <= MAX_RESIDUAL_SHARE else None


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


def encode_tile(found: Recovered, rect: tuple[int, int, int, int]) -> tuple[int, bytes, float]:
    """``(SUBSAMPLED, payload, ideal bits)`` of tile ``rect`` (y, x, h, w): the method byte,
    then the tile's luma (h, w, 1), the chroma samples it reads (2 planes) and its residual
    (3 planes, the pixels less what the other two give, mod 256), each as a classic kind
    byte, a u32 length and the payload."""
    from . import classic

    y, x, h, w = rect
    method = found.method
    rows, cols, (k0, k1, j0, j1) = _tile_windows(method, rect, found.luma.shape)
    luma, block = found.luma[y : y + h, x : x + w], found.chroma[k0:k1, j0:j1]
    pixels = found.rgb[y : y + h, x : x + w].astype(np.int64)
    residual = ((pixels - method.predict(luma, block, rows, cols)) & 255).astype(np.uint8)
    out, bits = bytearray([method.code]), 8.0
    for planes in (luma[:, :, None], block, residual):
        kind, payload, part_bits = classic.encode_best(np.ascontiguousarray(planes), rgb=False)
        out += _section(kind, payload)
        bits += part_bits + 40
    return SUBSAMPLED, bytes(out), bits


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
    for shape in ((h, w, 1), (k1 - k0, j1 - j0, 2), (h, w, 3)):
        if pos + 5 > len(payload):
            raise FormatError("corrupt data: subsampled tile stream")
        kind, size = payload[pos], int.from_bytes(payload[pos + 1 : pos + 5], "little")
        pos += 5
        if pos + size > len(payload):
            raise FormatError("corrupt data: subsampled tile stream")
        parts.append(classic.decode(kind, payload[pos : pos + size], shape, rgb=False))
        pos += size
    if pos != len(payload):
        raise FormatError("corrupt data: subsampled tile stream")
    luma, block, residual = parts
    return ((method.predict(luma[:, :, 0], block, rows, cols) + residual) & 255).astype(np.uint8)


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


if __name__ == "__main__":  # regenerate: python -m flowzip.chroma (a format change!)
    import pathlib

    tables = {k: v.astype(np.int16) for k, v in measure_pillow_tables().items()}
    out = pathlib.Path(__file__).with_name(TABLES_FILE)
    np.savez_compressed(out, allow_pickle=False, **tables)
    print(out, _tables_digest([tables[k] for k in ("r_cr", "b_cb", "g_cb", "g_cr")]))
