"""Decode speed on one thread and on two: classic tiles decode in parallel (threads=).

    python bench/decode_threads.py IMAGE... [--repeat 3] [--model default]

Each image is encoded once; then decoded with ``threads=1`` and ``threads=2`` alternately,
best of ``--repeat`` (a busy machine slows both alike), every decode checked against the
pixels; prints Mpx/s for each and their ratio, and which paths the tiles took.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from PIL import Image

import flowzip


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("images", nargs="+")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--model", default="default")
    args = ap.parse_args(argv)
    decoders = {n: flowzip.Decompressor(threads=n) for n in (1, 2)}
    for path in args.images:
        image = np.asarray(Image.open(path).convert("RGB"))
        data = flowzip.Compressor(args.model).compress(image)
        best = {n: float("inf") for n in decoders}
        for _ in range(args.repeat):
            for n, dec in decoders.items():
                t0 = time.perf_counter()
                out = dec.decompress(data)
                best[n] = min(best[n], time.perf_counter() - t0)
                if not np.array_equal(out, image):
                    raise SystemExit(f"{path}: round trip failed")
        mpx = image.shape[0] * image.shape[1] / 1e6
        print(
            f"{path}: {mpx:.2f} Mpx, tiles {flowzip.read_tile_paths(data)}, decode "
            f"1 thread {mpx / best[1]:.2f} Mpx/s, 2 threads {mpx / best[2]:.2f} Mpx/s "
            f"({best[1] / best[2]:.2f}x)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
