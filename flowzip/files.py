"""Paths and binary file objects in and out: what :func:`flowzip.compress` and
:func:`flowzip.decompress` accept besides arrays and bytes, which files in a folder are
images, and atomic output files (every file flowzip, its CLI, the benchmark and training
write goes through :func:`write_atomic`).

Example:
    >>> import io, numpy as np
    >>> from flowzip.files import read_bytes, read_image
    >>> read_bytes(io.BytesIO(b"abc"))
    b'abc'
    >>> read_image(np.zeros((2, 2), np.uint8)).shape
    (2, 2)
"""

from __future__ import annotations

import contextlib
import io
import os
import socket
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import BinaryIO, TypeGuard

from .container import is_flowzip
from .errors import UnsupportedImageError

# .fz data, a path, or a binary file object
Source = bytes | bytearray | memoryview | str | os.PathLike | BinaryIO


def _is_path(source: object) -> TypeGuard[str | os.PathLike]:
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


SUFFIX = ".fz"  # flowzip's own files


def image_suffixes() -> set[str]:
    """The file suffixes (lower case) of the formats Pillow opens, less flowzip's own: what
    counts as an image when a folder is searched (``compress -r``, ``compress_files``, the
    benchmark, training)."""
    from PIL import Image

    Image.init()
    return {ext for ext, fmt in Image.registered_extensions().items() if fmt in Image.OPEN} - {
        SUFFIX
    }


def walk(
    paths: Iterable[str | os.PathLike], want: Callable[[Path], bool], *, recursive: bool = True
) -> list[tuple[Path, Path | None]]:
    """``(file, the folder it was found under or None)``: files as given (whatever their
    name, as gzip does), folders walked (recursively unless not ``recursive``) in name order
    for the files ``want`` accepts (hidden entries skipped)."""
    found: list[tuple[Path, Path | None]] = []
    for given in map(Path, paths):
        if not given.is_dir():
            found.append((given, None))
            continue
        for folder, dirs, files in os.walk(given):
            dirs[:] = sorted(d for d in dirs if not d.startswith(".")) if recursive else []
            found.extend(
                (Path(folder) / f, given)
                for f in sorted(files)
                if not f.startswith(".") and want(Path(folder) / f)
            )
    return found


def find_images(folder: str | os.PathLike, *, recursive: bool = True) -> list[Path]:
    """The image files under ``folder`` (recursively, or only those directly in it; hidden
    entries skipped; by :func:`image_suffixes`), in path order.

    Example:
        >>> import tempfile
        >>> folder = Path(tempfile.mkdtemp())
        >>> for name in ("b.png", "a.JPG", "notes.txt", ".hidden.png", "x.png.fz"):
        ...     _ = (folder / name).write_bytes(b"")
        >>> [p.name for p in find_images(folder)]
        ['a.JPG', 'b.png']
    """
    suffixes = image_suffixes()
    return sorted(
        path
        for path, _ in walk([folder], lambda p: p.suffix.lower() in suffixes, recursive=recursive)
        if path.is_file()  # a broken link or a FIFO is no image to read
    )


def write_atomic(
    path: str | os.PathLike,
    data: bytes | Callable[[BinaryIO], None],
    *,
    overwrite: bool = False,
    like: str | os.PathLike | None = None,
) -> Path:
    """Write ``data`` (or what ``data(fh)`` writes) to ``path`` via a temporary file in the same
    folder, fsync and rename, so a failure or Ctrl-C leaves no partial file. An existing file
    is kept (FileExistsError) unless ``overwrite``. With ``like`` (the source), the file gets
    its permissions, modification time and, where allowed, owner, as gzip's outputs do; until
    then it is private to its owner.

    Example:
        >>> import tempfile
        >>> out = Path(tempfile.mkdtemp()) / "x.txt"
        >>> write_atomic(out, b"one").read_bytes()
        b'one'
        >>> write_atomic(out, lambda fh: fh.write(b"two"), overwrite=True).read_bytes()
        b'two'
    """
    path = Path(path)
    if os.path.lexists(path) and not overwrite:  # a dangling symlink too
        raise FileExistsError(f"{path} already exists; not overwritten")
    tmp = temporary_for(path)
    try:
        fd = os.open(
            tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600 if like is not None else 0o666
        )
        with open(fd, "wb") as fh:
            if callable(data):
                data(fh)
            else:
                fh.write(data)
            fh.flush()
            if like is not None:
                _copy_attributes(like, fh.fileno())
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def _copy_attributes(src: str | os.PathLike, fd: int) -> None:
    st = os.stat(src)
    with contextlib.suppress(OSError):  # only root (or a group change to one's own) may
        os.fchown(fd, st.st_uid, st.st_gid)
    os.fchmod(fd, st.st_mode & 0o777)  # after chown, which may clear bits; no setuid/setgid
    os.utime(fd, ns=(st.st_atime_ns, st.st_mtime_ns))  # last: after the final write


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
            with contextlib.suppress(OSError):  # another run removed it first, or not ours
                (path.parent / name).unlink()


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's
    return True
