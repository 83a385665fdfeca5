"""The numcodecs codec and the Zarr 3 serializer: chunk shapes and dtypes, config through
JSON, entry points, and real Zarr directory stores reopened in a fresh process."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest

numcodecs = pytest.importorskip("numcodecs")
zarr = pytest.importorskip("zarr")

from flowzip.errors import FormatError, UnsupportedImageError  # noqa: E402
from flowzip.numcodecs import Flowzip  # noqa: E402
from flowzip.zarr import FlowzipCodec  # noqa: E402

from .conftest import TINY_MODEL  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def _codec() -> Flowzip:
    return Flowzip(model=str(TINY_MODEL), tile=32)


@pytest.mark.parametrize(
    "shape", [(9, 13), (9, 13, 1), (9, 13, 2), (9, 13, 3), (9, 13, 4), (3, 9, 13, 3), (2, 5, 6, 1)]
)
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_chunks_roundtrip(shape, dtype):
    rng = np.random.default_rng(len(shape) * 10 + shape[-1])
    chunk = rng.integers(0, np.iinfo(dtype).max + 1, shape).astype(dtype)
    codec = _codec()
    data = codec.encode(chunk)
    decoded = codec.decode(data)
    assert decoded.dtype == dtype and decoded.shape == shape and np.array_equal(decoded, chunk)
    out = np.empty(shape, dtype)
    assert codec.decode(data, out=out) is out and np.array_equal(out, chunk)
    flat = np.empty(chunk.size, dtype)  # numcodecs fills whatever shape it is given
    codec.decode(memoryview(data), out=flat)
    assert np.array_equal(flat, chunk.ravel())


def test_config_through_json_and_the_registry():
    codec = _codec()
    config = json.loads(json.dumps(codec.get_config()))
    assert config == {"id": "flowzip", "model": str(TINY_MODEL), "tile": 32}
    assert numcodecs.get_codec(config) == codec
    again = pickle.loads(pickle.dumps(codec))
    assert again == codec and again._compressor is None  # the config travels, not the model
    z3 = FlowzipCodec(model=str(TINY_MODEL), tile=32)
    assert FlowzipCodec.from_dict(json.loads(json.dumps(z3.to_dict()))) == z3


def test_bad_chunks_are_refused():
    codec = _codec()
    with pytest.raises(UnsupportedImageError, match="ndarray"):
        codec.encode(b"flat bytes")
    with pytest.raises(UnsupportedImageError):
        codec.encode(np.zeros((4, 4), np.float32))
    data = codec.encode(np.zeros((2, 8, 8), np.uint8)[..., None])
    with pytest.raises(FormatError):
        codec.decode(data[:-3])
    with pytest.raises(FormatError):
        codec.decode(b"")


def test_entry_points_are_declared():
    entry_points = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["entry-points"]
    assert entry_points["numcodecs.codecs"] == {"flowzip": "flowzip.numcodecs:Flowzip"}
    assert entry_points["zarr.codecs"] == {"flowzip": "flowzip.zarr:FlowzipCodec"}


def _entry_point_dist(folder: Path) -> Path:
    """A dist-info with pyproject's entry points, as ``pip install`` would write them, so a
    fresh process finds the codecs the way an installed flowzip's users do."""
    entry_points = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["entry-points"]
    dist = folder / "flowzip_entry_points-0.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: flowzip-entry-points\nVersion: 0.0\n"
    )
    (dist / "entry_points.txt").write_text(
        "".join(
            f"[{group}]\n" + "".join(f"{name} = {target}\n" for name, target in names.items())
            for group, names in entry_points.items()
        )
    )
    return folder


READER = """  # imports no flowzip: Zarr finds the codec through its entry point
import sys, numpy as np, zarr
z = zarr.open_array(sys.argv[1], mode="r")
expected = np.load(sys.argv[2])
assert np.array_equal(z[5:15, 3:12], expected[5:15, 3:12])  # a few chunks
assert np.array_equal(z[17, 29], expected[17, 29])            # one edge chunk
assert np.array_equal(z[:], expected)
print("read", z.metadata.zarr_format)
"""


@pytest.mark.slow
@pytest.mark.parametrize("zarr_format", [2, 3])
def test_zarr_directory_store_reopened_in_a_fresh_process(tmp_path, zarr_format):
    rng = np.random.default_rng(zarr_format)
    image = rng.integers(0, 256, (18, 30, 3), dtype=np.uint8)
    image[:, :15] = 200  # flat half: classic tiles beside flow tiles
    store = tmp_path / f"images-v{zarr_format}.zarr"
    kwargs = (
        {"compressors": _codec(), "filters": None}
        if zarr_format == 2
        else {"serializer": FlowzipCodec(model=str(TINY_MODEL), tile=32), "compressors": None}
    )
    z = zarr.create_array(
        store=str(store),
        shape=image.shape,
        chunks=(10, 10, 3),
        dtype="uint8",
        zarr_format=zarr_format,
        **kwargs,
    )
    z[:] = image
    assert any(
        "flowzip" in p.read_text() for p in store.iterdir() if p.is_file() and "zarr" in p.name
    )
    np.save(tmp_path / "expected.npy", image)
    script = tmp_path / "read.py"
    script.write_text(READER)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(_entry_point_dist(tmp_path / "ep")), str(ROOT)]),
    }
    out = subprocess.run(
        [sys.executable, str(script), str(store), str(tmp_path / "expected.npy")],
        capture_output=True,
        text=True,
        timeout=240,
        env=env,
        cwd=tmp_path,
    )
    assert out.returncode == 0 and out.stdout.split() == ["read", str(zarr_format)], out.stderr[
        -2000:
    ]


def test_partial_write_decodes_only_what_it_touches(tmp_path):
    store = tmp_path / "p.zarr"
    z = zarr.create_array(
        store=str(store),
        shape=(20, 20),
        chunks=(10, 10),
        dtype="uint16",
        compressors=_codec(),
        filters=None,
        zarr_format=2,
        fill_value=7,
    )
    z[12:14, 12:14] = 65535
    back = zarr.open_array(str(store), mode="r")[:]
    assert (back == 65535).sum() == 4 and (back == 7).sum() == 396
    assert sorted(p.name for p in store.iterdir() if not p.name.startswith(".")) == [
        "1.1"
    ]  # one chunk stored
