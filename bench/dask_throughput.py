"""Files/s of flowzip.dask.compress_files on a distributed.LocalCluster with 1 and 2 workers.

    python bench/dask_throughput.py [FOLDER] [N] [SIZE]    # default ../shared/data/dev 32 128

Cuts N crops of SIZE x SIZE from the PNGs in FOLDER into a temporary folder, then for each
cluster (1 process x 1 thread, 2 processes x 1 thread, on the loopback interface) compresses
a warm-up batch (the model load and numba's cache, once per worker) and then all N crops,
every output verified; prints files/s and Mpx/s of the timed batch.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from flowzip.files import find_images


def crops(folder: Path, n: int, size: int, out: Path) -> list[str]:
    sources = find_images(folder, recursive=False)
    urls = []
    for i in range(n):
        with Image.open(sources[i % len(sources)]) as im:
            a = np.asarray(im.convert("RGB"))
        k = i // len(sources)
        y, x = (k * size) % max(1, a.shape[0] - size), (k * size) % max(1, a.shape[1] - size)
        path = out / f"crop{i:03d}.png"
        Image.fromarray(a[y : y + size, x : x + size]).save(path)
        urls.append(str(path))
    return urls


def measure(workers: int, urls: list[str], out: Path) -> float:
    import distributed

    import flowzip.dask

    with (
        distributed.LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            silence_logs=40,
        ) as cluster,
        distributed.Client(cluster),
    ):
        warm = flowzip.dask.compress_files(
            urls[: 2 * workers], str(out / f"warm{workers}"), overwrite=True
        ).compute()
        assert all(r.ok for r in warm), [r.error for r in warm if not r.ok]
        t0 = time.perf_counter()
        results = flowzip.dask.compress_files(
            urls, str(out / f"run{workers}"), overwrite=True
        ).compute()
        seconds = time.perf_counter() - t0
    assert all(r.ok for r in results), [r.error for r in results if not r.ok]
    return seconds


def main() -> None:
    folder = Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/data/dev")
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 32
    size = int(sys.argv[3]) if len(sys.argv) > 3 else 128
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        (tmp / "in").mkdir()
        urls = crops(folder, n, size, tmp / "in")
        for workers in (1, 2):
            seconds = measure(workers, urls, tmp)
            print(
                f"{workers} worker(s): {n} files of {size}x{size} in {seconds:.1f} s = {n / seconds:.2f} files/s "
                f"({n * size * size / 1e6 / seconds:.3f} Mpx/s), all verified",
                flush=True,
            )


if __name__ == "__main__":
    main()
