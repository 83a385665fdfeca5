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
        # the checkout's own folder even where an editable install of another checkout
        # (a second git worktree) would map the name there
        if full in sys.modules or (here / name).exists() or not init.is_file():
            continue
        spec = importlib.util.spec_from_file_location(
            full, init, submodule_search_locations=[str(init.parent)]
        )
        if spec is None or spec.loader is None:
            continue
        module = importlib.util.module_from_spec(spec)
        sys.modules[full] = module
        globals()[name] = module
        spec.loader.exec_module(module)


_map_source_checkout()

from .container import FORMAT_VERSION, MAGIC, Attached, TextChunk  # noqa: E402
from .errors import (  # noqa: E402
    BackendUnavailableError,
    ChecksumError,
    FlowzipError,
    FormatError,
    UnknownModelError,
    UnsupportedImageError,
)

__version__ = "0.6.0"  # the only place it is written: pyproject.toml reads it from here

from .pillow import register as _register_pillow  # noqa: E402

_register_pillow()  # Image.open("x.fz"), im.save("x.fz"): Pillow finds plugins only this way

# the rest loads on first use (PEP 562), so that ``import flowzip`` and ``flowzip --version``
# stay fast: torch and numba come in with the first model
_LAZY = {
    **dict.fromkeys(
        [
            "CompressionStats",
            "Compressor",
            "Decoded",
            "Decompressor",
            "Encoded",
            "compress",
            "decompress",
            "decompress_image",
            "imread",
            "imwrite",
            "read_header",
            "read_tile_paths",
        ],
        "api",
    ),
    **dict.fromkeys(["FileResult", "compress_files"], "batch"),
    "available_backends": "kernels",
    "MODELS": "registry",
}


def __getattr__(name: str):
    import importlib.util

    if name in _LAZY:
        value = getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    elif not name.startswith("_") and importlib.util.find_spec(f"{__name__}.{name}") is not None:
        value = importlib.import_module(f"{__name__}.{name}")  # a submodule: flowzip.numcodecs, ...
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "FORMAT_VERSION",
    "MAGIC",
    "MODELS",
    "Attached",
    "BackendUnavailableError",
    "ChecksumError",
    "CompressionStats",
    "Compressor",
    "Decoded",
    "Decompressor",
    "Encoded",
    "FileResult",
    "FlowzipError",
    "FormatError",
    "TextChunk",
    "UnknownModelError",
    "UnsupportedImageError",
    "available_backends",
    "compress",
    "compress_files",
    "decompress",
    "decompress_image",
    "imread",
    "imwrite",
    "read_header",
    "read_tile_paths",
]
