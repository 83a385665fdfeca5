"""The classic paths alone (flowzip.classic, no flow) on a folder of images, against PNG:

    python bench/classic_paths.py ../shared/data/dev-graphics [--max-images N] [--tile 512]

Per image: PNG (Pillow, optimize) and the smallest classic path per tile, in bpsp (payload
plus 5 bytes of directory a tile, no file header); per set the bpsp of each path where it
applies, how many tiles each path won, and encode / decode speed of the chosen paths
(every tile decoded and compared). The quick loop for tuning the context coders; the codec
itself (the flow beside them) is measured by ``python -m bench``.
"""

from __future__ import annotations

import argparse
import collections
import io
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

from flowzip import classic
from flowzip.directory import PATH_NAMES


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("folder")
    p.add_argument("--max-images", type=int)
    p.add_argument("--tile", type=int, default=512)
    args = p.parse_args(argv)
    files = sorted(Path(args.folder).glob("*.png"))[: args.max_images]
    if not files:
        print(f"no PNG files in {args.folder}", file=sys.stderr)
        return 1
    classic.encode_best(np.zeros((8, 8, 3), np.uint8), True)  # compile before timing
    classic.decode(*classic.encode_best(np.zeros((8, 8, 3), np.uint8), True)[:2], (8, 8, 3), True)
    totals: collections.Counter = collections.Counter()
    wins: collections.Counter = collections.Counter()
    t_enc = t_dec = 0.0
    subpixels = 0
    worst = (0.0, "")
    for f in files:
        a = np.asarray(Image.open(f).convert("RGB"))
        buf = io.BytesIO()
        Image.fromarray(a).save(buf, format="PNG", optimize=True)
        png = len(buf.getvalue())
        h, w, _ = a.shape
        size = 0
        per_kind: collections.Counter = collections.Counter()
        for y in range(0, h, args.tile):
            for x in range(0, w, args.tile):
                tile = np.ascontiguousarray(a[y : y + args.tile, x : x + args.tile])
                t0 = time.perf_counter()
                found = list(classic.candidates(tile, True))
                t_enc += time.perf_counter() - t0
                for kind, payload, _ in found:
                    per_kind[kind] += len(payload)
                kind, payload, _ = min(found, key=lambda c: len(c[1]))
                wins[PATH_NAMES[kind]] += 1
                size += len(payload) + 5
                t0 = time.perf_counter()
                back = classic.decode(kind, payload, tile.shape, True)
                t_dec += time.perf_counter() - t0
                if not np.array_equal(back, tile):
                    print(f"{f.name}: tile ({y}, {x}) does not round-trip", file=sys.stderr)
                    return 1
        n = 3 * h * w
        subpixels += n
        totals["png"] += png
        totals["best"] += size
        worst = max(worst, (size / png, f.name))
        print(
            f"{f.name[:44]:44s} png {8 * png / n:.3f}  classic {8 * size / n:.3f}  ({size / png:.2f} of PNG)"
        )
    print(
        f"\n{len(files)} images: PNG {8 * totals['png'] / subpixels:.4f} bpsp, classic {8 * totals['best'] / subpixels:.4f}"
        f"; tiles won {dict(wins)}; worst {worst[1]} at {worst[0]:.2f}x PNG"
    )
    print(
        f"encode (every candidate) {subpixels / 3 / t_enc / 1e6:.2f} Mpx/s, decode {subpixels / 3 / t_dec / 1e6:.2f} Mpx/s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
