"""numba-cuda kernels: the same integer operations as :mod:`flowzip.kernels.numba_cpu`, one
GPU thread per output value (convolutions) or per pixel (lifting steps).

Imported only when the ``cuda`` backend is selected; needs the optional ``numba-cuda``
package and a CUDA GPU, or numba's CUDA simulator (``NUMBA_ENABLE_CUDASIM=1``), which is
how the tests run these kernels on machines without a GPU. Accumulators are int64 on the
device (no narrowing: the simulator cannot show whether int32 would pay on real hardware).
An integer network's activations stay on the device between its layers; the lifting steps
copy their (small) inputs over and back. The modular scale transform of the scale layers is
the numba CPU backend's: elementwise work on a chunk the coder holds on the host, where a
copy to the device and back would cost more than the arithmetic.

Example (on the simulator)::

    NUMBA_ENABLE_CUDASIM=1 flowzip compress --backend cuda small.png
"""

# numba-cuda types its device intrinsics (cuda.grid) for its own compiler, not for a Python
# call, and sets numba.config's attributes at run time: mypy cannot follow either
# mypy: disable-error-code="call-arg,var-annotated,attr-defined"

from __future__ import annotations

import functools

import numpy as np
import torch

from flowzip.errors import BackendUnavailableError

from ._channels_last import ChannelsLastRunner, requantize
from .numba_cpu import mst_forward, mst_inverse

try:
    from numba import config, cuda
except ImportError as e:  # pragma: no cover - depends on the install
    raise BackendUnavailableError(
        f'the cuda backend needs numba-cuda: pip install "flowzip[cuda]" ({e})'
    ) from None

_requantize = cuda.jit(device=True)(requantize)
THREADS_2D = (16, 16)
THREADS_3D = (8, 8, 4)


def _blocks(shape, threads):
    return tuple((s + t - 1) // t for s, t in zip(shape, threads, strict=True))


@functools.cache
def load_backend():
    """The cuda backend, or :class:`BackendUnavailableError` saying what is missing."""
    if not (config.ENABLE_CUDASIM or cuda.is_available()):
        raise BackendUnavailableError(
            "the cuda backend found no CUDA GPU (NUMBA_ENABLE_CUDASIM=1 runs it on the simulator)"
        )
    return CudaBackend()


@cuda.jit
def conv_layer(a, w, b, shift, relu, out, pad_out, max_abs):
    """out[y+p, x+p, co] = epilogue(b[co] + sum w[ky, kx, ci, co] * a[y+ky, x+kx, ci])."""
    x, y, co = cuda.grid(3)
    k, ci_n, co_n = w.shape[0], w.shape[2], w.shape[3]
    h, wd = a.shape[0] - k + 1, a.shape[1] - k + 1
    if x >= wd or y >= h or co >= co_n:
        return
    r = b[co]
    for ky in range(k):
        for kx in range(k):
            for ci in range(ci_n):
                r += a[y + ky, x + kx, ci] * w[ky, kx, ci, co]
    r = _requantize(r, shift, relu)
    out[y + pad_out, x + pad_out, co] = r
    cuda.atomic.max(max_abs, 0, abs(r))


@cuda.jit
def lift_forward(x_in, mat, frac_bits, out):
    """out = x + round(M x / 2**frac_bits) at pixel (n, y, x); arrays (N, C, H, W)."""
    xx, row = cuda.grid(2)
    n_, c_n, h, wd = x_in.shape
    if xx >= wd or row >= n_ * h:
        return
    n, y = row // h, row % h
    half = 1 << (frac_bits - 1)
    for i in range(c_n):
        s = half
        for j in range(c_n):
            s += mat[i, j] * x_in[n, j, y, xx]
        out[n, i, y, xx] = x_in[n, i, y, xx] + (s >> frac_bits)


@cuda.jit
def lift_inverse(y_in, mat, frac_bits, lower, out):
    """Undo ``lift_forward`` at one pixel, channels in dependency order."""
    xx, row = cuda.grid(2)
    n_, c_n, h, wd = y_in.shape
    if xx >= wd or row >= n_ * h:
        return
    n, y = row // h, row % h
    half = 1 << (frac_bits - 1)
    for step in range(c_n):
        i = step if lower else c_n - 1 - step
        s = half
        lo, hi = (0, i) if lower else (i + 1, c_n)
        for j in range(lo, hi):
            s += mat[i, j] * out[n, j, y, xx]
        out[n, i, y, xx] = y_in[n, i, y, xx] - (s >> frac_bits)


class CudaBackend(ChannelsLastRunner):
    name = "cuda"
    # narrow_max_out = 0: every layer (k, k, Ci, Co), so neighbouring threads read neighbouring weights

    def upload(self, host):
        return cuda.to_device(np.ascontiguousarray(host))

    def download(self, a):
        return a.copy_to_host()

    def cast(self, a, dtype):
        return a  # int64 throughout

    def conv(self, p, a, dtype, shift, relu, pad_out):
        h, w = a.shape[0] - p.k + 1, a.shape[1] - p.k + 1
        co = p.out_channels
        out = cuda.to_device(np.zeros((h + 2 * pad_out, w + 2 * pad_out, co), np.int64))
        max_abs = cuda.to_device(np.zeros(1, np.int64))
        conv_layer[_blocks((w, h, co), THREADS_3D), THREADS_3D](
            a, p.weights[np.int64], p.biases[np.int64], shift, relu, out, pad_out, max_abs
        )
        return out, int(max_abs.copy_to_host()[0])

    @staticmethod
    def _lift(kernel, x: torch.Tensor, mat: torch.Tensor, *args) -> torch.Tensor:
        n, _, h, w = x.shape
        xd = cuda.to_device(np.ascontiguousarray(x.numpy()))
        out = cuda.device_array_like(xd)
        kernel[_blocks((w, n * h), THREADS_2D), THREADS_2D](
            xd, cuda.to_device(np.ascontiguousarray(mat.numpy())), *args, out
        )
        return torch.from_numpy(out.copy_to_host())

    def lift_forward(self, x: torch.Tensor, mat: torch.Tensor, frac_bits: int) -> torch.Tensor:
        return self._lift(lift_forward, x, mat, frac_bits)

    def lift_inverse(
        self, y: torch.Tensor, mat: torch.Tensor, frac_bits: int, lower: bool
    ) -> torch.Tensor:
        return self._lift(lift_inverse, y, mat, frac_bits, lower)

    mst_forward = staticmethod(mst_forward)
    mst_inverse = staticmethod(mst_inverse)
