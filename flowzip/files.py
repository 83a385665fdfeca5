"""Paths and binary file objects in and out: what :func:`flowzip.compress` and
:func:`flowzip.decompress` accept besides arrays and bytes, and atomic output files.

Example:
    >>> import io, numpy as np
    >>> from flowzip.files import read_bytes, read_image
    >>> read_bytes(io.BytesIO(b"abc"))
    b'abc'
    >>> read_image(np.zeros((2, 2), np.uint8)).shape
    (2, 2)
"""

from __future__ import annotations

import io
import os
import socket
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO, Union

from .container import is_flowzip
from .errors import UnsupportedImageError

Source = Union[
    bytes, bytearray, memoryview, str, os.PathLike, BinaryIO
]  # .fz data, a path, or a file object


def _is_path(source) -> bool:
    return isinstance(source, (str, os.PathLike))


def read_bytes(source: Source) -> bytes:
    """The bytes of ``source``: bytes-like as they are, a path's file, a binary file object's
    remaining contents."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source)
    if _is_path(source):
        return Path(source).read_bytes()
    read = getattr(source, "read", None)
    if read is None:
        raise TypeError(
            f"expected bytes, a path or a binary file object, got {type(source).__name__}"
        )
    data = read()
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError("expected a binary file object (opened with 'rb'), got a text one")
    return bytes(data)


def read_image(source):
    """A numpy array or PIL image as it is; an image file (path or binary file object) as a
    loaded PIL image. Refuses flowzip files and what Pillow cannot read, in one line."""
    if not (_is_path(source) or hasattr(source, "read")):
        return source
    name = os.fspath(source) if _is_path(source) else getattr(source, "name", "image file")
    raw = read_bytes(source)
    if is_flowzip(raw):
        raise UnsupportedImageError(f"{name}: already a flowzip file")
    return load_image(raw, name)


def load_image(raw: bytes, name: str, inspect=None):
    """``raw`` opened and loaded by Pillow, checked to be a mode flowzip codes; what Pillow
    cannot read is one UnsupportedImageError line. ``inspect(image)`` runs before the pixels
    load (the CLI refuses lossy sources there). Pillow's DecompressionBombWarning is
    silenced (flowzip tiles large images itself); its error at twice the limit stays."""
    import warnings

    from PIL import Image, UnidentifiedImageError

    from .image import check_pil_source

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            im = Image.open(io.BytesIO(raw))
        if inspect is not None:
            inspect(im)
        check_pil_source(im)
        im.load()
    except Image.DecompressionBombError:
        raise UnsupportedImageError(
            f"{name}: image too large (Pillow's decompression-bomb limit)"
        ) from None
    except (UnidentifiedImageError, SyntaxError):
        raise UnsupportedImageError(f"{name}: not a readable image") from None
    except OSError as e:
        raise UnsupportedImageError(f"{name}: cannot read image ({e})") from None
    return im


def write_atomic(
    path: str | os.PathLike, data: bytes | Callable[[BinaryIO], None], *, overwrite: bool = False
) -> Path:
    """Write ``data`` (or what ``data(fh)`` writes) to ``path`` via a temporary file in the same
    folder, fsync and rename, so a failure or Ctrl-C leaves no partial file. An existing file
    is kept (FileExistsError) unless ``overwrite``."""
    path = Path(path)
    if os.path.lexists(path) and not overwrite:  # a dangling symlink too
        raise FileExistsError(f"{path} already exists; not overwritten")
    tmp = temporary_for(path)
    try:
        with open(tmp, "xb") as fh:
            if callable(data):
                data(fh)
            else:
                fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def temporary_for(path: Path) -> Path:
    """The temporary that this process writes ``path`` through, ``.NAME.flowzip-HOST-PID.tmp``
    beside it: a name no other program makes, that says whose it is, and that fits where
    ``path``'s name fits. Those of runs killed mid-write (SIGKILL, a crash: no cleanup ran)
    are removed first; a live run's, or another host's, is left alone.

    Example:
        >>> import os
        >>> temporary_for(Path("out/x.png")).name.startswith(".x.png.flowzip-")
        True
    """
    _remove_stale_temporaries(path)
    return _temporary(path, os.getpid())


def _temporary(path: Path, pid: int | str) -> Path:
    return path.with_name(f".{path.name[:160]}.flowzip-{socket.gethostname()[:64]}-{pid}.tmp")


def _remove_stale_temporaries(path: Path) -> None:
    prefix = _temporary(path, "").name.removesuffix(".tmp")
    try:
        names = os.listdir(path.parent)
    except OSError:
        return  # the write itself will say what is wrong with the folder
    for name in names:
        pid = name[len(prefix) : -len(".tmp")]
        # our own PID too: we have not made ours yet, so that one is a dead run's (PIDs recur)
        if (
            name.startswith(prefix)
            and name.endswith(".tmp")
            and pid.isdigit()
            and (int(pid) == os.getpid() or not _process_alive(int(pid)))
        ):
            try:
                (path.parent / name).unlink()
            except OSError:
                pass  # another run removed it first, or it is not ours to remove


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's
    return True
