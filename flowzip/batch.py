"""Many files: :func:`compress_files` (a typed result per file, errors per file, progress,
``jobs`` processes of ``threads`` threads), and the process pool under it and ``-j``
(the folder walk is :func:`flowzip.files.walk`).

Example:
    >>> import tempfile, numpy as np, flowzip
    >>> from pathlib import Path
    >>> from PIL import Image
    >>> folder = Path(tempfile.mkdtemp())
    >>> Image.fromarray(np.zeros((8, 8), np.uint8)).save(folder / "a.png")
    >>> (folder / "notes.txt").write_text("not an image")
    12
    >>> [(r.source.name, r.output.name, r.ok) for r in flowzip.compress_files([folder])]
    [('a.png', 'a.png.fz', True)]
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from .api import DEFAULT_TILE, CompressionStats, Compressor, Decompressor
from .errors import FlowzipError
from .files import SUFFIX, image_suffixes, walk, write_atomic
from .registry import find_shipped


@dataclass(frozen=True)
class FileResult:
    """What became of one file: ``output`` and ``stats`` on success, else a one-line ``error``."""

    source: Path | str  # a path; flowzip.dask: a URL
    output: Path | str | None
    stats: CompressionStats | None
    error: str | None
    seconds: float

    @property
    def ok(self) -> bool:
        return self.error is None


State = TypeVar("State")  # map_jobs: what every call of its task gets
Item = TypeVar("Item")
Result = TypeVar("Result")
Progress = Callable[[int, int, FileResult], None]  # (files done, files in all, the one just done)


def map_jobs(
    task: Callable[[State, Item], Result], items: list[Item], *, jobs: int, state: State
) -> Iterator[tuple[int, Result]]:
    """``(index, task(state, item))`` for every item, as they finish: in this process when
    ``jobs`` is 1, else in ``jobs`` worker processes that each receive ``state`` once
    (inherited under fork, pickled under spawn: Compressor objects pickle by their settings)."""
    if jobs < 1:
        raise ValueError(f"jobs must be at least 1, not {jobs}")
    if jobs == 1 or len(items) <= 1:
        for i, item in enumerate(items):
            yield i, task(state, item)
        return
    with ProcessPoolExecutor(
        max_workers=min(jobs, len(items)), initializer=_set_worker_state, initargs=(state,)
    ) as pool:
        futures = {pool.submit(_run_in_worker, task, item): i for i, item in enumerate(items)}
        for future in as_completed(futures):
            yield futures[future], future.result()


_worker_state = None  # set once in each worker process by its initializer


def _set_worker_state(state) -> None:
    global _worker_state  # noqa: PLW0603  one per worker process, set by its initializer
    _worker_state = state


def _run_in_worker(task: Callable, item):
    return task(_worker_state, item)


def threads_per_job(jobs: int, threads: int | None) -> int | None:
    """``threads``, or with several jobs and no count given, the cores shared out among
    them (each process would otherwise start a thread per core)."""
    if threads is not None or jobs <= 1:
        return threads
    return max(1, (os.cpu_count() or 1) // jobs)


def _output_path(source: Path, under: Path | None, out_dir: Path | None) -> Path:
    if out_dir is None:
        return source.with_name(source.name + SUFFIX)
    relative = source.relative_to(under) if under is not None else Path(source.name)
    return out_dir / relative.with_name(relative.name + SUFFIX)


def _compress_one(
    state: tuple[Compressor, Decompressor | None, bool], job: tuple[Path, Path]
) -> FileResult:
    compressor, verifier, overwrite = state
    source, output = job
    t0 = time.monotonic()
    try:
        encoded = compressor.encode(source)
        if verifier is not None:  # decode what is about to be written, as flowzip --rm does
            verifier.decode(encoded.data)
        output.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(output, encoded.data, overwrite=overwrite)
    except Exception as e:  # noqa: BLE001  one file's failure is its result; the batch goes on
        return FileResult(source, None, None, _one_line(e), time.monotonic() - t0)
    return FileResult(source, output, encoded.stats, None, time.monotonic() - t0)


def _one_line(e: Exception) -> str:
    if isinstance(e, OSError) and e.strerror:
        return e.strerror
    text = (str(e).splitlines() or [""])[0]
    if isinstance(e, (FlowzipError, OSError, ValueError)):
        return text or type(e).__name__
    return f"internal error ({type(e).__name__}: {text})"  # a bug of ours, still one line


def compress_files(
    paths: Iterable[str | os.PathLike],
    out_dir: str | os.PathLike | None = None,
    *,
    model: str | os.PathLike = "default",
    backend: str | None = None,
    tile: int = DEFAULT_TILE,
    threads: int | None = None,
    jobs: int = 1,
    overwrite: bool = False,
    verify: bool = False,
    progress: Progress | None = None,
) -> list[FileResult]:
    """Compress image files, and the images in folders (recursively, by the extensions Pillow
    opens), to ``NAME.fz`` beside each source, or under ``out_dir`` (folders mirrored).

    One result per file, in input order; a file that fails gets its error and the others go
    on. ``jobs`` worker processes load the model once each; ``threads`` per process (default
    with several jobs: the cores shared out). ``verify`` decodes every output before writing
    it. ``progress(done, total, result)`` is called as each file finishes.
    """
    suffixes = image_suffixes()
    found = walk(paths, lambda p: p.suffix.lower() in suffixes)
    out = None if out_dir is None else Path(out_dir)
    jobs_list = [(source, _output_path(source, under, out)) for source, under in found]
    threads = threads_per_job(jobs, threads)
    compressor = Compressor(model, backend=backend, tile=tile, threads=threads)
    shipped = find_shipped(compressor.model.model_id, compressor.model.hash_prefix)
    verifier = (
        Decompressor(
            models=[] if shipped else [compressor.model_spec], backend=backend, threads=threads
        )
        if verify
        else None
    )
    results: list[FileResult | None] = [None] * len(jobs_list)
    for done, (i, result) in enumerate(
        map_jobs(_compress_one, jobs_list, jobs=jobs, state=(compressor, verifier, overwrite)), 1
    ):
        results[i] = result
        if progress:
            progress(done, len(jobs_list), result)
    return [r for r in results if r is not None]  # every one: map_jobs yields each index
