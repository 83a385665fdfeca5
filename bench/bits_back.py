"""What bits-back costs a single file: the seed and the stream ends, by image size.

    python bench/bits_back.py [MODEL]      # default: the default model

For crops of dev/wiki_045.png from 1x1 to 512x512 (one tile each up to 512), compresses with
MODEL, verifies the round trip, and reports the file's bytes against the model's own code
length (each scale element counted at its ideal ``log2 S - log2 R``): the difference is the
stream ends, the chunk flags and the seed chunks, of which the seed is also shown alone.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import ClassVar

import numpy as np
from PIL import Image

import flowzip
import flowzip.entropy.bitsback
from flowzip.entropy.bitsback import ScaleCoder

DEV = Path(__file__).resolve().parents[2] / "shared" / "data" / "dev"
SIZES = [(1, 1), (5, 7), (16, 16), (64, 64), (128, 128), (256, 256), (512, 512)]


class CountingScaleCoder(ScaleCoder):
    """The codec's ScaleCoder, remembered so its seed count can be read after a compress."""

    made: ClassVar[list[ScaleCoder]] = []  # every one made, read after a compress

    def __init__(self, stack):
        super().__init__(stack)
        CountingScaleCoder.made.append(self)


def main(argv: list[str]) -> int:
    model = argv[0] if argv else "default"
    # the codec imports ScaleCoder where it codes a tile; a decoder's counts no seeds
    flowzip.entropy.bitsback.ScaleCoder = CountingScaleCoder  # type: ignore[misc]  # instrumented
    photo = np.asarray(Image.open(DEV / "wiki_045.png").convert("RGB"))
    comp = flowzip.Compressor(model, tile=512)
    dec = flowzip.Decompressor(models=[model])
    print(f"model {model}")
    print(
        "| size | file bytes | model bytes | file - model - header (bytes) | of the file | seed elements | seed bytes | of the file |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for h, w in SIZES:
        img = np.ascontiguousarray(photo[:h, :w])
        CountingScaleCoder.made.clear()
        encoded = comp.encode(img)
        assert np.array_equal(dec.decompress(encoded.data), img), "round trip failed"
        s = encoded.stats
        seed_bits = sum(c.seed_bits for c in CountingScaleCoder.made)
        seed_elements = sum(c.seed_elements for c in CountingScaleCoder.made)
        extra = s.nbytes - s.header_bytes - s.bits_theoretical / 8
        print(
            f"| {h}x{w} | {s.nbytes} | {s.bits_theoretical / 8:.1f} | {extra:.1f} | {100 * extra / s.nbytes:.2f}% "
            f"| {seed_elements} | {seed_bits / 8:.1f} | {100 * seed_bits / 8 / s.nbytes:.2f}% |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
