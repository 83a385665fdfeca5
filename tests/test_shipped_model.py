"""The shipped models: registry integrity and a real end-to-end round trip."""

from __future__ import annotations

import hashlib
import io
from importlib import resources

import numpy as np
import pytest
from PIL import Image

import flowzip
import flowzip.registry
from flowzip.registry import MODELS

from .conftest import FIXTURES


def test_registry_table():
    assert sum(m.default for m in MODELS) == 1
    assert len({m.name for m in MODELS}) == len(MODELS)
    for m in MODELS:
        data = resources.files("flowzip.weights").joinpath(m.file).read_bytes()
        assert hashlib.sha256(data).hexdigest() == m.sha256, m.name
        assert len(data) < 20 * 2**20
        loaded = flowzip.registry.load_model(m.name)
        assert m.bits_back == any(f.config.bits_back for f in loaded.flows.values()), m.name


@pytest.mark.slow
def test_default_model_beats_png_on_a_photo():
    image = Image.open(FIXTURES / "images" / "urban051-256.png").convert("RGB")
    pixels = np.asarray(image)
    encoded = flowzip.Compressor("default").encode(image)
    assert np.array_equal(flowzip.decompress(encoded.data), pixels)
    png = io.BytesIO()
    image.save(png, format="PNG", optimize=True)
    assert encoded.stats.nbytes < len(png.getvalue())
    # the file is within 1% + 64 bytes of the model's own code length, plus the header
    s = encoded.stats
    assert s.nbytes - s.header_bytes <= s.bits_theoretical / 8 * 1.01 + 64


def test_default_model_grayscale_and_alpha():
    image = Image.open(FIXTURES / "images" / "lenna-96x80.png").convert("RGBA")
    image.putalpha(Image.open(FIXTURES / "images" / "lenna-96x80.png").convert("L"))
    back = flowzip.decompress_image(flowzip.compress(image))
    assert back.mode == "RGBA" and back.tobytes() == image.tobytes()


@pytest.mark.slow
def test_whole_file_within_one_percent_plus_64_bytes_of_the_model():
    pixels = np.asarray(Image.open(FIXTURES / "images" / "urban051-256.png").convert("RGB"))
    c = flowzip.Compressor("default")
    for side in (32, 64, 256):
        s = c.encode(np.ascontiguousarray(pixels[:side, :side])).stats
        assert s.nbytes <= s.bits_theoretical / 8 * 1.01 + 64, side


@pytest.mark.slow
def test_bits_back_models_pay_under_half_a_percent_on_a_one_tile_photo():
    """Issue 6's bar for a single file: the seed (chunks coded without bits-back), the chunk
    lists and the stream's ends together under 0.5% (a 256x256 photo crop, one tile)."""
    pixels = np.asarray(Image.open(FIXTURES / "images" / "urban051-256.png").convert("RGB"))
    for m in MODELS:
        if m.bits_back:
            encoded = flowzip.Compressor(m.name).encode(pixels)
            assert np.array_equal(flowzip.decompress(encoded.data), pixels)
            s = encoded.stats
            assert s.nbytes - s.header_bytes <= s.bits_theoretical / 8 * 1.005 + 64, m.name
