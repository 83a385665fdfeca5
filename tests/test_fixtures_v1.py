"""Frozen v1 files decode to their stored pixels, forever (see tests/make_fixtures.py)."""
from __future__ import annotations

import numpy as np
import pytest

import flowzip

from .conftest import FIXTURES, TINY_BB_MODEL, TINY_MODEL


V1 = sorted((FIXTURES / "v1").glob("*.fz"))


def test_fixtures_exist():
    assert len(V1) >= 6


@pytest.mark.parametrize("path", V1, ids=lambda p: p.stem)
def test_v1_file_decodes(path):
    data = path.read_bytes()
    assert flowzip.read_header(data).tile == 64
    decoded = flowzip.Decompressor(models=[TINY_MODEL, TINY_BB_MODEL]).decode(data)
    expected = np.load(path.with_suffix(".npy"))
    assert decoded.array.dtype == expected.dtype
    assert np.array_equal(decoded.array, expected)


@pytest.mark.parametrize("path", [p for p in V1 if p.stem.startswith("tiny-")], ids=lambda p: p.stem)
def test_v1_file_is_reproduced_by_the_encoder(path):
    """Today's encoder writes the same bytes, so a bitstream change cannot slip in unnoticed."""
    expected = np.load(path.with_suffix(".npy"))
    model = TINY_BB_MODEL if path.stem.startswith("tiny-bb-") else TINY_MODEL
    info = flowzip.Decompressor(models=[model]).decode(path.read_bytes()).to_pil()
    image = info if flowzip.read_header(path.read_bytes()).meta.get("mode") else expected
    assert flowzip.Compressor(model, tile=64).compress(image) == path.read_bytes()
