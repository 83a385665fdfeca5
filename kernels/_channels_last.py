"""Host side shared by the compiled backends: an integer network run channels-last.

Activations stay (H, W, C) between the layers of a network, padded with zeros for the next
layer's kernel, so each layer is one kernel launch doing convolution, requantization and
ReLU together. Before every layer the accumulator bound is checked from the true largest
input, exactly as the reference checks it, so every backend refuses the same inputs; the
backend may then pick a narrower integer type where the bound allows it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch

if TYPE_CHECKING:
    from flowzip.flows.intnet import IntConvLayer


def requantize(acc, shift, relu):
    """A hidden layer's epilogue: round(acc / 2**shift) with halves up, then ReLU (an exact
    arithmetic shift). Plain Python, compiled by each backend for its device."""
    r = acc
    if shift > 0:
        r = (r + (1 << (shift - 1))) >> shift
    elif shift < 0:
        r = r << -shift
    if relu and r < 0:
        r = 0
    return r


@dataclass(frozen=True)
class PreparedLayer:
    layer: IntConvLayer
    weights: dict  # integer dtype -> weights in the kernel's layout (host or device array)
    biases: dict  # integer dtype -> bias
    wide: bool  # the vector-of-accumulators loop order (else a dot product per output)
    out_channels: (
        int  # the kernel's outputs: the layer's, or more (zero weights) where that runs faster
    )

    @property
    def k(self) -> int:
        return self.layer.weight.shape[-1]


class ChannelsLastRunner:
    """Subclasses supply the arrays (``upload``, ``download``, ``cast``) and ``conv``."""

    dtypes: tuple = (np.int64,)
    narrow_max_out = 0  # up to this many output channels: a dot product per output channel

    def padded_outputs(self, out_channels: int) -> int:
        """How many outputs the kernel computes for a net's last layer of ``out_channels``
        (the extra ones have zero weights and are dropped; hidden layers are never padded)."""
        return out_channels

    def prepare_net(self, layers):
        prepared = []
        for i, layer in enumerate(layers):
            weight, bias = layer.weight, layer.bias
            co = self.padded_outputs(weight.shape[0]) if i == len(layers) - 1 else weight.shape[0]
            if co > weight.shape[0]:
                weight = np.concatenate(
                    [weight, np.zeros((co - weight.shape[0], *weight.shape[1:]), weight.dtype)]
                )
                bias = np.concatenate([bias, np.zeros(co - bias.shape[0], bias.dtype)])
            wide = co > self.narrow_max_out
            # wide: (k, k, Ci, Co), outputs innermost; narrow: (Co, k, k, Ci), inputs innermost
            w = weight.transpose((2, 3, 1, 0) if wide else (0, 2, 3, 1))
            prepared.append(
                PreparedLayer(
                    layer,
                    {dt: self.upload(np.ascontiguousarray(w.astype(dt))) for dt in self.dtypes},
                    {dt: self.upload(bias.astype(dt)) for dt in self.dtypes},
                    wide,
                    co,
                )
            )
        return prepared

    def accumulator_dtype(self, bound: int):
        return np.int64

    def run_net(self, prepared, x: torch.Tensor) -> torch.Tensor:
        """Exact integer network on int64 ``x`` (N, C, H, W): the last layer's accumulator."""
        _, _, h, w = x.shape
        outs = []
        for img in x.numpy():
            a_hwc = img.transpose(1, 2, 0)
            max_abs = int(np.abs(a_hwc).max(initial=0))
            a = None
            for i, p in enumerate(prepared):
                last = i == len(prepared) - 1
                dtype = self.accumulator_dtype(p.layer.accumulator_bound(max_abs))
                if a is None:
                    pad = p.k // 2
                    host = np.zeros((h + 2 * pad, w + 2 * pad, a_hwc.shape[2]), dtype)
                    host[pad : pad + h, pad : pad + w] = a_hwc
                    a = self.upload(host)
                else:
                    a = self.cast(a, dtype)
                pad_out = 0 if last else prepared[i + 1].k // 2
                # the output has the input's type: the bound also covers the last accumulator
                a, max_abs = self.conv(p, a, dtype, 0 if last else p.layer.shift, not last, pad_out)
            out = self.download(a)[:, :, : prepared[-1].layer.bias.shape[0]]
            outs.append(out.astype(np.int64, copy=False).transpose(2, 0, 1))
        return torch.from_numpy(np.ascontiguousarray(np.stack(outs)))

    # -- supplied by the backend ------------------------------------------------------

    def upload(self, host: np.ndarray):
        raise NotImplementedError

    def download(self, a) -> np.ndarray:
        raise NotImplementedError

    def cast(self, a, dtype):
        raise NotImplementedError

    def conv(self, p: PreparedLayer, a, dtype, shift: int, relu: bool, pad_out: int):
        """One layer; returns (output padded by ``pad_out``, its largest absolute value)."""
        raise NotImplementedError
