"""The public API: one-shot :func:`compress` / :func:`decompress` and reusable
:class:`Compressor` / :class:`Decompressor` objects that keep a model loaded.

::

    image -> planes (uint8) -> tiles padded to the model stride
          -> flow forward + integer priors -> one rANS stream for all tiles -> container (+ CRC32)

Example:
    >>> import numpy as np, flowzip
    >>> img = np.random.default_rng(0).integers(0, 256, (5, 7, 3), dtype=np.uint8)
    >>> data = flowzip.compress(img)
    >>> np.array_equal(flowzip.decompress(data), img)
    True
"""
from __future__ import annotations

import base64
import binascii
import os
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from . import container
from .codec import TileDecoder, TileEncoder
from .errors import ChecksumError, FormatError, UnknownModelError, UnsupportedImageError
from .image import PlaneGroup, ImageInfo, check_array, from_index_plane, to_index_plane, pillow_default_mode, from_pil, from_planes, pad_to_multiple, padded, plane_groups, tile_grid, to_pil, to_planes
from .registry import CodecModel, find_shipped, load_model, load_weights_file, resolve

DEFAULT_TILE = 512
Progress = Callable[[int, int], None]  # (tiles done, tiles in all)


@dataclass(frozen=True)
class CompressionStats:
    """Sizes of one compressed image; bpsp counts every byte of the file."""

    width: int
    height: int
    channels: int
    bytes_per_sample: int
    nbytes: int  # the whole file
    header_bytes: int
    bits_theoretical: float  # the model's exact code length, -log2 p, under the integer tables
    escapes: int  # latents coded outside their prior's window
    tiles: int

    @property
    def subpixels(self) -> int:
        return self.width * self.height * self.channels

    @property
    def bpsp(self) -> float:
        """File bits per sub-pixel."""
        return 8.0 * self.nbytes / self.subpixels

    @property
    def model_bpsp(self) -> float:
        """The model's own bits per sub-pixel."""
        return self.bits_theoretical / self.subpixels

    @property
    def overhead_bytes(self) -> float:
        """File bytes beyond the model's code length: header, stream ends."""
        return self.nbytes - self.bits_theoretical / 8.0


@dataclass(frozen=True)
class Encoded:
    data: bytes
    stats: CompressionStats


@dataclass(frozen=True)
class Decoded:
    array: np.ndarray  # (H, W) or (H, W, C), uint8 or uint16
    info: ImageInfo
    header: container.Header

    def to_pil(self):
        """The image as Pillow would have opened the original (mode and palette restored)."""
        try:
            return to_pil(self.array, self.info)
        except (TypeError, ValueError, KeyError) as e:
            raise UnsupportedImageError(
                f"cannot make a Pillow image of this {self.array.dtype} array of shape {self.array.shape}"
                f"{' in mode ' + self.info.mode if self.info.mode else ''} ({e}); use the numpy array"
            ) from None


def _as_array(image) -> tuple[np.ndarray, ImageInfo, int]:
    if hasattr(image, "mode") and hasattr(image, "getpalette"):  # a PIL image
        arr, info = from_pil(image)
    else:
        arr, info = image, ImageInfo()
    ndim = np.ndim(arr)
    return check_array(arr), info, ndim


class Compressor:
    """Compresses images with one loaded model; reuse it in loops.

    Args:
        model: a shipped model name (see ``flowzip models``), ``"default"``, or a ``.npz``
            path written by training.
        backend: compute backend (default: ``$FLOWZIP_BACKEND`` or the fastest available).
    """

    def __init__(self, model: str | os.PathLike = "default", *, backend: str | None = None, tile: int = DEFAULT_TILE):
        self.model: CodecModel = load_model(model, backend)
        if tile % self.model.stride or not container.MIN_TILE <= tile <= container.MAX_TILE:
            raise ValueError(f"tile size must be a multiple of {self.model.stride} up to {container.MAX_TILE}")
        self.tile = tile

    def encode(self, image, /, *, progress: Progress | None = None) -> Encoded:
        """Compress a numpy array (H, W[, C]) of uint8/uint16 or a PIL image, with statistics."""
        arr, info, ndim = _as_array(image)
        height, width, channels = arr.shape
        bps = arr.dtype.itemsize
        meta = info.to_meta(pillow_default_mode(arr))
        indexed = to_index_plane(arr)
        if indexed is None:
            planes, groups = to_planes(arr), plane_groups(channels, bps)
        else:
            planes, palette = indexed
            groups = [INDEX_GROUP]
            meta["index_palette"] = base64.b64encode(palette.tobytes()).decode("ascii")
        count = container.tile_count(width, height, self.tile)
        if count > container.MAX_TILES:
            raise UnsupportedImageError(f"{count} tiles of {self.tile}x{self.tile}: the format holds at most "
                                        f"{container.MAX_TILES}; use a larger tile")
        tiles = tile_grid(height, width, self.tile)
        first = seed_tile(planes, tiles) if self.model.bits_back else 0
        enc = TileEncoder(self.model)
        for done, i in enumerate(coding_order(len(tiles), first)):
            y, x, h, w = tiles[i]
            enc.encode(pad_to_multiple(planes[y : y + h, x : x + w], self.model.stride), groups)
            if progress:
                progress(done + 1, len(tiles))
        stream = enc.finish()
        header = container.Header(
            width, height, channels, bps, 2 if ndim == 2 else 3, self.tile,
            self.model.model_id, self.model.hash_prefix, _pixel_crc(arr), meta, (len(stream),), first,
        )
        data = container.write(header, [stream])
        header_bytes = len(data) - len(stream)
        stats = CompressionStats(width, height, channels, bps, len(data), header_bytes, enc.bits, enc.escapes,
                                 len(tiles))
        return Encoded(data, stats)

    def compress(self, image, /) -> bytes:
        """Compress an image to the bytes of a .fz file."""
        return self.encode(image).data


class Decompressor:
    """Decompresses .fz data; loads (and keeps) whatever model each file names.

    Args:
        models: paths of trained ``.npz`` models that files may name besides the shipped ones.
        backend: compute backend, as for :class:`Compressor`.
    """

    def __init__(self, *, models: Iterable[str | os.PathLike] = (), backend: str | None = None):
        self.backend = backend
        self._paths = [resolve(m) for m in models]
        self._loaded: dict[tuple[str, bytes], CodecModel] = {}

    def _model_for(self, header: container.Header) -> CodecModel:
        key = (header.model_id, header.model_hash)
        if key in self._loaded:
            return self._loaded[key]
        model = None
        if find_shipped(*key):
            model = load_model(header.model_id, self.backend)
        else:
            for model_id, path, sha in self._paths:
                candidate = load_weights_file(path, model_id, self.backend, sha)
                if candidate.hash_prefix == header.model_hash:
                    model = candidate
                    break
        if model is None:
            raise UnknownModelError(
                f"this file needs model {header.model_id!r} (sha256 {header.model_hash.hex()}...), "
                "which is not available: pass its weights file with --model PATH"
            )
        self._loaded[key] = model
        return model

    def decode(self, data: bytes, /, *, progress: Progress | None = None) -> Decoded:
        """Decode a .fz file to its pixels, image info and header; checks the CRC32."""
        header, streams = container.read(bytes(data))
        model = self._model_for(header)
        tiles = tile_grid(header.height, header.width, header.tile)
        if header.tile % model.stride:
            raise FormatError("corrupt flowzip file (tiling does not match the header)")
        palette = _index_palette(header)
        if palette is None:
            groups = plane_groups(header.channels, header.bytes_per_sample)
        else:
            groups = [INDEX_GROUP]
        n_planes = sum(len(g.planes) for g in groups)
        planes = np.empty((header.height, header.width, n_planes), dtype=np.uint8)
        s = model.stride
        for done, (i, dec) in enumerate(_tile_decoders(model, header, streams, len(tiles))):
            y, x, h, w = tiles[i]
            planes[y : y + h, x : x + w] = dec.decode((padded(h, s), padded(w, s), n_planes), groups)[:h, :w]
            if progress:
                progress(done + 1, len(tiles))
        if palette is None:
            arr = from_planes(planes, header.bytes_per_sample)
        else:
            arr = from_index_plane(planes, palette)
        if _pixel_crc(arr) != header.pixel_crc:
            raise ChecksumError("decoded pixels do not match the stored CRC32 (corrupt file)")
        if header.ndim == 2:
            arr = arr[:, :, 0]
        return Decoded(arr, ImageInfo.from_meta(header.meta), header)

    def decompress(self, data: bytes, /) -> np.ndarray:
        """Decode to a numpy array shaped and typed like the compressed one."""
        return self.decode(data).array

    def decompress_image(self, data: bytes, /):
        """Decode to a PIL image with the original mode and palette."""
        return self.decode(data).to_pil()


def coding_order(tiles: int, first: int) -> list[int]:
    """The order in which the encoder codes the tiles (row by row from ``first``, wrapping
    around); the decoder meets them in the reverse order."""
    return [(first + k) % tiles for k in range(tiles)]


def seed_tile(planes: np.ndarray, tiles: list[tuple[int, int, int, int]]) -> int:
    """The tile to code first with a bits-back model: the busiest (the sum of the absolute
    differences between neighbouring samples, per sample of its planes). Its scale layers
    are the only ones that can find the stack short, and a busy tile's level-0 latent costs
    the most bits, so it funds them best (docs/experiments.md row 15: on urban_057 it cuts
    the overhead from 11.2 KB with tile 0 first to 0.2 KB; not always the best tile)."""
    def busyness(tile):
        y, x, h, w = tile
        p = planes[y : y + h, x : x + w].astype(np.int16)
        return (np.abs(np.diff(p, axis=0)).sum() + np.abs(np.diff(p, axis=1)).sum()) / p.size

    return max(range(len(tiles)), key=lambda i: (busyness(tiles[i]), -i))


def _tile_decoders(model: CodecModel, header: container.Header, streams: list[bytes], tiles: int):
    """``(tile index, decoder)`` in decode order; every stream is checked to be used up."""
    if header.version == 1:  # one stream per tile, row by row
        for i, stream in enumerate(streams):
            dec = TileDecoder(model, stream)
            yield i, dec
            dec.finish()
        return
    dec = TileDecoder(model, streams[0])
    for i in reversed(coding_order(tiles, header.first_tile)):
        yield i, dec
    dec.finish()


INDEX_GROUP = PlaneGroup("gray", (0,))  # the palette-index plane of an indexed RGB image


def _index_palette(header: container.Header) -> np.ndarray | None:
    text = header.meta.get("index_palette")
    if text is None:
        return None
    try:
        palette = np.frombuffer(base64.b64decode(text, validate=True), dtype=np.uint8).reshape(-1, 3)
    except (TypeError, ValueError, binascii.Error):
        raise FormatError("corrupt flowzip metadata (index palette)") from None
    if not 1 <= len(palette) <= 256 or header.channels != 3 or header.bytes_per_sample != 1:
        raise FormatError("corrupt flowzip metadata (index palette)")
    return palette


def _pixel_crc(arr: np.ndarray) -> int:
    return zlib.crc32(np.ascontiguousarray(arr, dtype=arr.dtype.newbyteorder("<")).tobytes())


def compress(image, /, *, model: str | os.PathLike = "default", backend: str | None = None) -> bytes:
    """Compress an image; equivalent to ``Compressor(model, backend=backend).compress(image)``.

    In a loop, build one :class:`Compressor` instead: it keeps the model loaded.
    """
    return Compressor(model, backend=backend).compress(image)


def decompress(data: bytes, /, *, models: Iterable[str | os.PathLike] = (), backend: str | None = None) -> np.ndarray:
    """Decompress to a numpy array; equivalent to ``Decompressor(...).decompress(data)``."""
    return Decompressor(models=models, backend=backend).decompress(data)


def decompress_image(data: bytes, /, *, models: Iterable[str | os.PathLike] = (), backend: str | None = None):
    """Decompress to a PIL image with its original mode and palette."""
    return Decompressor(models=models, backend=backend).decompress_image(data)


def read_header(data: bytes, /) -> container.Header:
    """The header of a .fz file (no decoding, no model needed)."""
    return container.read_header(bytes(data[: 1 << 20]))[0]
