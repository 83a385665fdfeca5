"""Compute kernels of the integer flow, one module per backend.

``reference`` (torch, float64 holding exact integers) is the ground truth and always
available. The backend is chosen by name, by the ``FLOWZIP_BACKEND`` environment variable,
or defaults to the fastest available; every backend must produce identical integers.

Example:
    >>> from flowzip.kernels import get_backend
    >>> get_backend("reference").name
    'reference'
"""
from __future__ import annotations

import os

from ..errors import BackendUnavailableError

BACKENDS = ("reference",)
DEFAULT_BACKEND = "reference"


def available_backends() -> list[str]:
    """Names of the backends that can run on this machine, fastest first."""
    return list(BACKENDS)


def resolve_backend_name(name: str | None = None) -> str:
    """The backend name to use: ``name``, else ``$FLOWZIP_BACKEND``, else the default."""
    chosen = name or os.environ.get("FLOWZIP_BACKEND") or DEFAULT_BACKEND
    if chosen not in BACKENDS:
        raise BackendUnavailableError(
            f"unknown or unavailable backend {chosen!r}; available: {', '.join(available_backends())}"
        )
    return chosen


def get_backend(name: str | None = None):
    """The backend module for ``name`` (see :func:`resolve_backend_name`)."""
    chosen = resolve_backend_name(name)
    from . import reference

    return reference.BACKEND if chosen == "reference" else None
