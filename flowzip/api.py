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
import dataclasses
import os
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np

from . import container
from .errors import ChecksumError, FormatError, UnknownModelError, UnsupportedImageError
from .files import Source, read_bytes, read_image, write_atomic
from .image import (
    ImageInfo,
    PlaneGroup,
    check_array,
    from_index_plane,
    from_pil,
    from_planes,
    pillow_default_mode,
    plane_groups,
    tile_grid,
    to_index_plane,
    to_pil,
    to_planes,
)
from .registry import (
    CodecModel,
    find_shipped,
    find_weights_file,
    load_model,
    load_weights_file,
    resolve,
)
from .threads import check_threads, thread_limit

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
    tile_paths: dict = field(default_factory=dict)  # path name ("flow", "palette", ...) -> tiles

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

    @property
    def attached(self) -> container.Attached:
        """The ICC profile, EXIF block and PNG text chunks the file carries (format 4)."""
        return self.header.attached

    def to_pil(self):
        """The image as Pillow would have opened the original (mode and palette restored; ICC
        profile, EXIF and PNG text in ``im.info``)."""
        try:
            return to_pil(self.array, self.info)
        except (TypeError, ValueError, KeyError) as e:
            raise UnsupportedImageError(
                f"cannot make a Pillow image of this {self.array.dtype} array of shape {self.array.shape}"
                f"{' in mode ' + self.info.mode if self.info.mode else ''} ({e}); use the numpy array"
            ) from None


def _as_array(image) -> tuple[np.ndarray, ImageInfo, int]:
    image = read_image(image)  # a path or file object of an image: read by Pillow
    if hasattr(image, "mode") and hasattr(image, "getpalette"):  # a PIL image
        arr, info = from_pil(image)
    else:
        arr, info = image, ImageInfo()
    ndim = np.ndim(arr)
    return check_array(arr), info, ndim


class Compressor:
    """Compresses images with one loaded model; reuse it in loops. It pickles (by its
    settings: a worker process loads the same weights, checked by sha256).

    Args:
        model: a shipped model name (see ``flowzip models``), ``"default"``, or a ``.npz``
            path written by training.
        backend: compute backend (default: ``$FLOWZIP_BACKEND`` or the fastest available).
        tile: tile size (a multiple of the model's stride).
        flow_only: code every tile with the flow (by default each tile takes the smallest of
            the flow, the classic context coders and the stored floor).
        threads: torch and numba threads while coding (default: leave them as they are,
            which is one per core).

    Example:
        >>> import pickle, numpy as np, flowzip
        >>> c = pickle.loads(pickle.dumps(flowzip.Compressor(threads=1)))
        >>> img = np.zeros((8, 8), np.uint8)
        >>> np.array_equal(flowzip.decompress(c.compress(img)), img)
        True
    """

    def __init__(
        self,
        model: str | os.PathLike = "default",
        *,
        backend: str | None = None,
        tile: int = DEFAULT_TILE,
        flow_only: bool = False,
        threads: int | None = None,
    ):
        self.threads = check_threads(threads)
        self.model: CodecModel = load_model(model, backend)
        self.model_spec = (
            model if isinstance(model, str) else os.fspath(model)
        )  # as given: name or path
        self.flow_only = flow_only
        if tile % self.model.stride or not container.MIN_TILE <= tile <= container.MAX_TILE:
            raise ValueError(
                f"tile size must be a multiple of {self.model.stride} up to {container.MAX_TILE}"
            )
        self.tile = tile

    def __getstate__(self) -> dict:
        return {
            "model": self.model_spec,
            "sha256": self.model.sha256,
            "backend": self.model.backend_name,
            "tile": self.tile,
            "flow_only": self.flow_only,
            "threads": self.threads,
        }

    def __setstate__(self, state: dict) -> None:
        self.threads = check_threads(state["threads"])
        self.model = load_model(state["model"], state["backend"], state["sha256"])
        self.model_spec, self.tile, self.flow_only = (
            state["model"],
            state["tile"],
            state["flow_only"],
        )

    def encode(
        self,
        image,
        /,
        *,
        attached: container.Attached | None = None,
        progress: Progress | None = None,
    ) -> Encoded:
        """Compress a numpy array (H, W[, C]) of uint8/uint16, a PIL image, or an image file
        (a path or a binary file object, read by Pillow), with statistics.

        ``attached``: the metadata to carry (ICC profile, EXIF, PNG text); by default what
        a PIL image (or file) carries, nothing for an array; ``flowzip.Attached()`` drops it.
        """
        with thread_limit(self.threads):
            return self._encode(image, attached, progress)

    def _encode(
        self, image, attached: container.Attached | None, progress: Progress | None
    ) -> Encoded:
        from .codec import encode_tiles

        arr, info, ndim = _as_array(image)
        if attached is None:
            attached = info.attached
        try:
            attached_bytes = len(container.attached_entries(attached))
        except ValueError as e:
            raise UnsupportedImageError(f"metadata that cannot be stored: {e}") from None
        if attached_bytes > container.MAX_ATTACHED:
            raise UnsupportedImageError(
                f"{attached_bytes:,} bytes of metadata (ICC, EXIF, text): the format holds at "
                f"most {container.MAX_ATTACHED:,}; drop it (--strip, attached=flowzip.Attached())"
            )
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
            raise UnsupportedImageError(
                f"{count} tiles of {self.tile}x{self.tile}: the format holds at most "
                f"{container.MAX_TILES}; use a larger tile"
            )
        tiles = tile_grid(height, width, self.tile)
        coded = encode_tiles(
            self.model, planes, groups, tiles, flow_only=self.flow_only, progress=progress
        )
        header = container.Header(
            width,
            height,
            channels,
            bps,
            2 if ndim == 2 else 3,
            self.tile,
            self.model.model_id,
            self.model.hash_prefix,
            0,
            meta,
            tuple(len(s) for s in coded.streams),
            coded.first_tile,
            attached=attached,
        )
        header = dataclasses.replace(
            header, pixel_crc=container.image_checksum(header, _pixel_crc(arr))
        )
        data = container.write(header, coded.streams)
        header_bytes = len(data) - sum(len(s) for s in coded.streams)
        stats = CompressionStats(
            width,
            height,
            channels,
            bps,
            len(data),
            header_bytes,
            coded.bits,
            coded.escapes,
            len(tiles),
            coded.tile_paths,
        )
        return Encoded(data, stats)

    def compress(self, image, /, *, attached: container.Attached | None = None) -> bytes:
        """Compress an image to the bytes of a .fz file (``attached`` as for :meth:`encode`)."""
        return self.encode(image, attached=attached).data


class Decompressor:
    """Decompresses .fz data; loads (and keeps) whatever model each file names.

    Args:
        models: paths of trained ``.npz`` models that files may name besides the shipped ones.
        backend: compute backend, as for :class:`Compressor`.
    """

    def __init__(
        self,
        *,
        models: Iterable[str | os.PathLike] = (),
        backend: str | None = None,
        threads: int | None = None,
    ):
        self.backend = backend
        self.threads = check_threads(threads)
        self._models = [m if isinstance(m, str) else os.fspath(m) for m in models]
        self._paths = [resolve(m) for m in self._models]
        self._loaded: dict[tuple[str, bytes], CodecModel] = {}

    def __getstate__(self) -> dict:  # the settings; a worker loads models as its files need them
        return {"models": self._models, "backend": self.backend, "threads": self.threads}

    def __setstate__(self, state: dict) -> None:
        self.__init__(models=state["models"], backend=state["backend"], threads=state["threads"])

    def _model_for(self, header: container.Header) -> CodecModel:
        key = (header.model_id, header.model_hash)
        if key in self._loaded:
            return self._loaded[key]
        model = None
        if find_shipped(*key):
            model = load_model(header.model_id, self.backend)
        else:
            found = find_weights_file(self._paths, header.model_hash)  # hashed, not loaded
            if found is not None:
                model_id, path, digest = found
                model = load_weights_file(path, model_id, self.backend, digest)
        if model is None:
            raise UnknownModelError(
                f"this file needs model {header.model_id!r} (sha256 {header.model_hash.hex()}...), "
                "which is not available: pass its weights file with --model PATH"
            )
        self._loaded[key] = model
        return model

    def decode(self, data: Source, /, *, progress: Progress | None = None) -> Decoded:
        """Decode a .fz file (bytes, a path or a binary file object) to its pixels, image info
        and header; checks the CRC32."""
        with thread_limit(self.threads):
            return self._decode(read_bytes(data), progress)

    def _decode(self, data: bytes, progress: Progress | None) -> Decoded:
        from .codec import decode_tiles, needs_flow

        header, streams = container.read(data)
        if header.tile < container.MIN_TILE:
            raise FormatError("corrupt flowzip file (tiling does not match the header)")
        model = self._model_for(header) if needs_flow(header, streams) else None
        if model is not None and header.tile % model.stride:
            raise FormatError("corrupt flowzip file (tiling does not match the header)")
        palette = _index_palette(header)
        if palette is None:
            groups = plane_groups(header.channels, header.bytes_per_sample)
        else:
            groups = [INDEX_GROUP]
        n_planes = sum(len(g.planes) for g in groups)
        planes = decode_tiles(model, header, streams, groups, n_planes, progress)
        if palette is None:
            arr = from_planes(planes, header.bytes_per_sample)
        else:
            arr = from_index_plane(planes, palette)
        if container.image_checksum(header, _pixel_crc(arr)) != header.pixel_crc:
            raise ChecksumError("decoded image does not match the stored CRC32 (corrupt file)")
        info = ImageInfo.from_meta(header.meta, header.attached)
        info.check_fits(arr)
        if header.ndim == 2:
            arr = arr[:, :, 0]
        return Decoded(arr, info, header)

    def decompress(self, data: Source, /) -> np.ndarray:
        """Decode to a numpy array shaped and typed like the compressed one."""
        return self.decode(data).array

    def decompress_image(self, data: Source, /):
        """Decode to a PIL image with the original mode and palette."""
        return self.decode(data).to_pil()


INDEX_GROUP = PlaneGroup("gray", (0,))  # the palette-index plane of an indexed RGB image


def _index_palette(header: container.Header) -> np.ndarray | None:
    text = header.meta.get("index_palette")
    if text is None:
        return None
    try:
        palette = np.frombuffer(base64.b64decode(text, validate=True), dtype=np.uint8).reshape(
            -1, 3
        )
    except (TypeError, ValueError, binascii.Error):
        raise FormatError("corrupt flowzip metadata (index palette)") from None
    if not 1 <= len(palette) <= 256 or header.channels != 3 or header.bytes_per_sample != 1:
        raise FormatError("corrupt flowzip metadata (index palette)")
    return palette


def _pixel_crc(arr: np.ndarray) -> int:
    return zlib.crc32(np.ascontiguousarray(arr, dtype=arr.dtype.newbyteorder("<")).tobytes())


def compress(
    image,
    /,
    *,
    model: str | os.PathLike = "default",
    backend: str | None = None,
    threads: int | None = None,
) -> bytes:
    """Compress an image (array, PIL image, or image file by path or binary file object);
    equivalent to ``Compressor(model, backend=backend, threads=threads).compress(image)``.

    In a loop, build one :class:`Compressor` instead: it keeps the model loaded.
    """
    return Compressor(model, backend=backend, threads=threads).compress(image)


def decompress(
    data: Source,
    /,
    *,
    models: Iterable[str | os.PathLike] = (),
    backend: str | None = None,
    threads: int | None = None,
) -> np.ndarray:
    """Decompress .fz data (bytes, a path or a binary file object) to a numpy array;
    equivalent to ``Decompressor(...).decompress(data)``."""
    return Decompressor(models=models, backend=backend, threads=threads).decompress(data)


def decompress_image(
    data: Source,
    /,
    *,
    models: Iterable[str | os.PathLike] = (),
    backend: str | None = None,
    threads: int | None = None,
):
    """Decompress to a PIL image with its original mode and palette."""
    return Decompressor(models=models, backend=backend, threads=threads).decompress_image(data)


def imread(
    source: Source, /, *, models: Iterable[str | os.PathLike] = (), threads: int | None = None
) -> np.ndarray:
    """The pixels of a .fz file (a path or a binary file object), as imagecodecs' ``imread``."""
    return decompress(source, models=models, threads=threads)


def imwrite(
    path: str | os.PathLike,
    image,
    /,
    *,
    model: str | os.PathLike = "default",
    overwrite: bool = False,
    threads: int | None = None,
) -> CompressionStats:
    """Compress ``image`` into the file ``path`` (written atomically; an existing file is
    kept unless ``overwrite``), as imagecodecs' ``imwrite``; returns its statistics.

    Example:
        >>> import os, tempfile, numpy as np, flowzip
        >>> path = os.path.join(tempfile.mkdtemp(), "x.fz")
        >>> img = np.arange(48, dtype=np.uint8).reshape(6, 8)
        >>> flowzip.imwrite(path, img).width
        8
        >>> np.array_equal(flowzip.imread(path), img)
        True
    """
    encoded = Compressor(model, threads=threads).encode(image)
    write_atomic(path, encoded.data, overwrite=overwrite)
    return encoded.stats


def read_tile_paths(data: bytes, /) -> dict[str, int]:
    """How many tiles of a .fz file each path codes (``{"flow": 3, "palette": 1}``), from its
    tile directory (no decoding; files before format 3 code every tile with the flow)."""
    from .directory import FLOW, PATH_NAMES, count_paths, read_directory

    header, offset = container.read_header(data)
    tiles = container.tile_count(header.width, header.height, header.tile)
    if header.version < 3:
        return {PATH_NAMES[FLOW]: tiles}
    directory = bytes(data[offset : offset + header.stream_sizes[0]])
    if len(directory) < header.stream_sizes[0]:
        raise FormatError("truncated flowzip file (tile directory)")
    return count_paths(read_directory(directory, tiles, header.stream_sizes[2])[0])


def read_header(data: bytes, /) -> container.Header:
    """The header of a .fz file, with its attached metadata (no decoding, no model needed)."""
    return container.read_header(data)[0]
