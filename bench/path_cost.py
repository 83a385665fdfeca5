"""What the classic candidates add to a photo's encode time, and each path's speed:

    python bench/path_cost.py ../shared/data/dev/wiki_046.png [--model default] [--repeat 3]

Encodes the image with the flow alone and with every path (best of ``--repeat``, alternated
so that a busy machine slows both alike), decodes both and checks the pixels.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
from PIL import Image

import flowzip


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("image")
    p.add_argument("--model", default="default")
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args(argv)
    a = np.asarray(Image.open(args.image).convert("RGB"))
    mpx = a.shape[0] * a.shape[1] / 1e6
    coders = {
        "flow only": flowzip.Compressor(args.model, flow_only=True),
        "all paths": flowzip.Compressor(args.model),
    }
    dec = flowzip.Decompressor()
    best = {k: (float("inf"), float("inf"), None) for k in coders}
    for c in coders.values():
        c.encode(a[:64, :64])  # compile and warm up
    for _ in range(args.repeat):
        for name, c in coders.items():
            t0 = time.perf_counter()
            enc = c.encode(a)
            t1 = time.perf_counter()
            out = dec.decompress(enc.data)
            t2 = time.perf_counter()
            if not np.array_equal(out, a):
                print(f"{name}: round trip failed", file=sys.stderr)
                return 1
            e, d, _ = best[name]
            best[name] = (min(e, t1 - t0), min(d, t2 - t1), enc.stats)
    for name, (e, d, stats) in best.items():
        print(
            f"{name:9s}: {stats.bpsp:.4f} bpsp, tiles {stats.tile_paths}, encode {e:.2f} s ({mpx / e:.3f} Mpx/s), "
            f"decode {d:.2f} s ({mpx / d:.3f} Mpx/s)"
        )
    ratio = best["all paths"][0] / best["flow only"][0]
    print(f"encode time with every path: {ratio:.2f}x the flow alone's")
    return 0


if __name__ == "__main__":
    sys.exit(main())
