"""The Pillow plugin: ``Image.open("x.fz")`` and ``im.save("x.fz")``, registered by
``import flowzip`` (Pillow has no plugin discovery of its own: it imports only its own
plugins, so a third-party format registers when its package is imported).

``Image.open`` reads the header only: size, mode, palette and transparency are there before
any pixel is decoded; ``load()`` (or anything that needs pixels) decodes with the shipped
models and checks the CRC32. ``save`` takes ``model=``, ``tile=`` and ``threads=``. Every
mode the codec keeps works: 1, L, P, RGB, RGBA, LA, PA, I;16 (L/B/N) and I. 16-bit colour
has no Pillow mode: such files open with :func:`flowzip.imread`.

Example:
    >>> import io, numpy as np, flowzip
    >>> from PIL import Image
    >>> buf = io.BytesIO()
    >>> Image.new("LA", (5, 3), (40, 200)).save(buf, format="FLOWZIP")
    >>> im = Image.open(io.BytesIO(buf.getvalue()))
    >>> im.format, im.mode, im.size
    ('FLOWZIP', 'LA', (5, 3))
    >>> im.getpixel((4, 2))
    (40, 200)
"""

from __future__ import annotations

import functools
import os
import struct
from typing import IO

from PIL import Image, ImageFile, ImagePalette

from . import container
from .errors import FormatError, UnsupportedImageError

FORMAT = "FLOWZIP"
EXTENSIONS = (".fz",)
MIME = "image/x-flowzip"
_PREFIX_BYTES = 12  # magic, version, flags, header length


def _accept(prefix: bytes) -> bool | str:
    """Pillow passes the file's first 16 bytes; a string is a reason not to open it."""
    if not container.is_flowzip(prefix):
        return False
    if len(prefix) > 8 and prefix[8] not in container.READABLE_VERSIONS:
        return (
            f"flowzip format version {prefix[8]}: this flowzip reads {container.READABLE_VERSIONS}"
        )
    return True


def _mode(header: container.Header) -> str:
    """The Pillow mode a file decodes to, from its header alone."""
    from .codec import pillow_mode

    mode = pillow_mode(header)
    if mode is None:
        raise UnsupportedImageError(
            f"{header.channels}-channel 16-bit image: no Pillow mode holds it; "
            "read it with flowzip.imread"
        )
    return mode


class FlowzipImageFile(ImageFile.ImageFile):
    format = FORMAT
    format_description = "flowzip lossless image (normalizing flow)"

    def _open(self) -> None:
        assert self.fp is not None
        start = self.fp.read(_PREFIX_BYTES)
        if len(start) < _PREFIX_BYTES or not container.is_flowzip(start):
            raise SyntaxError("not a flowzip file")
        header_bytes = start + self.fp.read(struct.unpack("<H", start[10:12])[0] + 4)
        try:
            header = container.read_header(header_bytes)[0]
        except FormatError as e:
            raise SyntaxError(str(e)) from None
        from .image import ImageInfo

        info = ImageInfo.from_meta(header.meta)
        self._mode = _mode(header)
        self._size = (header.width, header.height)
        if info.palette:
            self.palette = ImagePalette.raw(info.palette_mode or "RGB", info.palette)
        if info.transparency is not None:
            self.info["transparency"] = info.transparency
        self.info["flowzip_model"] = header.model_id
        self.tile = [ImageFile._Tile("flowzip", (0, 0, *self.size), 0, None)]


class FlowzipDecoder(ImageFile.PyDecoder):
    """Decodes the whole file at once (the codec's tiles share one stream), with the shipped
    models and those given to :func:`register`."""

    _pulls_fd = True
    models: tuple[str, ...] = ()

    def decode(self, buffer) -> tuple[int, int]:
        assert self.fd is not None
        decoded = _decompressor(self.models).decode(self.fd.read())
        im = decoded.to_pil()
        if im.mode != self.mode or im.size != (self.state.xsize, self.state.ysize):
            raise FormatError("corrupt flowzip file (the pixels do not match the header)")
        self.set_as_raw(im.tobytes())
        return -1, 0


@functools.lru_cache(maxsize=2)
def _decompressor(models: tuple[str, ...]):
    from .api import Decompressor

    return Decompressor(models=models)  # keeps the models it loads: many files load each once


@functools.lru_cache(maxsize=4)
def _compressor(model: str, tile: int, threads: int | None):
    from .api import Compressor

    return Compressor(model, tile=tile, threads=threads)


def _save(im: Image.Image, fp: IO[bytes], filename: str | bytes) -> None:
    from .api import DEFAULT_TILE

    options = im.encoderinfo
    model = options.get("model", "default")
    compressor = _compressor(
        model if isinstance(model, str) else os.fspath(model),
        options.get("tile", DEFAULT_TILE),
        options.get("threads"),
    )
    try:
        data = compressor.compress(im)
    except UnsupportedImageError as e:
        raise ValueError(
            str(e)
        ) from None  # what Pillow's own plugins raise for a mode they cannot write
    fp.write(data)


def register(*, models=()) -> None:
    """Register the format with Pillow (``import flowzip`` calls it). Pillow's registry is
    process-wide; call again with ``models`` (trained ``.npz`` paths) for files that need
    them besides the shipped ones."""
    decoder = type(
        "FlowzipDecoder", (FlowzipDecoder,), {"models": tuple(os.fspath(m) for m in models)}
    )
    Image.register_open(FORMAT, FlowzipImageFile, _accept)
    Image.register_decoder("flowzip", decoder)
    Image.register_save(FORMAT, _save)
    Image.register_extensions(FORMAT, list(EXTENSIONS))
    Image.register_mime(FORMAT, MIME)
