"""Compute kernels of the integer flow, one module per backend.

* ``numba``: numba-compiled CPU kernels (:mod:`flowzip.kernels.numba_cpu`), the default.
* ``reference``: torch float64 holding exact integers (:mod:`flowzip.kernels.reference`),
  the ground truth the others must match integer for integer.
* ``cuda``: numba-cuda kernels (:mod:`flowzip.kernels.cuda`); needs the optional
  ``numba-cuda`` package (``pip install "flowzip[cuda]"``) and a CUDA GPU, or numba's CUDA
  simulator (``NUMBA_ENABLE_CUDASIM=1``). It is never picked by default: it has been run
  only under the simulator, not on a GPU.

The backend is chosen by name (``--backend``, the API's ``backend=`` keyword), else by the
``FLOWZIP_BACKEND`` environment variable, else the default. Every backend produces the same
integers, so a file made with one decodes with any other.

Example:
    >>> from flowzip.kernels import get_backend
    >>> get_backend("reference").name
    'reference'
"""
from __future__ import annotations

import importlib.util
import os

from ..errors import BackendUnavailableError

BACKENDS = ("numba", "reference", "cuda")
DEFAULT_BACKEND = "numba"


def _installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def available_backends() -> list[str]:
    """Names of the backends installed here, the default first (cuda is not imported to check)."""
    return [name for name in BACKENDS if _installed({"numba": "numba", "reference": "torch", "cuda": "numba_cuda"}[name])]


def resolve_backend_name(name: str | None = None) -> str:
    """The backend name to use: ``name``, else ``$FLOWZIP_BACKEND``, else the default."""
    chosen = name or os.environ.get("FLOWZIP_BACKEND") or DEFAULT_BACKEND
    if chosen not in available_backends():
        hint = " (install it with: pip install \"flowzip[cuda]\")" if chosen == "cuda" else ""
        raise BackendUnavailableError(
            f"unknown or unavailable backend {chosen!r}{hint}; available: {', '.join(available_backends())}"
        )
    return chosen


def get_backend(name: str | None = None):
    """The backend object for ``name`` (see :func:`resolve_backend_name`)."""
    chosen = resolve_backend_name(name)
    if chosen == "numba":
        from .numba_cpu import BACKEND
    elif chosen == "cuda":
        from .cuda import load_backend

        BACKEND = load_backend()
    else:
        from .reference import BACKEND
    return BACKEND
