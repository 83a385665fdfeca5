"""flowzip: lossless image compression with integer discrete flows and rANS.

Example:
    >>> import numpy as np, flowzip
    >>> img = np.zeros((16, 16, 3), dtype=np.uint8)
    >>> np.array_equal(flowzip.decompress(flowzip.compress(img)), img)
    True
"""
from __future__ import annotations

from .api import (
    CompressionStats,
    Compressor,
    Decoded,
    Decompressor,
    Encoded,
    compress,
    decompress,
    decompress_image,
    read_header,
)
from .container import FORMAT_VERSION, MAGIC
from .errors import (
    BackendUnavailableError,
    ChecksumError,
    FlowzipError,
    FormatError,
    UnknownModelError,
    UnsupportedImageError,
)
from .kernels import available_backends
from .registry import MODELS

__version__ = "0.1.0"

__all__ = [
    "FORMAT_VERSION", "MAGIC", "MODELS", "BackendUnavailableError", "ChecksumError", "CompressionStats",
    "Compressor", "Decoded", "Decompressor", "Encoded", "FlowzipError", "FormatError", "UnknownModelError",
    "UnsupportedImageError", "available_backends", "compress", "decompress", "decompress_image", "read_header",
]
