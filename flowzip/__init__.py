"""flowzip: lossless image compression with integer discrete flows and rANS.

Example:
    >>> import numpy as np, flowzip
    >>> img = np.zeros((16, 16, 3), dtype=np.uint8)
    >>> np.array_equal(flowzip.decompress(flowzip.compress(img)), img)
    True
"""
from __future__ import annotations


def _map_source_checkout() -> None:
    """Make ``flowzip.kernels`` and ``flowzip.cli`` importable from a source checkout.

    The repository keeps them at the top level (kernels/, cli/) and pyproject's package-dir
    installs them inside the package. Run from the checkout (``python -m bench``,
    ``python -m flowzip.train``), this folder shadows the installed package, so map the two
    names here the same way; installed and editable packages find them without this.
    """
    import importlib.util
    import sys
    from pathlib import Path

    here = Path(__file__).resolve().parent
    for name in ("kernels", "cli"):
        full = f"{__name__}.{name}"
        init = here.parent / name / "__init__.py"
        if full in sys.modules or (here / name).exists() or not init.is_file():
            continue
        if importlib.util.find_spec(full) is not None:
            continue
        spec = importlib.util.spec_from_file_location(full, init, submodule_search_locations=[str(init.parent)])
        module = importlib.util.module_from_spec(spec)
        sys.modules[full] = module
        globals()[name] = module
        spec.loader.exec_module(module)


_map_source_checkout()

from .api import (  # noqa: E402
    CompressionStats,
    Compressor,
    Decoded,
    Decompressor,
    Encoded,
    compress,
    decompress,
    decompress_image,
    read_header,
    read_tile_paths,
)
from .container import FORMAT_VERSION, MAGIC  # noqa: E402
from .errors import (  # noqa: E402
    BackendUnavailableError,
    ChecksumError,
    FlowzipError,
    FormatError,
    UnknownModelError,
    UnsupportedImageError,
)
from .kernels import available_backends  # noqa: E402
from .registry import MODELS  # noqa: E402

__version__ = "0.1.0"

__all__ = [
    "FORMAT_VERSION", "MAGIC", "MODELS", "BackendUnavailableError", "ChecksumError", "CompressionStats",
    "Compressor", "Decoded", "Decompressor", "Encoded", "FlowzipError", "FormatError", "UnknownModelError",
    "UnsupportedImageError", "available_backends", "compress", "decompress", "decompress_image", "read_header",
    "read_tile_paths",
]
