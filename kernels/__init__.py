"""Compute kernels of the integer flow, one module per backend, each keeping the contract of
:class:`~flowzip.kernels.base.Backend` (exact integers, the same on every backend).

* ``numba``: numba-compiled CPU kernels (:mod:`flowzip.kernels.numba_cpu`), the default.
* ``reference``: torch float64 holding exact integers (:mod:`flowzip.kernels.reference`),
  the ground truth the others must match integer for integer.
* ``cuda``: numba-cuda kernels (:mod:`flowzip.kernels.cuda`); needs the optional
  ``numba-cuda`` package (``pip install "flowzip[cuda]"``) and a CUDA GPU, or numba's CUDA
  simulator (``NUMBA_ENABLE_CUDASIM=1``); it is listed as available only where both are
  there. It is never picked by default: it has been run only under the simulator, not on a
  GPU.

The backend is chosen by name (``--backend``, the API's ``backend=`` keyword), else by the
``FLOWZIP_BACKEND`` environment variable, else the default. Every backend produces the same
integers, so a file made with one decodes with any other.

Example:
    >>> from flowzip.kernels import get_backend
    >>> get_backend("reference").name
    'reference'
"""

from __future__ import annotations

import ctypes
import functools
import importlib.util
import os

from flowzip.errors import BackendUnavailableError

from .base import Backend

BACKENDS = ("numba", "reference", "cuda")
DEFAULT_BACKEND = "numba"


def _installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def _simulated() -> bool:
    """Whether numba's CUDA simulator is on (``NUMBA_ENABLE_CUDASIM``, read as numba reads it)."""
    try:
        return int(os.environ.get("NUMBA_ENABLE_CUDASIM", "0") or 0) != 0
    except ValueError:
        return False


@functools.cache
def _gpu_found() -> bool:
    """Whether the CUDA driver loads, starts and sees a device: numba-cuda's own test
    (``cuda.is_available()``) without importing numba-cuda, which alone takes about a second;
    a machine with no driver answers in a millisecond."""
    try:
        driver = ctypes.CDLL("nvcuda.dll" if os.name == "nt" else "libcuda.so.1")
        count = ctypes.c_int(0)
        return (
            driver.cuInit(0) == 0
            and driver.cuDeviceGetCount(ctypes.byref(count)) == 0
            and count.value > 0
        )
    except (OSError, AttributeError):
        return False


def _usable(name: str) -> bool:
    if name == "cuda":
        return _installed("numba_cuda") and (_simulated() or _gpu_found())
    return _installed({"numba": "numba", "reference": "torch"}[name])


def available_backends() -> list[str]:
    """Names of the backends usable here, the default first: cuda only with numba-cuda and a
    CUDA GPU (or the simulator)."""
    return [name for name in BACKENDS if _usable(name)]


def resolve_backend_name(name: str | None = None) -> str:
    """The backend name to use: ``name``, else ``$FLOWZIP_BACKEND``, else the default. Only
    that backend is probed (the CUDA driver is not started to pick numba)."""
    chosen = name or os.environ.get("FLOWZIP_BACKEND") or DEFAULT_BACKEND
    if chosen not in BACKENDS or not _usable(chosen):
        hint = ""
        if chosen == "cuda":
            hint = (
                " (no usable CUDA GPU here; NUMBA_ENABLE_CUDASIM=1 runs it on numba's simulator)"
                if _installed("numba_cuda")
                else ' (install it with: pip install "flowzip[cuda]")'
            )
        raise BackendUnavailableError(
            f"unknown or unavailable backend {chosen!r}{hint}; available: {', '.join(available_backends())}"
        )
    return chosen


def get_backend(name: str | None = None) -> Backend:
    """The backend object for ``name`` (see :func:`resolve_backend_name`)."""
    chosen = resolve_backend_name(name)
    backend: Backend  # each module's object keeps the protocol (a type checker sees it here)
    if chosen == "numba":
        from .numba_cpu import BACKEND as backend
    elif chosen == "cuda":
        from .cuda import load_backend

        backend = load_backend()
    else:
        from .reference import BACKEND as backend
    return backend
