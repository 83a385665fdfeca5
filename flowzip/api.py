"""The public API: one-shot :func:`compress` / :func:`decompress` and reusable
:class:`Compressor` / :class:`Decompressor` objects that keep a model loaded.

A front only: it takes what callers hand it (arrays, PIL images, paths, file objects),
loads models and limits threads; the image codec itself (tiling, tile order, streams,
metadata, checksum) is :mod:`flowzip.codec`, whose typed results it returns.

Example:
    >>> import numpy as np, flowzip
    >>> img = np.random.default_rng(0).integers(0, 256, (5, 7, 3), dtype=np.uint8)
    >>> data = flowzip.compress(img)
    >>> np.array_equal(flowzip.decompress(data), img)
    True
"""

from __future__ import annotations

import os
from collections.abc import Iterable

import numpy as np

from . import container
from .codec import (
    CodecModel,
    CompressionStats,
    Decoded,
    Encoded,
    Progress,
    check_tile,
    decode_image,
    encode_image,
)
from .errors import FormatError, UnknownModelError
from .files import Source, read_bytes, read_image, write_atomic
from .image import ImageInfo, check_array, from_pil
from .registry import find_shipped, find_weights_file, load_model, load_weights_file, resolve
from .threads import check_threads, thread_limit

DEFAULT_TILE = 512


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
        check_tile(tile, self.model.stride)
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
        arr, info, ndim = _as_array(image)
        return encode_image(
            self.model,
            arr,
            info,
            ndim=ndim,
            tile=self.tile,
            attached=info.attached if attached is None else attached,
            flow_only=self.flow_only,
            progress=progress,
        )

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
        Decompressor.__init__(
            self, models=state["models"], backend=state["backend"], threads=state["threads"]
        )

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
        return decode_image(data, self._model_for, progress)

    def decompress(self, data: Source, /) -> np.ndarray:
        """Decode to a numpy array shaped and typed like the compressed one."""
        return self.decode(data).array

    def decompress_image(self, data: Source, /):
        """Decode to a PIL image with the original mode and palette."""
        return self.decode(data).to_pil()


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
