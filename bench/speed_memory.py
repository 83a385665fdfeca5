"""Speed on a ~0.4 Mpx photo (model loaded) and peak memory on a 6 Mpx image.

    python bench/speed_memory.py speed [THREADS]       # 640x640 crop of dev/wiki_045.png
    python bench/speed_memory.py memory compress       # 3000x2000 tiling of wiki_045 (run alone:
    python bench/speed_memory.py memory decompress     #  peak RSS is per process)

Every measurement is a verified round trip.
"""
from __future__ import annotations

import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

import flowzip

DEV = Path(__file__).resolve().parents[2] / "shared" / "data" / "dev"
SIX_MPX = Path(tempfile.gettempdir()) / "flowzip-six-mpx.fz"


def photo() -> np.ndarray:
    return np.asarray(Image.open(DEV / "wiki_045.png").convert("RGB"))


def speed(threads: int) -> None:
    torch.set_num_threads(threads)
    a = np.ascontiguousarray(photo()[:640, :640])
    t = time.perf_counter()
    c, d = flowzip.Compressor(), flowzip.Decompressor()
    load = time.perf_counter() - t
    d.decompress(c.compress(a[:8, :8]))  # the decoder loads its model here
    t = time.perf_counter()
    e = c.encode(a)
    enc = time.perf_counter() - t
    t = time.perf_counter()
    ok = np.array_equal(d.decompress(e.data), a)
    dec = time.perf_counter() - t
    mpx = a.shape[0] * a.shape[1] / 1e6
    print(f"{threads} thread(s), {a.shape[1]}x{a.shape[0]} ({mpx:.2f} Mpx): model load {load:.2f} s, "
          f"compress {mpx / enc:.3f} Mpx/s, decompress {mpx / dec:.3f} Mpx/s, {e.stats.bpsp:.3f} bpsp, "
          f"round trip {'verified' if ok else 'FAILED'}")


def memory(op: str) -> None:
    src = photo()
    a = np.ascontiguousarray(np.tile(src, (-(-2000 // src.shape[0]), -(-3000 // src.shape[1]), 1))[:2000, :3000])
    if op == "compress":
        SIX_MPX.write_bytes(flowzip.compress(a))
    else:
        assert np.array_equal(flowzip.decompress(SIX_MPX.read_bytes()), a)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{op} 3000x2000 RGB: peak RSS {peak:.0f} MiB")


if __name__ == "__main__":
    if sys.argv[1:2] == ["speed"]:
        speed(int(sys.argv[2]) if len(sys.argv) > 2 else 2)
    else:
        memory(sys.argv[2])
