"""A bits-back model (scale layers from level 1) through the whole codec, with the tiny
bits-back test model: round trips of every size and mode, the same bytes on every CPU
backend, corrupt files refused, and the file within reach of the model's code length."""
from __future__ import annotations

import numpy as np
import pytest

import flowzip
from flowzip.errors import FlowzipError
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
    [((1, 1, 3), np.uint8), ((5, 7, 3), np.uint8), ((1, 1), np.uint8), ((40, 70, 3), np.uint8),
     ((33, 65, 4), np.uint8), ((17, 9), np.uint16)],
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
    assert np.array_equal(flowzip.Decompressor(models=[TINY_BB_MODEL], backend=backend).decompress(data), a)


def test_corrupt_bits_back_files_raise_flowzip_errors(bb_compressor, bb_decompressor):
    for bad in damaged_copies(bb_compressor.compress(photo_crop()[:40, :40]), seed=5, flips=16):
        with pytest.raises(FlowzipError):
            bb_decompressor.decompress(bad)
