"""flowzip.dask on a real distributed.LocalCluster: 2 worker processes on the loopback
interface, started and stopped here; one model load per worker; every output verified."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

distributed = pytest.importorskip("distributed")
import dask.bag as db  # noqa: E402

import flowzip  # noqa: E402
import flowzip.dask  # noqa: E402

from .conftest import TINY_MODEL  # noqa: E402


@pytest.fixture(scope="module")
def client():
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            silence_logs=40,
        ) as cluster,
        distributed.Client(cluster) as c,
    ):
        yield c


def _images(folder, n: int) -> list[str]:
    rng = np.random.default_rng(11)
    folder.mkdir()
    urls = []
    for i in range(n):
        path = folder / f"img{i}.png"
        Image.fromarray(rng.integers(0, 256, (16 + i, 20, 3), dtype=np.uint8)).save(path)
        urls.append(f"file://{path}")
    return urls


@pytest.mark.slow
def test_compress_and_decompress_files_on_two_workers(client, tmp_path):
    urls = [*_images(tmp_path / "in", 6), f"file://{tmp_path}/in/missing.png"]
    out = f"file://{tmp_path}/out"
    results = flowzip.dask.compress_files(urls, out, model=str(TINY_MODEL), tile=32).compute()
    assert [r.ok for r in results] == [True] * 6 + [False]
    assert "No such file" in results[-1].error or "missing" in results[-1].error
    written = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert written == [f"img{i}.png.fz" for i in range(6)]
    for i, r in enumerate(results[:6]):
        local = np.asarray(Image.open(tmp_path / "in" / f"img{i}.png"))
        assert r.stats.height == 16 + i
        assert np.array_equal(
            flowzip.imread(tmp_path / "out" / f"img{i}.png.fz", models=[TINY_MODEL]), local
        )
    arrays = flowzip.dask.decompress_files(
        [r.output for r in results[:6]], models=[TINY_MODEL]
    ).compute()
    assert [a.shape for a in arrays] == [(16 + i, 20, 3) for i in range(6)]
    # one model load per worker process, however many files it took
    loads = client.run(lambda: flowzip.dask._compressor.cache_info().misses)
    assert len(loads) == 2 and set(loads.values()) <= {0, 1} and sum(loads.values()) >= 1
    again = flowzip.dask.compress_files(urls[:1], out, model=str(TINY_MODEL), tile=32).compute()
    assert "already exists" in again[0].error


@pytest.mark.slow
def test_compress_images_bag(client):
    rng = np.random.default_rng(2)
    images = [
        rng.integers(0, 65536, (5, 7)).astype(np.uint16),
        rng.integers(0, 256, (9, 3, 4), dtype=np.uint8),
    ]
    data = flowzip.dask.compress_images(
        db.from_sequence(images, npartitions=2), model=str(TINY_MODEL)
    ).compute()
    assert all(
        np.array_equal(flowzip.decompress(d, models=[TINY_MODEL]), i)
        for d, i in zip(data, images, strict=True)
    )
