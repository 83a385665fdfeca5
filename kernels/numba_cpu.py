"""numba CPU kernels: the integer flow's hot paths compiled for the machine's cores.

Integer arithmetic is exact, so these give the reference's integers by construction; what
needs care is the width. Each layer first bounds its accumulator (the bound every backend
checks, see :meth:`~flowzip.flows.intnet.IntConvLayer.accumulator_bound`); below 2**30 it
runs on int32 (twice the SIMD lanes of int64 and room for the rounding offset), otherwise
on int64. Activations stay channels-last (H, W, C) between the layers of a network, padded
with zeros for the next layer's kernel, and a layer's requantization and ReLU run in the
same pass as its convolution. The scale layers' modular scale transform runs as one pass
over a chunk with its range check fused in.

Convolutions pick one of two loop orders: with many output channels the innermost loop runs
over them (a vector of accumulators per pixel), with few it is a dot product over the input
channels. Rows are spread over threads with ``prange``; ``cache=True`` keeps the compiled
code on disk (beside this file, or numba's user cache directory when that is read-only), so
only the first run on a machine pays the compile time.

Example:
    >>> import numpy as np, torch
    >>> from flowzip.flows.intnet import IntConvLayer
    >>> layer = IntConvLayer(np.ones((1, 1, 3, 3), np.int64), np.zeros(1, np.int64), 0)
    >>> BACKEND.run_net(BACKEND.prepare_net([layer]), torch.ones(1, 1, 2, 2, dtype=torch.int64)).tolist()
    [[[[4, 4], [4, 4]]]]
"""

from __future__ import annotations

import numba as nb
import numpy as np
import torch

from flowzip.errors import FormatError
from flowzip.mst import MST_RANGE_ERROR, MST_VALUE_LIMIT, SCALE_DENOM, SCALE_DENOM_BITS

from ._channels_last import ChannelsLastRunner, requantize

INT32_LIMIT = 2**30  # accumulator bound below which int32 is exact, rounding offset included

_requantize = nb.njit(inline="always", cache=True)(requantize)


@nb.njit(parallel=True, cache=True, nogil=True)
def _conv_wide(a, w, b, shift, relu, out, pad_out, row_max):
    """out[y+p, x+p, :] = epilogue(b + sum w[ky, kx, ci, :] * a[y+ky, x+kx, ci]); w is (k, k, Ci, Co)."""
    k, ci_n, co_n = w.shape[0], w.shape[2], w.shape[3]
    h, wd = a.shape[0] - k + 1, a.shape[1] - k + 1
    for y in nb.prange(h):
        acc = np.empty(co_n, a.dtype)
        m = 0
        for x in range(wd):
            for co in range(co_n):
                acc[co] = b[co]
            for ky in range(k):
                for kx in range(k):
                    for ci in range(ci_n):
                        v = a[y + ky, x + kx, ci]
                        for co in range(co_n):
                            acc[co] += v * w[ky, kx, ci, co]
            for co in range(co_n):
                r = _requantize(acc[co], shift, relu)
                out[y + pad_out, x + pad_out, co] = r
                m = max(m, abs(r))
        row_max[y] = m


@nb.njit(parallel=True, cache=True, nogil=True)
def _conv_narrow(a, w, b, shift, relu, out, pad_out, row_max):
    """As :func:`_conv_wide` with w as (Co, k, k, Ci): a dot product per output channel."""
    co_n, k, ci_n = w.shape[0], w.shape[1], w.shape[3]
    h, wd = a.shape[0] - k + 1, a.shape[1] - k + 1
    for y in nb.prange(h):
        m = 0
        for x in range(wd):
            for co in range(co_n):
                r = b[co]
                for ky in range(k):
                    for kx in range(k):
                        for ci in range(ci_n):
                            r += a[y + ky, x + kx, ci] * w[co, ky, kx, ci]
                r = _requantize(r, shift, relu)
                out[y + pad_out, x + pad_out, co] = r
                m = max(m, abs(r))
        row_max[y] = m


@nb.njit(parallel=True, cache=True, nogil=True)
def _lift_forward(x, mat, frac_bits, out):
    """out = x + round(M x / 2**frac_bits) per pixel; x and out are (N, C, H, W) int64."""
    n_, c_n, h, wd = x.shape
    half = 1 << (frac_bits - 1)
    for row in nb.prange(n_ * h):
        n, y = row // h, row % h
        s = np.empty(wd, np.int64)
        for i in range(c_n):
            s[:] = half
            for j in range(c_n):
                m = mat[i, j]
                if m != 0:
                    for xx in range(wd):
                        s[xx] += m * x[n, j, y, xx]
            for xx in range(wd):
                out[n, i, y, xx] = x[n, i, y, xx] + (s[xx] >> frac_bits)


@nb.njit(parallel=True, cache=True, nogil=True)
def _lift_inverse(y_in, mat, frac_bits, lower, out):
    """Undo :func:`_lift_forward` for a strictly lower (or upper) triangular M: channels in
    dependency order, each from the ones already restored (``out`` is written in place)."""
    n_, c_n, h, wd = y_in.shape
    half = 1 << (frac_bits - 1)
    for row in nb.prange(n_ * h):
        n, y = row // h, row % h
        s = np.empty(wd, np.int64)
        for step in range(c_n):
            i = step if lower else c_n - 1 - step
            s[:] = half
            for j in range(c_n):
                m = mat[i, j]
                if m != 0:  # only restored channels have m != 0 (M is strictly triangular)
                    for xx in range(wd):
                        s[xx] += m * out[n, j, y, xx]
            for xx in range(wd):
                out[n, i, y, xx] = y_in[n, i, y, xx] - (s[xx] >> frac_bits)


# The modular scale transform (flowzip.mst.mst_forward, mst_inverse) in one pass per chunk,
# the range check fused in, in place of torch's five elementwise passes: idf-bb-v4
# compresses 0.394 Mpx/s against 0.348 (decompresses 0.414 against 0.401) on the speed
# crop. numba's >>, &, // and % floor on negative integers, as the formulas do.
@nb.njit(cache=True, nogil=True)
def _mst_forward(x, r_d, numer, limit):
    y = np.empty_like(x)
    r_e = np.empty_like(x)
    for i in range(x.size):
        if not -limit < x[i] < limit:
            return y, r_e, False
        v = numer[i] * x[i] + r_d[i]
        y[i] = v >> SCALE_DENOM_BITS
        r_e[i] = v & (SCALE_DENOM - 1)
    return y, r_e, True


@nb.njit(cache=True, nogil=True)
def _mst_inverse(y, r_e, numer, limit):
    x = np.empty_like(y)
    r_d = np.empty_like(y)
    for i in range(y.size):
        if not -limit < y[i] < limit:
            return x, r_d, False
        v = (y[i] << SCALE_DENOM_BITS) + r_e[i]
        x[i] = v // numer[i]
        r_d[i] = v % numer[i]
    return x, r_d, True


def _flat(t) -> np.ndarray:
    return np.ascontiguousarray(np.asarray(t), dtype=np.int64).reshape(-1)


def _fused(
    kernel, a: torch.Tensor, b: torch.Tensor, numer: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    out, rest, ok = kernel(_flat(a), _flat(b), _flat(numer), MST_VALUE_LIMIT)
    if not ok:
        raise FormatError(MST_RANGE_ERROR)
    return torch.from_numpy(out).view(a.shape), torch.from_numpy(rest).view(a.shape)


def mst_forward(
    x: torch.Tensor, r_d: torch.Tensor, numer: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`flowzip.mst.mst_forward` in one compiled pass."""
    return _fused(_mst_forward, x, r_d, numer)


def mst_inverse(
    y: torch.Tensor, r_e: torch.Tensor, numer: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`flowzip.mst.mst_inverse` in one compiled pass."""
    return _fused(_mst_inverse, y, r_e, numer)


class NumbaBackend(ChannelsLastRunner):
    name = "numba"
    dtypes = (np.int32, np.int64)
    # Up to 7 outputs a dot product per output; from 8 the wide order, whose time depends on
    # how the output count splits into vectors (64 inputs, 3x3, 256x256: 6 outputs take 250 ms
    # wide, 36 ms narrow, 18 ms padded to 8). So a net's last layer of 5-7 outputs is padded to
    # 8 and runs wide (bench/speed_memory.py profile); 1-4 stay narrow, where that is faster.
    narrow_max_out = 7

    def padded_outputs(self, out_channels: int) -> int:
        return 8 if 5 <= out_channels < 8 else out_channels

    def accumulator_dtype(self, bound: int):
        return np.int32 if bound < INT32_LIMIT else np.int64

    def upload(self, host: np.ndarray) -> np.ndarray:
        return host

    def download(self, a: np.ndarray) -> np.ndarray:
        return a

    def cast(self, a: np.ndarray, dtype) -> np.ndarray:
        return a.astype(dtype, copy=False)

    def conv(self, p, a, dtype, shift, relu, pad_out):
        h, w = a.shape[0] - p.k + 1, a.shape[1] - p.k + 1
        out = np.zeros((h + 2 * pad_out, w + 2 * pad_out, p.out_channels), dtype)
        row_max = np.zeros(h, np.int64)
        kernel = _conv_wide if p.wide else _conv_narrow
        kernel(a, p.weights[dtype], p.biases[dtype], shift, relu, out, pad_out, row_max)
        return out, int(row_max.max(initial=0))

    @staticmethod
    def lift_forward(x: torch.Tensor, mat: torch.Tensor, frac_bits: int) -> torch.Tensor:
        """y = x + round(M x / 2**frac_bits) per pixel, M strictly triangular (int64 in/out)."""
        xa = np.ascontiguousarray(x.numpy())
        out = np.empty_like(xa)
        _lift_forward(xa, np.ascontiguousarray(mat.numpy()), frac_bits, out)
        return torch.from_numpy(out)

    @staticmethod
    def lift_inverse(
        y: torch.Tensor, mat: torch.Tensor, frac_bits: int, lower: bool
    ) -> torch.Tensor:
        """Undo :meth:`lift_forward`."""
        ya = np.ascontiguousarray(y.numpy())
        out = np.empty_like(ya)
        _lift_inverse(ya, np.ascontiguousarray(mat.numpy()), frac_bits, lower, out)
        return torch.from_numpy(out)

    mst_forward = staticmethod(mst_forward)
    mst_inverse = staticmethod(mst_inverse)


BACKEND = NumbaBackend()
