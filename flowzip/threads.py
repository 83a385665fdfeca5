"""How many threads flowzip computes with, and OpenMP thread pools that survive ``fork``.

torch (intra-op) and numba (``prange`` kernels) both run on GNU OpenMP here, each with its
own copy of libgomp. :func:`thread_limit` sets both to the same count for the duration of a
call and restores what was there before.

GNU OpenMP is not fork-safe: a child forked after its parent ran a parallel region inherits
a pool whose threads do not exist, and its first parallel region waits for them for ever
(torch), or numba's OpenMP layer, which guards against exactly that, kills the child with
SIGTERM. So a ``multiprocessing`` Pool with the ``fork`` start method hung once the parent
had compressed an image. :func:`install_fork_handlers` fixes that at the root: before each
fork it releases every loaded libgomp's pool (OpenMP 5's ``omp_pause_resource_all``, so the
child builds a fresh one, as the parent does on its next parallel region), and in the
child it re-arms numba's layer for the new process id. Installed when flowzip first loads
a model; a no-op where no libgomp is loaded.

Example:
    >>> import torch
    >>> from flowzip.threads import thread_limit
    >>> before = torch.get_num_threads()
    >>> with thread_limit(1):
    ...     torch.get_num_threads()
    1
    >>> torch.get_num_threads() == before
    True
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import sys
from collections.abc import Iterator

_OMP_PAUSE_HARD = 2  # omp_pause_resource_t: omp_pause_soft = 1, omp_pause_hard = 2


def check_threads(threads: int | None) -> int | None:
    """``threads`` if it is None or a count numba's pool can run; else a ValueError."""
    if threads is None:
        return None
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ValueError(f"threads must be a whole number of at least 1, not {threads!r}")
    import numba

    most = numba.config.NUMBA_NUM_THREADS  # type: ignore[attr-defined]  # set at import
    if threads > most:
        raise ValueError(
            f"threads={threads}: numba's pool has {most} (set NUMBA_NUM_THREADS to allow more)"
        )
    return threads


@contextlib.contextmanager
def thread_limit(threads: int | None) -> Iterator[None]:
    """torch and numba use exactly ``threads`` threads inside the block (None: leave them).

    torch's count is process-wide and numba's is the calling thread's; both are put back
    afterwards, so concurrent calls with different counts share torch's last setting.
    """
    count = check_threads(threads)
    if count is None:
        yield
        return
    import numba
    import torch

    torch_before, numba_before = torch.get_num_threads(), numba.get_num_threads()
    torch.set_num_threads(count)
    numba.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(torch_before)
        numba.set_num_threads(numba_before)


def _loaded_libgomps() -> list[str]:
    """Paths of the libgomp copies mapped into this process (torch ships its own)."""
    try:
        with open("/proc/self/maps") as maps:
            paths = {line.rsplit(None, 1)[-1] for line in maps if "/libgomp" in line}
    except OSError:  # not Linux: no /proc, and no GNU OpenMP to worry about
        return []
    return sorted(paths)


def _release_openmp_pools() -> None:
    """Before fork: free the forking thread's OpenMP pools, so the child starts without one."""
    if "torch" not in sys.modules and "numba" not in sys.modules:
        return
    for path in _loaded_libgomps():
        try:
            lib = ctypes.CDLL(path, mode=os.RTLD_NOLOAD | os.RTLD_LAZY)
            pause = lib.omp_pause_resource_all
        except (OSError, AttributeError):  # gone, or older than OpenMP 5
            continue
        pause.argtypes, pause.restype = [ctypes.c_int], ctypes.c_int
        pause(_OMP_PAUSE_HARD)


def _rearm_numba_openmp() -> None:
    """In the child: numba's OpenMP layer refuses to run in a process whose parent launched
    it (the pool hazard above, now removed); launching it again records this process."""
    omppool = sys.modules.get("numba.np.ufunc.omppool")
    if omppool is None:
        return
    import numba

    launch = ctypes.CFUNCTYPE(None, ctypes.c_int)(omppool.launch_threads)
    launch(numba.config.NUMBA_NUM_THREADS)  # type: ignore[attr-defined]  # set at import


_installed = False


def install_fork_handlers() -> None:
    """Register the two fork handlers once per process (idempotent)."""
    global _installed  # noqa: PLW0603  os.register_at_fork is process-wide: register once
    if _installed or not hasattr(os, "register_at_fork"):
        return
    os.register_at_fork(before=_release_openmp_pools, after_in_child=_rearm_numba_openmp)
    _installed = True
