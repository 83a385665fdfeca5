"""What the classic candidates add to a photo's encode time, and each path's speed:

    python bench/path_cost.py ../shared/data/dev/wiki_046.png [--model default] [--repeat 3]
        [--crop 512]

Encodes the image (or its top-left ``--crop`` square) with the flow alone, with the classic
predictive coder alone (no flow: :func:`flowzip.classic.encode_best` per tile) and with every
path (the default), best of ``--repeat`` alternated so that a busy machine slows all alike;
decodes each and checks the pixels; prints the times as ratios to the flow alone's.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
from PIL import Image

import flowzip
from flowzip import classic
from flowzip.image import tile_grid


def _classic_alone(a: np.ndarray, tile: int):
    """Encode then decode every tile with the classic paths alone: (encode s, decode s, bytes)."""
    tiles = tile_grid(a.shape[0], a.shape[1], tile)
    t0 = time.perf_counter()
    coded = [
        classic.encode_best(np.ascontiguousarray(a[y : y + h, x : x + w]), True)
        for y, x, h, w in tiles
    ]
    t1 = time.perf_counter()
    for (y, x, h, w), (kind, payload, _) in zip(tiles, coded, strict=True):
        back = classic.decode(kind, payload, (h, w, a.shape[2]), True)
        if not np.array_equal(back, a[y : y + h, x : x + w]):
            raise SystemExit("classic alone: round trip failed")
    t2 = time.perf_counter()
    return t1 - t0, t2 - t1, sum(len(c[1]) for c in coded)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("image")
    p.add_argument("--model", default="default")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--crop", type=int, help="code only the top-left square of this size")
    args = p.parse_args(argv)
    a = np.asarray(Image.open(args.image).convert("RGB"))
    if args.crop:
        a = np.ascontiguousarray(a[: args.crop, : args.crop])
    mpx = a.shape[0] * a.shape[1] / 1e6
    coders = {
        "flow only": flowzip.Compressor(args.model, flow_only=True),
        "all paths": flowzip.Compressor(args.model),
    }
    tile = coders["all paths"].tile
    dec = flowzip.Decompressor()
    names = ["flow only", "classic alone", "all paths"]
    best = {k: (float("inf"), float("inf"), "") for k in names}
    for c in coders.values():
        dec.decompress(c.encode(a[:64, :64]).data)  # compile and warm up
    _classic_alone(a[:64, :64], tile)
    for _ in range(args.repeat):
        for name in names:
            if name == "classic alone":
                e, d, size = _classic_alone(a, tile)
                what = f"{8 * size / a.size:.4f} bpsp (payloads)"
            else:
                t0 = time.perf_counter()
                enc = coders[name].encode(a)
                t1 = time.perf_counter()
                out = dec.decompress(enc.data)
                e, d = t1 - t0, time.perf_counter() - t1
                if not np.array_equal(out, a):
                    print(f"{name}: round trip failed", file=sys.stderr)
                    return 1
                what = f"{enc.stats.bpsp:.4f} bpsp, tiles {enc.stats.tile_paths}"
            be, bd, _ = best[name]
            best[name] = (min(be, e), min(bd, d), what)
    flow_e, flow_d, _ = best["flow only"]
    for name, (e, d, what) in best.items():
        print(
            f"{name:13s}: {what}; encode {e:.2f} s ({mpx / e:.3f} Mpx/s, {e / flow_e:.2f}x flow), "
            f"decode {d:.2f} s ({mpx / d:.3f} Mpx/s, {d / flow_d:.2f}x flow)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
