"""flowzip as a Zarr 3 codec: ``zarr.create_array(..., serializer=FlowzipCodec())``
(``pip install "flowzip[zarr]"``, zarr-python 3).

An image codec turns arrays into bytes, so in Zarr format 3 it is the array's *serializer*
(it replaces the ``bytes`` codec: it needs the chunk's shape and dtype). Chunks are coded as
by :class:`flowzip.numcodecs.Flowzip`; the metadata names the codec ``"flowzip"``, found
through the ``zarr.codecs`` entry point. Zarr format 2 arrays take the numcodecs codec as
``compressor=`` instead.

Example:
    >>> import numpy as np, zarr
    >>> from flowzip.zarr import FlowzipCodec
    >>> z = zarr.create_array(store={}, shape=(16, 16, 3), chunks=(8, 8, 3), dtype="uint8",
    ...                       serializer=FlowzipCodec(tile=64), compressors=None)
    >>> z[:] = np.arange(16 * 16 * 3, dtype=np.uint8).reshape(16, 16, 3)
    >>> int(z[9, 3, 1])
    186
"""

from __future__ import annotations

from dataclasses import dataclass, field

from zarr.abc.codec import ArrayBytesCodec
from zarr.core.common import parse_named_configuration

from .numcodecs import Flowzip

NAME = "flowzip"


@dataclass(frozen=True)
class FlowzipCodec(ArrayBytesCodec):
    """Lossless image chunks (uint8/uint16; (H, W), (H, W, C) or (N, H, W, C), C in 1..4)."""

    model: str = "default"
    tile: int = 512
    is_fixed_size = False
    _codec: Flowzip = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_codec", Flowzip(self.model, self.tile))  # keeps its model loaded

    @classmethod
    def from_dict(cls, data: dict) -> FlowzipCodec:
        _, configuration = parse_named_configuration(data, NAME, require_configuration=False)
        return cls(**(configuration or {}))  # type: ignore[arg-type]  # zarr's JSON values

    def to_dict(self) -> dict:
        return {"name": NAME, "configuration": {"model": self.model, "tile": self.tile}}

    async def _encode_single(self, chunk_array, chunk_spec):
        import asyncio

        data = await asyncio.to_thread(self._codec.encode, chunk_array.as_numpy_array())
        return chunk_spec.prototype.buffer.from_bytes(data)

    async def _decode_single(self, chunk_bytes, chunk_spec):
        import asyncio

        decoded = await asyncio.to_thread(self._codec.decode, chunk_bytes.as_numpy_array())
        decoded = decoded.reshape(chunk_spec.shape).astype(
            chunk_spec.dtype.to_native_dtype(), copy=False
        )
        return chunk_spec.prototype.nd_buffer.from_numpy_array(decoded)

    def compute_encoded_size(self, input_byte_length: int, chunk_spec) -> int:
        raise NotImplementedError  # variable size


def _register() -> None:
    from zarr.registry import register_codec

    register_codec(
        NAME, FlowzipCodec
    )  # importing this module is enough even without the entry point


_register()
