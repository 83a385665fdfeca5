"""Fleets of images on Dask (``pip install "flowzip[dask]"``): dask.bag collections of
files by fsspec URL (local paths, ``s3://``, ``gs://``, ... with their fsspec package) or of
arrays, on any scheduler, dask.distributed included.

Each worker process loads a model once and keeps it (a small cache of Compressors per
process, keyed by the settings); every output is decoded again and checked against the
pixels' CRC32 before it counts, as ``flowzip compress --rm`` does; a file that fails is its
result's error and the rest go on.

Example:
    >>> import numpy as np, dask.bag as db, flowzip.dask
    >>> images = db.from_sequence([np.zeros((8, 8), np.uint8), np.full((4, 6, 3), 9, np.uint8)])
    >>> [len(data) > 0 for data in flowzip.dask.compress_images(images).compute(scheduler="sync")]
    [True, True]
"""

from __future__ import annotations

import functools
import os
import posixpath
import time
from collections.abc import Iterable

import dask.bag as db
import fsspec
from fsspec.implementations.local import LocalFileSystem

from .batch import SUFFIX, FileResult, _one_line
from .files import write_atomic


@functools.lru_cache(maxsize=4)
def _compressor(model: str, tile: int, threads: int | None):
    from .api import Compressor

    return Compressor(model, tile=tile, threads=threads)


@functools.lru_cache(maxsize=4)
def _decompressor(models: tuple[str, ...], threads: int | None):
    from .api import Decompressor

    return Decompressor(models=models, threads=threads)


def _verifier(model: str, threads: int | None):
    """A Decompressor that knows the model ``model`` names (a shipped name or a .npz path)."""
    return _decompressor((model,) if model.endswith(".npz") else (), threads)


def _bag(items) -> db.Bag:
    return items if isinstance(items, db.Bag) else db.from_sequence(list(items), partition_size=1)


def _compress_url(
    url: str,
    out: str,
    model: str,
    tile: int,
    threads: int | None,
    overwrite: bool,
    storage_options: dict,
) -> FileResult:
    t0 = time.monotonic()
    target = posixpath.join(out.rstrip("/"), posixpath.basename(url.rstrip("/")) + SUFFIX)
    try:
        with fsspec.open(url, "rb", **storage_options) as fh:
            encoded = _compressor(model, tile, threads).encode(fh)
        _verifier(model, threads).decode(encoded.data)  # the file decodes to the same pixels
        fs, path = fsspec.core.url_to_fs(target, **storage_options)
        if fs.exists(path) and not overwrite:
            raise FileExistsError(f"{target} already exists; not overwritten")
        if isinstance(fs, LocalFileSystem):
            os.makedirs(os.path.dirname(path), exist_ok=True)
            write_atomic(path, encoded.data, overwrite=overwrite)
        else:  # object stores write whole objects
            fs.pipe_file(path, encoded.data)
    except Exception as e:  # noqa: BLE001  any failure is this file's result; the others go on
        return FileResult(url, None, None, _one_line(e), time.monotonic() - t0)
    return FileResult(url, target, encoded.stats, None, time.monotonic() - t0)


def compress_files(
    urls: Iterable[str] | db.Bag,
    out: str,
    *,
    model: str = "default",
    tile: int = 512,
    threads: int | None = 1,
    overwrite: bool = False,
    storage_options: dict | None = None,
) -> db.Bag:
    """A bag of :class:`flowzip.FileResult`, one per URL: each image read, compressed,
    verified and written to ``out/NAME.fz`` (``out`` a folder or URL prefix). ``threads`` per
    task (default 1: Dask runs a task per worker thread)."""
    model = os.fspath(model)
    return _bag(urls).map(
        _compress_url,
        out=out,
        model=model,
        tile=tile,
        threads=threads,
        overwrite=overwrite,
        storage_options=storage_options or {},
    )


def _decompress_url(url: str, models: tuple[str, ...], threads: int | None, storage_options: dict):
    with fsspec.open(url, "rb", **storage_options) as fh:
        return _decompressor(models, threads).decompress(fh)  # its CRC32 checked


def decompress_files(
    urls: Iterable[str] | db.Bag,
    *,
    models: Iterable[str] = (),
    threads: int | None = 1,
    storage_options: dict | None = None,
) -> db.Bag:
    """A bag of numpy arrays, the pixels of each .fz file (CRC32 checked)."""
    return _bag(urls).map(
        _decompress_url,
        models=tuple(os.fspath(m) for m in models),
        threads=threads,
        storage_options=storage_options or {},
    )


def _compress_image(image, model: str, tile: int, threads: int | None) -> bytes:
    data = _compressor(model, tile, threads).compress(image)
    _verifier(model, threads).decode(data)
    return data


def compress_images(
    images: Iterable | db.Bag, *, model: str = "default", tile: int = 512, threads: int | None = 1
) -> db.Bag:
    """A bag of .fz bytes, one per image (numpy array or PIL image), each verified."""
    return _bag(images).map(_compress_image, model=os.fspath(model), tile=tile, threads=threads)
