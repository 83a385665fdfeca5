"""Shared fixtures: the tiny frozen test model keeps the suite fast; a few tests use the
shipped model end to end."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import flowzip

FIXTURES = Path(__file__).parent / "fixtures"
TINY_MODEL = FIXTURES / "tiny-v1.npz"
TINY_BB_MODEL = FIXTURES / "tiny-bb-v1.npz"  # bits-back: scale layers from level 1


@pytest.fixture(scope="session")
def tiny_model() -> Path:
    return TINY_MODEL


@pytest.fixture(scope="session")
def compressor() -> flowzip.Compressor:
    return flowzip.Compressor(TINY_MODEL, tile=64)


@pytest.fixture(scope="session")
def decompressor() -> flowzip.Decompressor:
    return flowzip.Decompressor(models=[TINY_MODEL])


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


def photo_crop() -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(FIXTURES / "images" / "lenna-96x80.png").convert("RGB"))
