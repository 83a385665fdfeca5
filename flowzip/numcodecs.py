"""flowzip as a numcodecs codec, for Zarr and anything else that takes numcodecs codecs
(``pip install "flowzip[zarr]"``).

Chunks are uint8 or uint16 arrays shaped (H, W), (H, W, C) or (N, H, W, C), C in 1..4. A
chunk of one image is one .fz file; a stack of N is N .fz files back to back, each
self-describing (its header gives its length), so the stored bytes decode without the
config. The config (``model``, ``tile``) is what the encoder needs; the decoder reads the
model from each file (shipped models by name; a ``.npz`` model must be at the configured
path). Registered under the ``numcodecs.codecs`` entry point as ``"flowzip"``.

Example:
    >>> import numpy as np, numcodecs
    >>> codec = numcodecs.get_codec({"id": "flowzip", "tile": 64})
    >>> chunk = np.arange(2 * 8 * 8 * 3, dtype=np.uint8).reshape(2, 8, 8, 3)
    >>> np.array_equal(codec.decode(codec.encode(chunk)), chunk)
    True
    >>> codec.get_config()
    {'id': 'flowzip', 'model': 'default', 'tile': 64}
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import numpy as np
from numcodecs.abc import Codec
from numcodecs.compat import ensure_contiguous_ndarray, ndarray_copy

from . import container
from .errors import FormatError, UnsupportedImageError

if TYPE_CHECKING:
    from .api import Compressor, Decompressor


class Flowzip(Codec):
    """Lossless image chunks through flowzip.

    Args:
        model: the model the encoder uses: a shipped name, ``"default"``, or a ``.npz`` path.
        tile: the tile size inside each image.
    """

    codec_id = "flowzip"

    def __init__(self, model: str = "default", tile: int = 512):
        self.model = model if isinstance(model, str) else os.fspath(model)
        self.tile = int(tile)
        # loaded on first use, in the process (or worker) that codes
        self._compressor: Compressor | None = None
        self._decompressor: Decompressor | None = None

    def __getstate__(self) -> dict:  # the config: a worker loads the model itself
        return {"model": self.model, "tile": self.tile}

    def __setstate__(self, state: dict) -> None:
        Flowzip.__init__(self, **state)

    def __repr__(self) -> str:
        return f"Flowzip(model={self.model!r}, tile={self.tile})"

    def encode(self, buf) -> bytes:
        if not isinstance(buf, np.ndarray) or buf.ndim < 2:
            raise UnsupportedImageError(
                "flowzip codes image chunks: an ndarray (H, W), (H, W, C) or (N, H, W, C), not flat bytes"
            )
        if self._compressor is None:
            from .api import Compressor

            self._compressor = Compressor(self.model, tile=self.tile)
        if buf.ndim == 4:
            return b"".join(self._compressor.compress(image) for image in buf)
        return self._compressor.compress(buf)

    def decode(self, buf, out=None) -> np.ndarray:
        data = ensure_contiguous_ndarray(buf).view(np.uint8).tobytes()
        if self._decompressor is None:
            from .api import Decompressor

            self._decompressor = Decompressor(
                models=[self.model] if self.model.endswith(".npz") else []
            )
        images = [self._decompressor.decompress(part) for part in split_files(data)]
        decoded = images[0] if len(images) == 1 else np.stack(images)
        return ndarray_copy(decoded, out)


def split_files(data: bytes) -> list[bytes]:
    """The .fz files of ``data``, which holds one or more back to back."""
    parts, pos = [], 0
    while pos < len(data):
        header, offset = container.read_header(data[pos : pos + (1 << 20)])
        end = pos + offset + sum(header.stream_sizes)
        if end > len(data):
            raise FormatError("truncated flowzip chunk")
        parts.append(data[pos:end])
        pos = end
    if not parts:
        raise FormatError("empty flowzip chunk")
    return parts


def _register() -> None:
    from numcodecs.registry import register_codec

    register_codec(Flowzip)  # importing this module is enough even without the entry point


_register()
