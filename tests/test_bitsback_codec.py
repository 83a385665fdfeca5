"""A bits-back model (scale layers from level 1) through the whole codec, with the tiny
bits-back test model: round trips of every size and mode, the same bytes on every CPU
backend, corrupt files refused, and the file within reach of the model's code length."""

from __future__ import annotations

import numpy as np
import pytest

import flowzip
from flowzip.codec import TileEncoder, coding_order, seed_tile
from flowzip.errors import FlowzipError
from flowzip.image import plane_groups, tile_grid
from flowzip.registry import load_model

from .conftest import TINY_BB_MODEL, photo_crop
from .test_api import damaged_copies


@pytest.fixture(scope="module")
def bb_compressor() -> flowzip.Compressor:
    return flowzip.Compressor(TINY_BB_MODEL, tile=64)


@pytest.fixture(scope="module")
def bb_decompressor() -> flowzip.Decompressor:
    return flowzip.Decompressor(models=[TINY_BB_MODEL])


def test_tiny_bb_model_has_scale_layers():
    model = load_model(TINY_BB_MODEL)
    assert all(f.config.bits_back and f.config.scale_from_level == 1 for f in model.flows.values())


@pytest.mark.parametrize(
    "shape,dtype",
    [
        ((1, 1, 3), np.uint8),
        ((5, 7, 3), np.uint8),
        ((1, 1), np.uint8),
        ((40, 70, 3), np.uint8),
        ((33, 65, 4), np.uint8),
        ((17, 9), np.uint16),
    ],
)
def test_random_arrays_roundtrip(bb_compressor, bb_decompressor, rng, shape, dtype):
    a = rng.integers(0, np.iinfo(dtype).max + 1, shape).astype(dtype)
    encoded = bb_compressor.encode(a)
    assert np.array_equal(bb_decompressor.decompress(encoded.data), a)


def test_photo_roundtrip_and_cost(bb_compressor, bb_decompressor):
    """The file stays within 1% + 64 bytes of the model's code length (scale layers counted
    at log2 S - log2 R each): level 1 borrows from the level-0 latent, no seed needed."""
    a = photo_crop()
    encoded = bb_compressor.encode(a)
    assert np.array_equal(bb_decompressor.decompress(encoded.data), a)
    s = encoded.stats
    assert s.nbytes - s.header_bytes <= s.bits_theoretical / 8 * 1.01 + 64 * s.tiles


@pytest.mark.parametrize("backend", ["reference", "numba"])
def test_same_bytes_on_every_cpu_backend(backend, bb_compressor):
    a = photo_crop()[:48, :40]
    data = flowzip.Compressor(TINY_BB_MODEL, tile=64, backend=backend).compress(a)
    assert data == bb_compressor.compress(a)
    assert np.array_equal(
        flowzip.Decompressor(models=[TINY_BB_MODEL], backend=backend).decompress(data), a
    )


def test_corrupt_bits_back_files_raise_flowzip_errors(bb_compressor, bb_decompressor):
    for bad in damaged_copies(bb_compressor.compress(photo_crop()[:40, :40]), seed=5, flips=16):
        with pytest.raises(FlowzipError):
            bb_decompressor.decompress(bad)


@pytest.mark.slow
def test_later_tiles_borrow_from_the_tiles_before_them():
    """One stream for all tiles (format 2): only the first tile coded can find the stack
    short; the next borrows from the whole code of the tiles before it. The shipped
    bits-back model's level 1 pops more than a flat tile's level-0 latent pushes."""
    model = load_model("idf-bb-v1")
    flat = np.full((64, 64, 3), 100, np.uint8)
    enc = TileEncoder(model)
    enc.encode(flat, plane_groups(3, 1))
    alone = enc.scales.seed_elements
    assert alone > 0
    enc.encode(flat, plane_groups(3, 1))
    assert enc.scales.seed_elements == alone
    image = np.full((128, 150, 3), 100, np.uint8)
    image[70:, 80:] = np.random.default_rng(1).integers(0, 256, (58, 70, 3))
    encoded = flowzip.Compressor("idf-bb-v1", tile=64).encode(image)
    assert flowzip.read_header(encoded.data).first_tile == 5  # the noisy corner: the busiest tile
    assert np.array_equal(flowzip.decompress(encoded.data), image)
    s = encoded.stats
    assert (
        s.nbytes - s.header_bytes <= s.bits_theoretical / 8 * 1.005 + 64
    )  # no seed: the noise funds the rest


def test_seed_tile_is_the_busiest():
    planes = np.zeros((100, 150, 1), np.uint8)
    tiles = tile_grid(100, 150, 64)
    assert seed_tile(planes, tiles) == 0  # all flat: the first
    planes[64:, 64:128] = np.arange(36 * 64, dtype=np.uint8).reshape(36, 64, 1) % 7
    assert seed_tile(planes, tiles) == 4
    assert coding_order(6, 4) == [4, 5, 0, 1, 2, 3]


def test_a_wrong_first_tile_is_refused(bb_compressor, bb_decompressor):
    """The first-tile field is under the header's CRC; resealed, a wrong one still fails cleanly."""
    import struct
    import zlib

    data = bb_compressor.compress(photo_crop())  # 96 x 80 in tiles of 64: four
    true_first = flowzip.read_header(data).first_tile
    end = 12 + struct.unpack_from("<H", data, 10)[0]
    for first in {0, 1, 2, 3} - {true_first}:
        bad = bytearray(data)
        struct.pack_into("<I", bad, end - 8, first)
        with pytest.raises(FlowzipError, match="CRC mismatch"):
            bb_decompressor.decompress(bytes(bad))
        struct.pack_into("<I", bad, end, zlib.crc32(bytes(bad[:end])))
        with pytest.raises(FlowzipError):
            bb_decompressor.decompress(bytes(bad))
