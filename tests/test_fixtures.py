"""Frozen files of every format version decode to their stored pixels, forever; today's
encoder writes the current version's byte for byte, with the tiny test models and with the
default shipped model (see tests/make_fixtures.py)."""

from __future__ import annotations

import numpy as np
import pytest

import flowzip
from flowzip.registry import default_model_name

from .conftest import FIXTURES, TINY_BB_MODEL, TINY_MODEL

OLDER = {v: sorted((FIXTURES / f"v{v}").glob("*.fz")) for v in range(1, flowzip.FORMAT_VERSION)}
CURRENT = sorted((FIXTURES / f"v{flowzip.FORMAT_VERSION}").glob("*.fz"))


def test_fixtures_exist():
    assert all(len(files) >= 6 for files in OLDER.values()) and len(CURRENT) >= 6
    for files in OLDER.values():  # every case is written again in the current version
        assert {p.name for p in files} <= {p.name for p in CURRENT}
    # the current version pins each tile path
    paths = set()
    for p in CURRENT:
        paths |= set(flowzip.read_tile_paths(p.read_bytes()))
    assert paths == {"flow", "palette", "predictive", "stored", "subsampled"}
    # and format 4's attached metadata, of every kind
    carried = [flowzip.read_header(p.read_bytes()).attached for p in CURRENT]
    assert any(a.icc_profile and a.exif and any(t.language for t in a.text) for a in carried)


@pytest.mark.parametrize(
    "path",
    [p for files in OLDER.values() for p in files] + CURRENT,
    ids=lambda p: f"{p.parent.name}-{p.stem}",
)
def test_file_decodes(path):
    data = path.read_bytes()
    header = flowzip.read_header(data)
    assert header.tile == 64 and f"v{header.version}" == path.parent.name
    decoded = flowzip.Decompressor(models=[TINY_MODEL, TINY_BB_MODEL]).decode(data)
    expected = np.load(path.with_suffix(".npy"))
    assert decoded.array.dtype == expected.dtype
    assert np.array_equal(decoded.array, expected)


def test_the_default_models_encoder_output_is_pinned():
    pinned = [p for p in CURRENT if p.stem.startswith(f"pinned-{default_model_name()}-")]
    assert pinned, "add a pinned- case of the default model to tests/make_fixtures.py"
    paths = set()
    for p in pinned:
        paths |= set(flowzip.read_tile_paths(p.read_bytes()))
    assert "flow" in paths and len(paths) > 1  # the flow, and a tile that another path won


@pytest.mark.parametrize(
    "path", [p for p in CURRENT if p.stem.startswith(("tiny-", "pinned-"))], ids=lambda p: p.stem
)
def test_file_is_reproduced_by_the_encoder(path):
    """Today's encoder writes the same bytes, so a bitstream change cannot slip in unnoticed."""
    expected = np.load(path.with_suffix(".npy"))
    if path.stem.startswith("pinned-"):  # a shipped model, named by the file
        model = flowzip.read_header(path.read_bytes()).model_id
    else:
        model = TINY_BB_MODEL if path.stem.startswith("tiny-bb-") else TINY_MODEL
    decoded = flowzip.Decompressor(models=[model]).decode(path.read_bytes())
    image = decoded.to_pil() if decoded.header.meta.get("mode") else expected
    flow_only = "-flow-" in path.stem
    again = flowzip.Compressor(model, tile=64, flow_only=flow_only).compress(
        image, attached=decoded.attached
    )
    assert again == path.read_bytes()
