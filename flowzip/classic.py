"""The classic paths: tiles that the flow codes in more bits (screenshots, drawings, flat
renders, noise, and since format 4 most photo tiles: bench/results/variants) get an adaptive
context-modelling coder or a stored floor instead.

Three coders, each a whole tile's planes (h, w, P) uint8 to bytes and back:

- **palette** (:data:`PALETTE`): a tile with at most :data:`MAX_PALETTE` distinct pixels is an
  index plane; each index is coded as "equal to the k-th distinct causal neighbour" flags
  (W, N, NW, NE, WW, NN, in that order) under contexts of the neighbours' equality pattern,
  else as a binary-tree symbol, PPM-style. Flat areas cost a few thousandths of a bit a pixel.
- **predictive** (:data:`PREDICTIVE`): an optional reversible colour transform (subtract-green or
  YCoCg-R, as in WebP / JPEG XL), optional "same pixel as a neighbour" flags and a colour
  cache, then per sample a predictor chosen per tile (MED of LOCO-I / JPEG-LS, the local
  mean, a wider mean since format 6 (their blend before), the clamped gradient) and the
  residual binarised exp-Golomb style (zero, sign, exponent in unary, mantissa). Each bit is coded with the probabilities of 16
  adaptive contexts (:data:`_MIX_SETS`: activity, residual energy, the signed residuals
  around the pixel and in the earlier planes, JPEG-LS's gradients, the 8x8 block position,
  the 2x2 phase, and since format 6 where other predictors disagree with the one used: linear
  and quadratic extrapolations, means, an online NLMS predictor, as paq8's image models do)
  mixed in the logistic domain by weights trained online, the mixer of lpaq (Mahoney 2005,
  "Adaptive weighing of context models for lossless data compression"); formats 4 and 5
  mixed ten and eleven of them, format 3 coded each bit under the first alone.
- **stored** (:data:`STORED`): the planes as they are, or PNG-filtered and deflated (whichever
  is smaller): a floor that no tile exceeds by more than its few bytes of framing.

The two context coders share one binary adaptive model (a probability per context, 16 bits,
updated by a shift that grows with the context's count, as in CABAC or LZMA) and a binary
rANS coder (64-bit state, 32-bit words, Duda 2013) in numba. Everything is integer, so every
machine decodes the same bits. Adaptive statistics need the model and the coder interleaved
per decision, so these tiles are not pushed onto the flow's constriction stack: the encoder
runs the model forward recording (probability, bit) and then codes the record backwards, the
decoder decodes forwards; one njit function per mode serves both directions.

Example:
    >>> import numpy as np
    >>> tile = np.zeros((64, 64, 3), np.uint8); tile[10:20, 5:50] = (200, 30, 30)
    >>> kind, payload, bits = encode_best(tile, rgb=True)
    >>> kind in (PALETTE, PREDICTIVE) and len(payload) < 40
    True
    >>> np.array_equal(decode(kind, payload, tile.shape, rgb=True), tile)
    True
"""

from __future__ import annotations

import zlib

import numba as nb
import numpy as np

from .directory import PALETTE, PREDICTIVE, STORED
from .errors import FormatError

MAX_PALETTE = 4096
MAX_PLANES = 8  # 4 channels of 2 bytes
_ONE = 1 << 16  # probability scale
_P_MIN = 16  # a probability never leaves [P_MIN, ONE - P_MIN]
_RATE_MAX = 7  # adaptation shift once a context has seen ~2**7 decisions
_KMAX = 10  # exponent classes of a residual: |e| < 2**11
_BLOCK = 48  # contexts of one residual distribution (see _residual)

_MIX_RATE = 6  # the mixer's learning rate (lpaq's 7; 2 to 16 measured within 0.1%)
_MIX_RATE_6 = 9  # format 6's (with 21 inputs, 4 / 14 measured +0.1% / +0.05%)
_MIX_KINDS = 2 + _KMAX + 4  # weight rows a residual uses: zero, sign, exponent, 3 mantissa kinds
_MIX_WEIGHT0 = (1 << 16) * 12 // 100  # each input's first weight (8 to 15% measured within 0.1%)
_MIX_WEIGHT0_6 = (1 << 16) * 9 // 100  # format 6's, for 16 inputs (7%: 0.01% more)
_LMS_TAPS = 12  # format 6's NLMS predictor: 10 causal neighbours, the previous plane's gradients
_LMS_MU = 4000  # its step, of 2**16 (3000 to 8000 measured within 0.01%)
# the logistic function at logits -8, -7.5, .. 8, of ONE (rounded); _squash interpolates it
_SQUASH = np.array(
    [
        22,
        36,
        60,
        98,
        162,
        267,
        439,
        720,
        1179,
        1921,
        3108,
        4971,
        7812,
        11955,
        17625,
        24743,
        32768,
        40793,
        47911,
        53581,
        57724,
        60565,
        62428,
        63615,
        64357,
        64816,
        65097,
        65269,
        65374,
        65438,
        65476,
        65500,
        65514,
    ],
    np.int64,
)
_SHIFT = np.array([min((c + 1).bit_length(), _RATE_MAX) for c in range(256)], np.int64)


# io slots (int64): mode (0 encode, 1 decode), decisions recorded, words read, error; the
# rANS state lives apart in xs (uint64[1])
_MODE, _COUNT, _POS, _ERR = 0, 1, 2, 3
_L = np.uint64(1) << np.uint64(32)


_BITLEN8 = np.array([v.bit_length() for v in range(256)], np.int64)


@nb.njit(cache=True, nogil=True, inline="always")
def _bitlen(v):
    """The bit length of ``v >= 0`` (a table a byte at a time: the coder's inner loop)."""
    n = 0
    while v >= 256:
        v >>= 8
        n += 8
    return n + _BITLEN8[v]


@nb.njit(cache=True, nogil=True, inline="always")
def _eq(a, b):
    return 1 if a == b else 0


@nb.njit(cache=True, nogil=True, inline="always")
def _code(p1, bit, io, xs, rec, words):
    """Code one binary decision of probability ``p1 / ONE`` of a 1: record it when encoding,
    decode it when decoding; returns the bit."""
    if io[_MODE] == 0:
        n = io[_COUNT]
        if n < rec.shape[0]:
            rec[n] = (p1 << 1) | bit
        io[_COUNT] = n + 1
        return bit
    x = xs[0]
    s = x & np.uint64(0xFFFF)
    f0 = np.uint64(_ONE - p1)
    if s >= f0:
        bit = 1
        x = np.uint64(p1) * (x >> np.uint64(16)) + s - f0
    else:
        bit = 0
        x = f0 * (x >> np.uint64(16)) + s
    if x < _L:
        pos = io[_POS]
        if pos < words.shape[0]:
            x = (x << np.uint64(32)) | np.uint64(words[pos])
            io[_POS] = pos + 1
        else:
            io[_ERR] = 1  # the stream is used up: stop at once
            x = _L
    xs[0] = x
    return bit


@nb.njit(cache=True, nogil=True, inline="always")
def _adapt(state, ctx, bit):
    """Move a context's probability towards ``bit`` by 1/count, then 1/2**RATE_MAX (a
    context's state is its probability << 8 | its count, one load for both)."""
    s = state[ctx]
    p1 = s >> 8
    c = s & 255
    shift = _SHIFT[c]
    if bit:
        p1 += (_ONE - p1) >> shift
        if p1 > _ONE - _P_MIN:
            p1 = _ONE - _P_MIN
    else:
        p1 -= p1 >> shift
        if p1 < _P_MIN:
            p1 = _P_MIN
    state[ctx] = (p1 << 8) | (c + 1 if c < 255 else c)


@nb.njit(cache=True, nogil=True, inline="always")
def _bit(state, ctx, bit, io, xs, rec, words):
    """Code one binary decision under context ``ctx``; returns the bit (given when encoding,
    decoded when decoding) and adapts the context's probability."""
    bit = _code(state[ctx] >> 8, bit, io, xs, rec, words)
    _adapt(state, ctx, bit)
    return bit


@nb.njit(cache=True, nogil=True, inline="always")
def _squash(d):
    """The logistic function: a logit ``d / 256`` (clamped to +-8) to a probability of ONE."""
    d = min(max(d, -2047), 2047)
    w = d & 127
    i = (d >> 7) + 16
    return (_SQUASH[i] * (128 - w) + _SQUASH[i + 1] * w + 64) >> 7


def _stretch_table() -> np.ndarray:
    """The inverse of :func:`_squash` on probabilities of 4096, built from its integers alone."""
    table = np.full(4096, 2047, np.int64)
    low = 0
    for d in range(-2047, 2048):
        top = int(_squash.py_func(d)) >> 4
        table[low : top + 1] = d
        low = max(low, top + 1)
    return table


_STRETCH = _stretch_table()


@nb.njit(cache=True, nogil=True, inline="always")
def _decision(state, ctxs, j, mix, ws, st, rate, bit, io, xs, rec, words):
    """Decision ``j`` of a residual's block. One context (``ctxs[0] + j``) when ``mix`` has no
    rows; else the contexts ``ctxs[i] + j`` mixed in the logistic domain by the weight row
    ``ws`` of ``mix``, trained online to the bit at ``rate`` (lpaq's mixer, Mahoney 2005),
    and each context adapted as alone."""
    if mix.shape[0] == 0:
        return _bit(state, ctxs[0] + j, bit, io, xs, rec, words)
    dot = 0
    for i in range(ctxs.shape[0]):
        s = _STRETCH[state[ctxs[i] + j] >> 12]
        st[i] = s
        dot += mix[ws, i] * s
    p1 = min(max(_squash(dot >> 16), _P_MIN), _ONE - _P_MIN)
    bit = _code(p1, bit, io, xs, rec, words)
    err = ((bit << 12) - (p1 >> 4)) * rate
    for i in range(ctxs.shape[0]):
        mix[ws, i] += (st[i] * err + 0x8000) >> 16
        _adapt(state, ctxs[i] + j, bit)
    return bit


@nb.njit(cache=True, nogil=True, inline="always")
def _residual(state, ctxs, mix, ws, st, rate, e, io, xs, rec, words):
    """An integer ``e`` (``|e| < 2**11``) as zero / sign / exponent in unary / mantissa bits,
    decision j of the block under the contexts ``ctxs + j`` (see :func:`_decision`; the
    mixer's weight row is ``ws`` plus the decision's kind)."""
    if _decision(state, ctxs, 0, mix, ws, st, rate, 1 if e == 0 else 0, io, xs, rec, words):
        return 0
    neg = _decision(state, ctxs, 1, mix, ws + 1, st, rate, 1 if e < 0 else 0, io, xs, rec, words)
    a = -e if e < 0 else e
    k_enc = _bitlen(a) - 1
    k = 0
    while k < _KMAX:
        if not _decision(
            state, ctxs, 2 + k, mix, ws + 2 + k, st, rate, 1 if k_enc > k else 0, io, xs, rec, words
        ):
            break
        k += 1
    v = 1
    for i in range(k - 1, -1, -1):
        if i == k - 1:
            j, kind = 2 + _KMAX + k, 1
        elif i == k - 2:
            j, kind = 2 + 2 * _KMAX + k, 2
        else:
            j, kind = 2 + 3 * _KMAX + 1, 3
        v = (v << 1) | _decision(
            state, ctxs, j, mix, ws + 2 + _KMAX + kind, st, rate, (a >> i) & 1, io, xs, rec, words
        )
    return -v if neg else v


@nb.njit(cache=True, nogil=True)
def _rans_encode(rec, n):
    """Code the recorded decisions ``rec[:n]`` backwards; returns the words (the final state
    first, so the decoder reads forwards) and the ideal code length in bits."""
    out = np.empty(n // 2 + 4, dtype=np.uint32)  # a decision emits at most 16 bits on average
    k = 0
    x = _L
    bits = 0.0
    for i in range(n - 1, -1, -1):
        p1 = np.uint64(rec[i] >> 1)
        if rec[i] & 1:
            f = p1
            c = np.uint64(_ONE) - p1
        else:
            f = np.uint64(_ONE) - p1
            c = np.uint64(0)
        bits += 16.0 - np.log2(np.float64(f))
        if x >= (f << np.uint64(48)):
            if k == out.shape[0]:
                grown = np.empty(2 * k, dtype=np.uint32)
                grown[:k] = out
                out = grown
            out[k] = np.uint32(x & np.uint64(0xFFFFFFFF))
            k += 1
            x >>= np.uint64(32)
        x = ((x // f) << np.uint64(16)) + (x % f) + c
    words = np.empty(k + 2, dtype=np.uint32)
    words[0] = np.uint32(x & np.uint64(0xFFFFFFFF))
    words[1] = np.uint32(x >> np.uint64(32))
    for j in range(k):
        words[2 + j] = out[k - 1 - j]
    return words, bits


# ---------------------------------------------------------------- palette mode

_MATCH_BITS = 18  # the match model's table: 2**18 positions
_MATCH_CLASSES = 8  # its length in classes: 0, 1, 2-3, 4-7, .. 64+
# the match flag's contexts: length class x neighbour pattern x previous hit x which of the
# distinct neighbours (none, the first, .. the sixth) has the match's pixel (M25: -8% on the
# generated documents' palette tiles against the first three alone)
_MATCH_CONTEXTS = _MATCH_CLASSES * 32 * 2 * 7
_PAL_FLAGS = 0  # 6 candidates x 32 patterns x 2 (previous pixel hit W)
_PAL_ENTRIES = _PAL_FLAGS + 6 * 32 * 2  # residual blocks of the palette entries, one a plane
_PAL_TREE = _PAL_ENTRIES + MAX_PLANES * _BLOCK  # binary tree of an index, 2 * MAX_PALETTE nodes
_PAL_MATCH = _PAL_TREE + 2 * MAX_PALETTE  # format 6: the match flag's contexts (_MATCH_CONTEXTS)
_PAL_CONTEXTS = _PAL_MATCH + _MATCH_CONTEXTS
_PAL_MATCHING = 0x8000  # format 6: the bit of the colour count's u16 that says so


@nb.njit(cache=True, nogil=True, inline="always")
def _match_key(v, y, x):
    """A hash of the causal neighbourhood of pixel (y, x) of (h, w, P) samples: W, WW, NW, N,
    NE, NEE (outside the tile a value no sample has), the key of the match model's table."""
    key = 0
    for dy, dx in ((0, -1), (0, -2), (-1, -1), (-1, 0), (-1, 1), (-1, 2)):
        yy, xx = y + dy, x + dx
        inside = yy >= 0 and 0 <= xx < v.shape[1]
        for p in range(v.shape[2]):
            s = v[yy, xx, p] if inside else -1000
            key = (key * 0x9E3779B1 + s + 1024) & 0xFFFFFFFFFFFF
    return (key * 0x1E35A7BD >> 16) & ((1 << _MATCH_BITS) - 1)


@nb.njit(cache=True, nogil=True, inline="always")
def _match_find(table, slot, pos, match, length):
    """The match that predicts the pixel at ``pos``: the one being followed, else the last
    position whose neighbourhood hashed to ``slot`` (length 0); the table then holds ``pos``."""
    if match < 0:
        match, length = table[slot], 0
    table[slot] = pos
    return match, length


@nb.njit(cache=True, nogil=True, inline="always")
def _match_follow(match, length, w, x):
    """After a hit at column ``x``: the match moves one pixel along the row, or ends with it."""
    if match % w + 1 < w and x + 1 < w:
        return match + 1, length + 1
    return -1, 0


@nb.njit(cache=True, nogil=True, inline="always")
def _match_context(length, pattern, prev, which):
    """The match flag's context (see :data:`_MATCH_CONTEXTS`); ``which`` is 0 when no distinct
    neighbour has the match's pixel, else 1 + its rank."""
    return ((min(_bitlen(length), _MATCH_CLASSES - 1) * 32 + pattern) * 2 + prev) * 7 + which


@nb.njit(cache=True, nogil=True)
def _palette_code(index, palette, ncolors, matching, io, xs, rec, words):
    """Code (or decode into) ``palette`` (ncolors, P) and the (h, w) ``index`` plane; with
    ``matching`` (format 6) each index is first predicted by a match model: the pixel after
    the last place whose neighbourhood hashed alike, followed along the row while it holds
    (lpaq's match model, Mahoney 2005, in two dimensions: repeated glyphs and widgets)."""
    state = np.full(_PAL_CONTEXTS, (_ONE // 2) << 8, dtype=np.int32)
    table = np.full((1 << _MATCH_BITS) if matching else 0, -1, np.int64)
    match, length = -1, 0  # the position that predicts this pixel, and how long it has held
    pixels = index.reshape(index.shape[0], index.shape[1], 1)
    h, w = index.shape
    planes = palette.shape[1]
    ctx, no_mix, st = np.zeros(1, np.int64), np.zeros((0, 1), np.int64), np.zeros(1, np.int64)
    for i in range(ncolors):  # sorted: the first plane never decreases
        for p in range(planes):
            prev = palette[i - 1, p] if i else 0
            ctx[0] = _PAL_ENTRIES + p * _BLOCK
            e = _residual(state, ctx, no_mix, 0, st, 0, palette[i, p] - prev, io, xs, rec, words)
            v = prev + e
            if v < 0 or v > 255:
                io[_ERR] = 1
                return
            palette[i, p] = v
    if ncolors == 1:
        index[:, :] = 0
        return
    nbits = _bitlen(ncolors - 1)
    cand = np.empty(6, dtype=np.int64)
    for y in range(h):
        if io[_ERR]:
            return
        prev_hit = 0
        for x in range(w):
            if y == 0 and x == 0:
                nb_w = nb_n = nb_nw = nb_ne = nb_ww = nb_nn = -1
            elif y == 0:
                nb_w = index[0, x - 1]
                nb_n = nb_nw = nb_ne = nb_nn = nb_w
                nb_ww = index[0, x - 2] if x > 1 else nb_w
            else:
                nb_n = index[y - 1, x]
                nb_w = index[y, x - 1] if x else nb_n
                nb_nw = index[y - 1, x - 1] if x else nb_n
                nb_ne = index[y - 1, x + 1] if x + 1 < w else nb_n
                nb_ww = index[y, x - 2] if x > 1 else nb_w
                nb_nn = index[y - 2, x] if y > 1 else nb_n
            pattern = (
                _eq(nb_w, nb_n)
                | (_eq(nb_w, nb_nw) << 1)
                | (_eq(nb_n, nb_ne) << 2)
                | (_eq(nb_n, nb_nw) << 3)
                | (_eq(nb_w, nb_ww) << 4)
            )
            nc = 0
            for v in (nb_w, nb_n, nb_nw, nb_ne, nb_ww, nb_nn):
                if v < 0:
                    continue
                seen = False
                for j in range(nc):
                    if cand[j] == v:
                        seen = True
                if not seen:
                    cand[nc] = v
                    nc += 1
            value = index[y, x]  # meaningful when encoding
            hit = -1
            predicted = -1
            if matching:
                match, length = _match_find(
                    table, _match_key(pixels, y, x), y * w + x, match, length
                )
                if match >= 0:
                    predicted = index[match // w, match % w]
                    which = 0
                    for j in range(nc):
                        if cand[j] == predicted:
                            which = j + 1
                    at = _PAL_MATCH + _match_context(length, pattern, prev_hit, which)
                    if _bit(state, at, 1 if value == predicted else 0, io, xs, rec, words):
                        hit = -2
                        value = predicted
            for j in range(nc if hit == -1 else 0):
                if cand[j] == predicted:
                    continue  # the match said no
                if _bit(
                    state,
                    _PAL_FLAGS + (j * 32 + pattern) * 2 + prev_hit,
                    1 if value == cand[j] else 0,
                    io,
                    xs,
                    rec,
                    words,
                ):
                    hit = j
                    break
            if hit >= 0:
                value = cand[hit]
            elif hit == -1:
                node = 1
                for i in range(nbits - 1, -1, -1):
                    node = (node << 1) | _bit(
                        state, _PAL_TREE + node, (value >> i) & 1, io, xs, rec, words
                    )
                value = node - (1 << nbits)
                if value >= ncolors:
                    io[_ERR] = 1
                    return
            index[y, x] = value
            prev_hit = 1 if hit == 0 else 0
            if matching:  # follow the match along the row while it holds
                match, length = _match_follow(match, length, w, x) if hit == -2 else (-1, 0)


# ---------------------------------------------------------------- predictive mode

_RUN_FLAGS = 0  # 6 candidates x 32 patterns x 2 (previous pixel copied from W)
_CACHE_BITS = 10
_CACHE_PLANES = 6  # a pixel's key is 9 bits a plane in an int64
_CACHE_FLAG = _RUN_FLAGS + 6 * 32 * 2  # 32 patterns
_CACHE_TREE = _CACHE_FLAG + 32
_RUN_MATCH = _CACHE_TREE + (2 << _CACHE_BITS)  # format 6: the match flag's contexts
_RES = _RUN_MATCH + _MATCH_CONTEXTS
_ACT_CLASSES, _E0_CLASSES = 10, 6
# the mixing coder's context sets for one plane's residual (sizes, in blocks); see _predictive_code
_MIX_SETS = (
    _ACT_CLASSES * _E0_CLASSES,  # A: gradient activity x earlier planes' residuals
    16 * _E0_CLASSES,  # B: residual energy around the pixel x earlier planes' residuals
    81,  # C: W and N residuals, signed
    8 * 4,  # D: intensity x activity (noise that depends on brightness)
    64 * 4,  # E: position in the 8x8 block (JPEG grids, chroma upsampling phase) x energy
    9 * 6,  # F: where the gradient and the mean predictors disagree with the one used
    81,  # G: the residuals of the previous and the first plane at this pixel, signed
    729,  # H: JPEG-LS's three quantised gradients
    81,  # I: NE and NW residuals, signed
    81,  # J: the first plane's gradients at this pixel (later planes), NN and WW residuals (first)
    4 * 81,  # K (format 5): the 2x2 phase (chroma upsampling, 2x upscales) x W and N residuals
    # format 6: where other predictors disagree with the one used (as paq8's image models do);
    # letters as in docs/experiments.md M23, where L, N and P were measured and left out
    81,  # M: N + NE - NNE and NE
    729,  # O: W, N and NW themselves
    81,  # Q: the quadratic extrapolations 3W - 3WW + WWW and 3N - 3NN + NNN (smooth upscales)
    81,  # R: the quadratic extrapolations along the two diagonals
    81,  # S: the mean of Q's two, finer (-40 .. 40)
    81,  # T: an online NLMS predictor's correction to the prediction, finer
    27 * 9,  # U: that correction x the NLMS predictor's error at the last pixel coded
)
_SETS_OF_MODEL = (0, 0, 0, 1, 10, 11, 18)  # sets computed by the predictive model of format N
# and those it mixes: format 6 leaves out A and F, which the others make up for (with L, N and
# P each 0.01-0.07% on the every4 subsets, together 0.2%, for a quarter of the mixer's work: M23)
_MIXED_OF_MODEL = {
    3: (0,),
    4: tuple(range(10)),
    5: tuple(range(11)),
    6: (1, 2, 3, 4, *range(6, 18)),
}
MODEL = 6  # the predictive model this flowzip writes
# a model's bits in a tile's options byte: each format's bit on top of the one before
_MODEL_BITS = {3: 0, 4: 32, 5: 32 | 64, 6: 32 | 64 | 128}
_MODEL_OF_BITS = {bits: model for model, bits in _MODEL_BITS.items()}
_MIX_OFFSETS = tuple(sum(_MIX_SETS[:i]) for i in range(len(_MIX_SETS)))
_MIX_PER_PLANE = sum(_MIX_SETS)


@nb.njit(cache=True, nogil=True, inline="always")
def _same(v, ny, nx, i, j):
    """1 if the pixels at neighbour slots i and j are equal in every plane."""
    for p in range(v.shape[2]):
        if v[ny[i], nx[i], p] != v[ny[j], nx[j], p]:
            return 0
    return 1


@nb.njit(cache=True, nogil=True, inline="always")
def _key(v, y, x):
    """A pixel packed 9 bits a plane (samples in -256 .. 255), up to :data:`_CACHE_PLANES`."""
    key = 0
    for p in range(v.shape[2]):
        key = (key << 9) | (v[y, x, p] + 256)
    return key


@nb.njit(cache=True, nogil=True, inline="always")
def _slot(key):
    return ((key * 0x1E35A7BD) >> 12) & ((1 << _CACHE_BITS) - 1)


@nb.njit(cache=True, nogil=True, inline="always")
def _med(a, b, c):
    """LOCO-I's median edge detector: W=a, N=b, NW=c."""
    if c >= max(a, b):
        return min(a, b)
    if c <= min(a, b):
        return max(a, b)
    return a + b - c


def _signed_classes(bounds: tuple[int, ...]) -> np.ndarray:
    """Class of -m .. m (m = bounds[-1]): 0 for 0, k for |e| <= bounds[k - 1], signed."""
    top = bounds[-1]
    classes = [
        0 if e == 0 else next(k for k, t in enumerate(bounds, 1) if abs(e) <= t)
        for e in range(-top, top + 1)
    ]
    return np.array(
        [q if e >= 0 else -q for e, q in zip(range(-top, top + 1), classes, strict=True)], np.int64
    )


# a residual's 9 signed classes (0, 1-2, 3-6, 7-14, 15+) and a gradient's (JPEG-LS's
# thresholds 3, 7, 21), as tables on the value clamped to the last class's start
_Q9 = _signed_classes((2, 6, 14, 15))
_Q9_GRADIENT = _signed_classes((2, 6, 20, 21))


@nb.njit(cache=True, nogil=True, inline="always")
def _q9(e):
    """A residual in 9 signed classes: 0, 1-2, 3-6, 7-14, 15+ (and their negatives)."""
    return _Q9[min(max(e, -15), 15) + 15]


@nb.njit(cache=True, nogil=True, inline="always")
def _q9_gradient(g):
    """A gradient in JPEG-LS's 9 signed classes (thresholds 3, 7, 21)."""
    return _Q9_GRADIENT[min(max(g, -21), 21) + 21]


@nb.njit(cache=True, nogil=True, inline="always")
def _at(v, y, x, p, default):
    """Sample (y, x) of plane p, or ``default`` outside the plane (above, left or right)."""
    return v[y, x, p] if y >= 0 and 0 <= x < v.shape[1] else default


@nb.njit(cache=True, nogil=True, inline="always")
def _q81(a, b):
    """Two signed differences as one of 81 classes."""
    return (_q9(a) + 4) * 9 + _q9(b) + 4


@nb.njit(cache=True, nogil=True, inline="always")
def _fine(e):
    """A difference in 81 classes, one a value from -40 to 40."""
    return min(max(e, -40), 40) + 40


@nb.njit(cache=True, nogil=True, inline="always")
def _other_predictors(ctxs, v, y, x, p, a, b, c, d, pred, base, lms_fix, lms_err):
    """Format 6's sets M .. U (see :data:`_MIX_SETS`): where other predictors, linear and
    quadratic extrapolations and an online NLMS predictor, disagree with ``pred``."""
    aa = _at(v, y, x - 2, p, a)
    bb = _at(v, y - 2, x, p, b)
    aaa = _at(v, y, x - 3, p, aa)
    bbb = _at(v, y - 3, x, p, bb)
    cc = _at(v, y - 2, x - 2, p, c)
    dd = _at(v, y - 2, x + 2, p, d)
    nne = _at(v, y - 2, x + 1, p, d)
    row = 3 * a - 3 * aa + aaa
    column = 3 * b - 3 * bb + bbb
    diagonal = 3 * c - 3 * cc + _at(v, y - 3, x - 3, p, cc)
    anti = 3 * d - 3 * dd + _at(v, y - 3, x + 3, p, dd)
    ctxs[11] = base + _MIX_OFFSETS[11] + _q81(b + d - nne - pred, d - pred)
    ctxs[12] = base + _MIX_OFFSETS[12] + _q81(a - pred, b - pred) * 9 + _q9(c - pred) + 4
    ctxs[13] = base + _MIX_OFFSETS[13] + _q81(row - pred, column - pred)
    ctxs[14] = base + _MIX_OFFSETS[14] + _q81(diagonal - pred, anti - pred)
    ctxs[15] = base + _MIX_OFFSETS[15] + _fine(((row + column + 1) >> 1) - pred)
    ctxs[16] = base + _MIX_OFFSETS[16] + _fine(lms_fix)
    ctxs[17] = base + _MIX_OFFSETS[17] + (min(max(lms_fix, -13), 13) + 13) * 9 + _q9(lms_err) + 4


@nb.njit(cache=True, nogil=True, inline="always")
def _nlms_inputs(lu, v, y, x, p, a, b, c, d, pred):
    """Fill the NLMS predictor's inputs (10 causal neighbours less the prediction, the
    previous plane's gradients at the pixel) and return their energy (plus 16)."""
    lu[0] = a - pred
    lu[1] = b - pred
    lu[2] = c - pred
    lu[3] = d - pred
    lu[4] = _at(v, y, x - 2, p, a) - pred
    lu[5] = _at(v, y - 2, x, p, b) - pred
    lu[6] = _at(v, y - 2, x + 1, p, d) - pred
    lu[7] = _at(v, y - 2, x - 1, p, c) - pred
    lu[8] = _at(v, y - 1, x - 2, p, c) - pred
    lu[9] = _at(v, y - 1, x + 2, p, d) - pred
    lu[10] = v[y, x, p - 1] - v[y, x - 1, p - 1] if p and x else 0
    lu[11] = v[y, x, p - 1] - v[y - 1, x, p - 1] if p and y else 0
    energy = 16
    for k in range(_LMS_TAPS):
        energy += lu[k] * lu[k]
    return energy


@nb.njit(cache=True, nogil=True, inline="always")
def _mix_contexts(
    ctxs, v, er, y, x, p, a, b, c, d, pred, level, act, e0, e_first, e_prev, lms_fix, lms_err
):
    """The first context of each set in :data:`_MIX_SETS` for sample (y, x, p); ``er`` holds
    the residuals coded so far (column x + 1 is pixel x), ``e_first`` / ``e_prev`` those of
    the first and the previous plane at this pixel; ``level`` the eighth of the plane's range
    that the prediction is in."""
    X = x + 1
    ew = er[p, y, X - 1]
    en = er[p, y - 1, X] if y else 0
    enw = er[p, y - 1, X - 1] if y else 0
    ene = er[p, y - 1, X + 1] if y else 0
    energy = min(_bitlen(abs(ew) + abs(en) + ((abs(enw) + abs(ene)) >> 1)), 15)
    base = p * _MIX_PER_PLANE
    ctxs[0] = base + min(act, _ACT_CLASSES - 1) * _E0_CLASSES + e0
    ctxs[1] = base + _MIX_OFFSETS[1] + energy * _E0_CLASSES + e0
    ctxs[2] = base + _MIX_OFFSETS[2] + (_q9(ew) + 4) * 9 + _q9(en) + 4
    ctxs[3] = base + _MIX_OFFSETS[3] + level * 4 + min(act >> 1, 3)
    ctxs[4] = base + _MIX_OFFSETS[4] + ((y & 7) * 8 + (x & 7)) * 4 + min(energy >> 1, 3)
    ctxs[5] = (
        base
        + _MIX_OFFSETS[5]
        + (_q9(a + b - c - pred) + 4) * 6
        + min(_q9(((a + b + c + d + 2) >> 2) - pred) + 4, 8) // 2
    )
    ctxs[6] = base + _MIX_OFFSETS[6] + (_q9(e_prev) + 4) * 9 + _q9(e_first) + 4
    ctxs[7] = (
        base
        + _MIX_OFFSETS[7]
        + ((_q9_gradient(d - b) + 4) * 9 + _q9_gradient(b - c) + 4) * 9
        + _q9_gradient(c - a)
        + 4
    )
    ctxs[8] = base + _MIX_OFFSETS[8] + (_q9(ene) + 4) * 9 + _q9(enw) + 4
    if p and x and y:
        ctxs[9] = (
            base
            + _MIX_OFFSETS[9]
            + (_q9_gradient(v[y, x, 0] - v[y, x - 1, 0]) + 4) * 9
            + _q9_gradient(v[y, x, 0] - v[y - 1, x, 0])
            + 4
        )
    else:
        enn = er[p, y - 2, X] if y > 1 else 0
        eww = er[p, y, X - 2] if x > 1 else 0
        ctxs[9] = base + _MIX_OFFSETS[9] + (_q9(enn) + 4) * 9 + _q9(eww) + 4
    if ctxs.shape[0] > 10:
        ctxs[10] = (
            base + _MIX_OFFSETS[10] + ((y & 1) * 2 + (x & 1)) * 81 + (_q9(ew) + 4) * 9 + _q9(en) + 4
        )
    if ctxs.shape[0] > 11:
        _other_predictors(ctxs, v, y, x, p, a, b, c, d, pred, base, lms_fix, lms_err)
    for i in range(ctxs.shape[0]):
        ctxs[i] = _RES + ctxs[i] * _BLOCK


@nb.njit(cache=True, nogil=True)
def _predictive_code(v, lo, hi, runs, predictor, model, mixed, io, xs, rec, words):
    """Code (or decode into) the (h, w, P) int32 samples ``v``, plane p in ``lo[p] .. hi[p]``.

    ``model``, the format that brought it: each residual bit under the context sets
    ``mixed`` (``_MIXED_OF_MODEL[model]``) of :data:`_MIX_SETS` mixed, ten in format 4, eleven
    in format 5, 16 of 18 in format 6 (with the NLMS predictor behind sets T and U and a
    faster mixer); in format 3 under set A alone."""
    h, w, planes = v.shape
    mixing = model >= 4
    size = _RES + planes * (_MIX_PER_PLANE if mixing else _ACT_CLASSES * _E0_CLASSES) * _BLOCK
    state = np.full(size, (_ONE // 2) << 8, dtype=np.int32)
    computed = np.zeros(_SETS_OF_MODEL[model], np.int64)
    ctxs = np.zeros(mixed.shape[0], np.int64)
    st = np.zeros(ctxs.shape[0], np.int64)
    rate, weight0 = (_MIX_RATE_6, _MIX_WEIGHT0_6) if model >= 6 else (_MIX_RATE, _MIX_WEIGHT0)
    mix = np.full((planes * 4 * _MIX_KINDS if mixing else 0, ctxs.shape[0]), weight0, np.int32)
    nlms = model >= 6
    lms_w = np.zeros((planes, _LMS_TAPS), np.int64)  # weights of 2**16
    lms_u = np.zeros(_LMS_TAPS, np.int64)
    lms_err = np.zeros(planes, np.int64)  # each plane's last error
    lms_energy = lms_fix = 0
    er = np.zeros((planes, h if mixing else 0, w + 2), np.int64)
    ny, nx = np.zeros(6, np.int64), np.zeros(6, np.int64)
    cand = np.zeros(6, np.int64)
    cache = np.full(1 << _CACHE_BITS, -1, np.int64)
    use_cache = runs and planes <= _CACHE_PLANES
    matching = runs and model >= 6  # format 6: the match model of palette mode, on pixels
    table = np.full((1 << _MATCH_BITS) if matching else 0, -1, np.int64)
    match, length = -1, 0  # as in palette mode
    intensity = np.zeros((planes, 512), np.int64)  # a table: no division per sample
    for p in range(planes):
        for i in range(hi[p] - lo[p] + 1):
            intensity[p, i] = i * 8 // (hi[p] - lo[p] + 1)
    for y in range(h):
        if io[_ERR]:
            return
        prev = 0
        for x in range(w):
            if runs and (x or y):
                # the whole pixel equal to one of its distinct causal neighbours, as in palette mode
                if y == 0:
                    ny[0], nx[0], ny[1], nx[1] = 0, x - 1, 0, x - 1
                    ny[2], nx[2], ny[3], nx[3] = 0, x - 1, 0, x - 1
                else:
                    ny[1], nx[1] = y - 1, x
                    ny[0], nx[0] = (y, x - 1) if x else (y - 1, x)
                    ny[2], nx[2] = (y - 1, x - 1) if x else (y - 1, x)
                    ny[3], nx[3] = (y - 1, x + 1) if x + 1 < w else (y - 1, x)
                ny[4], nx[4] = (y, x - 2) if x > 1 else (ny[0], nx[0])
                ny[5], nx[5] = (y - 2, x) if y > 1 else (ny[1], nx[1])
                pattern = (
                    _same(v, ny, nx, 0, 1)
                    | (_same(v, ny, nx, 0, 2) << 1)
                    | (_same(v, ny, nx, 1, 3) << 2)
                    | (_same(v, ny, nx, 1, 2) << 3)
                    | (_same(v, ny, nx, 0, 4) << 4)
                )
                nc = 0
                for j in range(6):
                    seen = False
                    for i in range(nc):
                        if _same(v, ny, nx, j, cand[i]):
                            seen = True
                            break
                    if not seen:
                        cand[nc] = j
                        nc += 1
                hit = -1
                if matching:  # the pixel after the last place whose neighbourhood hashed alike
                    match, length = _match_find(
                        table, _match_key(v, y, x), y * w + x, match, length
                    )
                    if match >= 0:
                        my, mx = match // w, match % w
                        equal = 1
                        for p in range(planes):
                            if v[y, x, p] != v[my, mx, p]:
                                equal = 0
                        which = 0
                        for i in range(nc):
                            j = cand[i]
                            same = 1
                            for p in range(planes):
                                if v[ny[j], nx[j], p] != v[my, mx, p]:
                                    same = 0
                            if same:
                                which = i + 1
                        at = _RUN_MATCH + _match_context(length, pattern, prev, which)
                        if _bit(state, at, equal, io, xs, rec, words):
                            for p in range(planes):
                                v[y, x, p] = v[my, mx, p]
                            prev = 0
                            match, length = _match_follow(match, length, w, x)
                            continue
                        if which:  # the match said no: skip the neighbour equal to its pixel
                            cand[which - 1] = -1
                        match = -1
                for i in range(nc):
                    j = cand[i]
                    if j < 0:
                        continue
                    equal = 1
                    for p in range(planes):
                        if v[y, x, p] != v[ny[j], nx[j], p]:
                            equal = 0
                    if _bit(
                        state,
                        _RUN_FLAGS + (i * 32 + pattern) * 2 + prev,
                        equal,
                        io,
                        xs,
                        rec,
                        words,
                    ):
                        hit = j
                        break
                if hit >= 0:
                    for p in range(planes):
                        v[y, x, p] = v[ny[hit], nx[hit], p]
                    prev = 1 if hit == 0 else 0
                    continue
                prev = 0
                # else a recently seen colour (WebP's colour cache: a hash of the pixel)
                if use_cache:
                    key = _key(v, y, x)
                    slot = _slot(key)
                    if _bit(
                        state,
                        _CACHE_FLAG + pattern,
                        1 if cache[slot] == key else 0,
                        io,
                        xs,
                        rec,
                        words,
                    ):
                        node = 1
                        for i in range(_CACHE_BITS - 1, -1, -1):
                            node = (node << 1) | _bit(
                                state, _CACHE_TREE + node, (slot >> i) & 1, io, xs, rec, words
                            )
                        key = cache[node - (1 << _CACHE_BITS)]
                        if key < 0:
                            io[_ERR] = 1
                            return
                        for p in range(planes - 1, -1, -1):
                            v[y, x, p] = (key & 511) - 256
                            key >>= 9
                        continue
            e0 = 0  # context of the planes after the first: the residuals before them
            esum = e_first = e_prev = 0
            for p in range(planes):
                if y == 0 and x == 0:
                    a = b = c = d = (lo[p] + hi[p] + 1) >> 1
                elif y == 0:
                    a = b = c = d = v[0, x - 1, p]
                else:
                    b = v[y - 1, x, p]
                    a = v[y, x - 1, p] if x else b
                    c = v[y - 1, x - 1, p] if x else b
                    d = v[y - 1, x + 1, p] if x + 1 < w else b
                if predictor == 0:
                    pred = _med(a, b, c)
                elif predictor == 1:  # noise on a smooth surface: the local mean
                    pred = (a + b + c + d + 2) >> 2
                elif predictor == 2 and model < 6:  # between the two: edges kept, noise halved
                    pred = (2 * _med(a, b, c) + a + b + c + d + 3) // 6
                elif predictor == 2:  # format 6: noise on a smooth surface, a wider mean (M27)
                    pred = (
                        2 * a
                        + 2 * b
                        + c
                        + d
                        + _at(v, y, x - 2, p, a)
                        + _at(v, y - 2, x, p, b)
                        + _at(v, y - 1, x + 2, p, d)
                        + _at(v, y - 1, x - 2, p, c)
                        + 5
                    ) // 10
                else:  # smooth gradients
                    pred = min(max(a + b - c, lo[p]), hi[p])
                act = _bitlen(abs(b - c) + abs(a - c) + abs(d - b))
                if nlms:
                    lms_energy = _nlms_inputs(lms_u, v, y, x, p, a, b, c, d, pred)
                    acc = 0
                    for k in range(_LMS_TAPS):
                        acc += lms_w[p, k] * lms_u[k]
                    lms_fix = (acc + 32768) >> 16
                if mixing:
                    _mix_contexts(
                        computed,
                        v,
                        er,
                        y,
                        x,
                        p,
                        a,
                        b,
                        c,
                        d,
                        pred,
                        intensity[p, pred - lo[p]],
                        act,
                        e0,
                        e_first,
                        e_prev,
                        lms_fix,
                        lms_err[p],
                    )
                    for k in range(mixed.shape[0]):
                        ctxs[k] = computed[mixed[k]]
                    ws = (p * 4 + min(act >> 2, 3)) * _MIX_KINDS
                else:
                    ctxs[0] = (
                        _RES
                        + ((p * _ACT_CLASSES + min(act, _ACT_CLASSES - 1)) * _E0_CLASSES + e0)
                        * _BLOCK
                    )
                    ws = 0
                e = _residual(state, ctxs, mix, ws, st, rate, v[y, x, p] - pred, io, xs, rec, words)
                s = pred + e
                if s < lo[p] or s > hi[p]:
                    io[_ERR] = 1
                    return
                v[y, x, p] = s
                if nlms:  # normalised LMS (Widrow-Hoff), in integers
                    lms_err[p] = e - lms_fix
                    step = (_LMS_MU * lms_err[p] << 16) // lms_energy  # one division a sample
                    for k in range(_LMS_TAPS):
                        lms_w[p, k] += (step * lms_u[k] + 32768) >> 16
                if mixing:
                    er[p, y, x + 1] = e
                    e_first = e if p == 0 else e_first
                    e_prev = e
                esum += abs(e)
                e0 = min(_bitlen(esum), _E0_CLASSES - 1)
            if use_cache:
                key = _key(v, y, x)
                cache[_slot(key)] = key


# ---------------------------------------------------------------- colour transforms

_TRANSFORMS = ("none", "subtract-green", "ycocg-r")


def _forward_colour(
    planes: np.ndarray, transform: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """int32 samples and per-plane ranges; the first three planes transformed."""
    v = planes.astype(np.int32)
    planes_n = v.shape[2]
    lo, hi = np.zeros(planes_n, np.int64), np.full(planes_n, 255, np.int64)
    if transform == 0:
        return v, lo, hi
    r, g, b = v[:, :, 0].copy(), v[:, :, 1].copy(), v[:, :, 2].copy()
    if transform == 1:
        v[:, :, 0], v[:, :, 1], v[:, :, 2] = g, r - g, b - g
        lo[1:3], hi[1:3] = -255, 255
    else:
        co = r - b
        t = b + (co >> 1)
        cg = g - t
        v[:, :, 0], v[:, :, 1], v[:, :, 2] = t + (cg >> 1), co, cg
        lo[1:3], hi[1:3] = -255, 255
    return v, lo, hi


def _inverse_colour(v: np.ndarray, transform: int) -> np.ndarray:
    if transform == 1:
        g = v[:, :, 0].copy()
        v[:, :, 0], v[:, :, 1], v[:, :, 2] = v[:, :, 1] + g, g, v[:, :, 2] + g
    elif transform == 2:
        y, co, cg = v[:, :, 0].copy(), v[:, :, 1].copy(), v[:, :, 2].copy()
        t = y - (cg >> 1)
        g = cg + t
        b = t - (co >> 1)
        v[:, :, 0], v[:, :, 1], v[:, :, 2] = b + co, g, b
    if v.min() < 0 or v.max() > 255:
        raise FormatError("corrupt data: classic tile out of range")
    return v.astype(np.uint8)


# ---------------------------------------------------------------- framing


def _encode_with(fn, *args) -> tuple[bytes, float]:
    """Run a model in encode mode (growing the record until it fits), then rANS."""
    # decisions: about 5 a sample on photos (3.9 M on a 512x512 RGB tile), 2 on graphics;
    # room for 8 runs the model once on all but noise, up to 32 MiB (then 4 a sample, as
    # format 4's first encoder reserved, and a second run where that is short)
    samples = max([a.size for a in args if isinstance(a, np.ndarray) and a.ndim >= 2] + [0])
    size = max(1 << 16, min(8 * samples, max(4 * samples, 1 << 23)))
    while True:
        rec = np.empty(size, dtype=np.uint32)
        io = np.zeros(4, dtype=np.int64)
        work = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
        fn(*work, io, np.zeros(1, np.uint64), rec, np.empty(0, np.uint32))
        n = int(io[_COUNT])
        if n <= size:
            words, bits = _rans_encode(rec, n)
            return words.astype("<u4").tobytes(), bits
        size = n


def _decode_with(fn, payload: bytes, *args) -> None:
    if len(payload) < 8 or len(payload) % 4:
        raise FormatError("corrupt data: classic tile stream")
    words = np.frombuffer(payload, dtype="<u4").astype(np.uint32)
    io = np.zeros(4, dtype=np.int64)
    io[_MODE], io[_POS] = 1, 2
    xs = np.array([int(words[0]) | (int(words[1]) << 32)], dtype=np.uint64)
    if xs[0] < _L:
        raise FormatError("corrupt data: classic tile stream")
    fn(*args, io, xs, np.empty(0, np.uint32), words)
    if io[_ERR] or xs[0] != _L or int(io[_POS]) != len(words):
        raise FormatError("corrupt data: classic tile stream does not decode")


def _palette_of(
    planes: np.ndarray, limit: int = MAX_PALETTE
) -> tuple[np.ndarray, np.ndarray] | None:
    h, w, p = planes.shape
    colors, index = np.unique(_packed(planes).ravel(), return_inverse=True)
    if colors.size > limit:
        return None
    palette = np.stack(
        [(colors >> np.uint64(8 * (p - 1 - i))) & np.uint64(0xFF) for i in range(p)], axis=1
    )
    return index.reshape(h, w).astype(np.int64), palette.astype(np.int64)


def _packed(planes: np.ndarray) -> np.ndarray:
    """Each pixel's bytes as one number (at most MAX_PLANES bytes: a uint64)."""
    packed = np.zeros(planes.shape[:2], dtype=np.uint64)
    for i in range(planes.shape[2]):
        packed = (packed << np.uint64(8)) | planes[:, :, i].astype(np.uint64)
    return packed


def _may_have_palette(planes: np.ndarray) -> bool:
    """False when a strided sample of the tile already has too many colours (a photo tile:
    no need to sort every pixel)."""
    packed = _packed(planes).ravel()
    return np.unique(packed[:: max(1, packed.size // 16384)]).size <= MAX_PALETTE


def encode_palette(planes: np.ndarray, matching: bool = True) -> tuple[bytes, float] | None:
    """The palette path's payload and ideal bits, or None if the tile has too many colours:
    the colour count less one (u16; bit 15 the match model, new in format 6), the stream."""
    found = _palette_of(planes)
    if found is None:
        return None
    index, palette = found
    body, bits = _encode_with(_palette_code, index, palette, len(palette), matching)
    count = (len(palette) - 1) | (_PAL_MATCHING if matching else 0)
    return count.to_bytes(2, "little") + body, bits + 16


def decode_palette(payload: bytes, shape: tuple[int, int, int]) -> np.ndarray:
    h, w, p = shape
    if len(payload) < 2:
        raise FormatError("corrupt data: classic tile stream")
    count = int.from_bytes(payload[:2], "little")
    matching = bool(count & _PAL_MATCHING)
    ncolors = (count & ~_PAL_MATCHING) + 1
    if ncolors > MAX_PALETTE:
        raise FormatError("corrupt data: palette too large")
    index = np.zeros((h, w), dtype=np.int64)
    palette = np.zeros((ncolors, p), dtype=np.int64)
    _decode_with(_palette_code, payload[2:], index, palette, ncolors, matching)
    return palette[index].astype(np.uint8)


def encode_predictive(
    planes: np.ndarray,
    transform: int,
    runs: bool,
    predictor: int = 0,
    model: int = MODEL,
) -> tuple[bytes, float]:
    """The predictive path's payload and ideal bits: an options byte (bits 0-1 the colour
    transform, 2 runs, 3-4 the predictor, then the model: bit 5 context mixing, new in format
    4, 6 the phase context set K, new in format 5, 7 the other predictors' sets M-U, new in
    format 6), then the stream. ``model`` is the format whose coder to use (3 to 6)."""
    if model not in _MODEL_BITS:
        raise ValueError(f"predictive model of format 3 to {MODEL}, not {model}")
    v, lo, hi = _forward_colour(planes, transform)
    mixed = np.array(_MIXED_OF_MODEL[model], np.int64)
    body, bits = _encode_with(_predictive_code, v, lo, hi, runs, predictor, model, mixed)
    options = transform | (runs << 2) | (predictor << 3) | _MODEL_BITS[model]
    return bytes([options]) + body, bits + 8


def decode_predictive(payload: bytes, shape: tuple[int, int, int], rgb: bool) -> np.ndarray:
    if not payload:
        raise FormatError("corrupt data: classic tile stream")
    options = payload[0]
    transform, runs, predictor = options & 3, bool(options & 4), (options >> 3) & 3
    model = _MODEL_OF_BITS.get(options & 0xE0)
    if model is None or transform >= len(_TRANSFORMS) or (transform and not rgb):
        raise FormatError("corrupt data: unknown classic tile options")
    v = np.zeros(shape, dtype=np.int32)
    _, lo, hi = _forward_colour(np.zeros((1, 1, shape[2]), np.uint8), transform)
    mixed = np.array(_MIXED_OF_MODEL[model], np.int64)
    _decode_with(_predictive_code, payload[1:], v, lo, hi, runs, predictor, model, mixed)
    return _inverse_colour(v, transform)


# ---------------------------------------------------------------- stored floor


def _png_filter(planes: np.ndarray, fixed: int | None = None) -> bytes:
    """PNG's five row filters (bpp = planes): the one ``fixed`` for every row, or per row the
    smallest sum of |bytes| (libpng's heuristic)."""
    h, w, p = planes.shape
    a = planes.reshape(h, w * p).astype(np.int16)
    left = np.zeros_like(a)
    left[:, p:] = a[:, :-p]
    up = np.zeros_like(a)
    up[1:] = a[:-1]
    upleft = np.zeros_like(a)
    upleft[1:, p:] = a[:-1, :-p]
    pa, pb, pc = np.abs(up - upleft), np.abs(left - upleft), np.abs(left + up - 2 * upleft)
    paeth = np.where((pa <= pb) & (pa <= pc), left, np.where(pb <= pc, up, upleft))
    candidates = np.stack([a, a - left, a - up, a - ((left + up) >> 1), a - paeth]).astype(np.uint8)
    if fixed is None:
        choice = np.abs(candidates.astype(np.int8).astype(np.int16)).sum(axis=2).argmin(axis=0)
    else:
        choice = np.full(h, fixed)
    rows = candidates[choice, np.arange(h)]
    return np.concatenate([choice.astype(np.uint8)[:, None], rows], axis=1).tobytes()


def _deflate(data: bytes, strategy: int) -> bytes:
    z = zlib.compressobj(9, zlib.DEFLATED, 15, 9, strategy)
    return z.compress(data) + z.flush()


@nb.njit(cache=True, nogil=True)
def _png_unfilter(rows, p):
    h, n = rows.shape[0], rows.shape[1] - 1
    out = np.zeros((h, n), dtype=np.uint8)
    for y in range(h):
        f = rows[y, 0]
        if f > 4:
            return out, False
        for i in range(n):
            left = int(out[y, i - p]) if i >= p else 0
            up = int(out[y - 1, i]) if y else 0
            ul = int(out[y - 1, i - p]) if y and i >= p else 0
            if f == 0:
                pred = 0
            elif f == 1:
                pred = left
            elif f == 2:
                pred = up
            elif f == 3:
                pred = (left + up) >> 1
            else:
                pa, pb, pc = abs(up - ul), abs(left - ul), abs(left + up - 2 * ul)
                pred = left if pa <= pb and pa <= pc else (up if pb <= pc else ul)
            out[y, i] = (np.int32(rows[y, 1 + i]) + pred) & 0xFF
    return out, True


def encode_stored(planes: np.ndarray, beat: int | None = None) -> bytes:
    """Raw planes (first byte 0) or PNG-filtered and deflated (first byte 1), the smallest.

    Filtered rows are deflated with the per-row filter heuristic; when that comes within 5%
    of ``beat`` (the best other path's size) the encoder also tries Paeth on every row and
    zlib's filtered strategy, which win on some renders (dev-graphics' mandala: 52.1 KB
    against 55.9 KB and Pillow's 53.0 KB) but are not worth their time elsewhere.
    """
    raw = b"\x00" + np.ascontiguousarray(planes).tobytes()
    best = b"\x01" + _deflate(_png_filter(planes), zlib.Z_DEFAULT_STRATEGY)
    if beat is None or len(best) < 1.05 * beat:
        for fixed, strategy in (
            (None, zlib.Z_FILTERED),
            (4, zlib.Z_FILTERED),
            (4, zlib.Z_DEFAULT_STRATEGY),
        ):
            packed = b"\x01" + _deflate(_png_filter(planes, fixed), strategy)
            if len(packed) < len(best):
                best = packed
    return best if len(best) < len(raw) else raw


def decode_stored(payload: bytes, shape: tuple[int, int, int]) -> np.ndarray:
    h, w, p = shape
    if payload[:1] == b"\x00" and len(payload) == 1 + h * w * p:
        return np.frombuffer(payload, np.uint8, offset=1).reshape(shape).copy()
    if payload[:1] == b"\x01":
        d = zlib.decompressobj()
        try:
            rows = d.decompress(payload[1:], h * (w * p + 1))  # never more than the tile holds
        except zlib.error:
            raise FormatError("corrupt data: stored tile does not inflate") from None
        if len(rows) == h * (w * p + 1) and d.eof and not d.unused_data and not d.unconsumed_tail:
            out, ok = _png_unfilter(np.frombuffer(rows, np.uint8).reshape(h, w * p + 1), p)
            if ok:
                return out.reshape(shape)
    raise FormatError("corrupt data: stored tile")


# ---------------------------------------------------------------- choice


def _transform_for(planes: np.ndarray) -> int:
    """The colour transform whose MED-free gradient residuals are smallest (a cheap estimate
    on a subsample; the coder itself is exact whichever is picked)."""
    best, best_cost = 0, None
    sample = planes[::2, ::2] if planes.shape[0] * planes.shape[1] > 4096 else planes
    for t in range(len(_TRANSFORMS)):
        v, _, _ = _forward_colour(sample, t)
        d = np.abs(np.diff(v, axis=1)).astype(np.int64) + 1
        cost = float(np.log2(d).sum())
        if best_cost is None or cost < best_cost:
            best, best_cost = t, cost
    return best


def _predictor_for(planes: np.ndarray, transform: int) -> int:
    """The predictor whose residuals look cheapest (sum of log2(|e| + 1) on a subsample)."""
    sample = planes[:256:1, :256] if planes.shape[0] > 4 and planes.shape[1] > 4 else None
    if sample is None:
        return 0
    v = _forward_colour(sample, transform)[0].astype(np.int64)
    x, a, b, c, d = v[2:, 2:-2], v[2:, 1:-3], v[1:-1, 2:-2], v[1:-1, 1:-3], v[1:-1, 3:-1]
    ww, nn, nee, nww = v[2:, :-4], v[:-2, 2:-2], v[1:-1, 4:], v[1:-1, :-4]
    med = np.where(
        c >= np.maximum(a, b),
        np.minimum(a, b),
        np.where(c <= np.minimum(a, b), np.maximum(a, b), a + b - c),
    )
    wide = (2 * a + 2 * b + c + d + ww + nn + nee + nww + 5) // 10  # format 6's predictor 2
    preds = (med, (a + b + c + d + 2) >> 2, wide, a + b - c)
    costs = [float(np.log2(np.abs(x - q) + 1).sum()) for q in preds]
    return int(np.argmin(costs))


_RUNS_MIN_REPEATS = 0.1
# up to this share of repeats a band of rows decides runs or not where the two differ by
# the margin (M18: on dev's 16 such tiles the band's ratio was within 0.09 of the tile's)
_RUNS_TRIAL_REPEATS, _RUNS_TRIAL_BAND, _RUNS_TRIAL_MARGIN = 0.5, 64, 1.05


def _payload_size(coded: tuple[bytes, float]) -> int:
    return len(coded[0])


def _runs_trial(
    planes: np.ndarray, repeats: float, transform: int, predictor: int
) -> tuple[bool, ...]:
    """Which of without / with the neighbour flags to code the tile with: both, unless the
    tile has few ``repeats`` (the share of pixels equal to their left neighbour) and is tall
    enough for a band of a quarter of its rows at most to show one way clearly smaller."""
    h = planes.shape[0]
    if repeats > _RUNS_TRIAL_REPEATS or h < 4 * _RUNS_TRIAL_BAND:
        return (False, True)
    top = (h - _RUNS_TRIAL_BAND) // 2
    band = np.ascontiguousarray(planes[top : top + _RUNS_TRIAL_BAND])
    plain, runs = (len(encode_predictive(band, transform, w, predictor)[0]) for w in (False, True))
    if runs > _RUNS_TRIAL_MARGIN * plain:
        return (False,)
    if plain > _RUNS_TRIAL_MARGIN * runs:
        return (True,)
    return (False, True)


def candidates(planes: np.ndarray, rgb: bool, palette: bool = True):
    """``(kind, payload, ideal bits)`` of every classic path worth trying on this tile (the
    palette path only if ``palette``: a caller may know it cannot win)."""
    if not 1 <= planes.shape[2] <= MAX_PLANES:
        raise ValueError(f"a tile of 1 to {MAX_PLANES} planes, not {planes.shape[2]}")
    found = encode_palette(planes) if palette and _may_have_palette(planes) else None
    if found is not None:
        yield (PALETTE, *found)
    transform = _transform_for(planes) if rgb and planes.shape[2] >= 3 else 0
    repeats = (
        float(np.mean(np.all(planes[:, 1:] == planes[:, :-1], axis=2)))
        if planes.shape[1] > 1
        else 0.0
    )
    predictor = _predictor_for(planes, transform)
    # neighbour flags and the colour cache pay where pixels repeat (graphics: 61% or more of
    # horizontal neighbours equal in 95% of dev-graphics tiles, photos: 4% in the median dev
    # tile), but not always there: on set14 foreman (27% repeats) they cost 19%, so with
    # repeats the tile is coded both ways, or, with few repeats, the way a band of rows
    # across its middle says where that is clear (docs/experiments.md M18)
    runs = repeats > _RUNS_MIN_REPEATS
    ways = _runs_trial(planes, repeats, transform, predictor) if runs else (False,)
    predictive: tuple[bytes, float] | None = None
    for way in ways:
        coded = encode_predictive(planes, transform, way, predictor)
        yield (PREDICTIVE, *coded)
        predictive = coded if predictive is None else min(predictive, coded, key=_payload_size)
    # the floor wins only on noise (a context coder above 6 bpsp) or where deflate finds
    # repeats; a photo tile is neither, and skipping it keeps the flow's encode time
    assert predictive is not None  # ways is never empty
    if found is not None or runs or 8 * len(predictive[0]) > 6 * planes.size:
        beat = len(predictive[0]) if found is None else min(len(found[0]), len(predictive[0]))
        stored = encode_stored(planes, beat)
        yield STORED, stored, 8.0 * len(stored)


def predictive_bits(planes: np.ndarray, rgb: bool) -> float:
    """The predictive coder's ideal bits on these planes (transform and predictor chosen as
    for a tile, no neighbour flags): the encoder's yardstick on a crop of a tile."""
    transform = _transform_for(planes) if rgb and planes.shape[2] >= 3 else 0
    return encode_predictive(planes, transform, False, _predictor_for(planes, transform))[1]


def encode_best(planes: np.ndarray, rgb: bool, palette: bool = True) -> tuple[int, bytes, float]:
    """The smallest classic path for one tile: ``(kind, payload, ideal bits)``."""
    return min(candidates(planes, rgb, palette), key=lambda c: len(c[1]))


def decode(kind: int, payload: bytes, shape: tuple[int, int, int], rgb: bool) -> np.ndarray:
    """The (h, w, P) uint8 planes of a tile coded by :func:`encode_best`."""
    if not 1 <= shape[2] <= MAX_PLANES:
        raise FormatError("corrupt data: too many planes for a classic tile")
    if kind == PALETTE:
        return decode_palette(payload, shape)
    if kind == PREDICTIVE:
        return decode_predictive(payload, shape, rgb)
    if kind == STORED:
        return decode_stored(payload, shape)
    raise FormatError(f"corrupt data: unknown tile kind {kind}")
