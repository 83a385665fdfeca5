"""Real-world variants of a folder of photos, as benchmark sets: what photos look like after
the processing they usually went through before anyone asks for lossless coding.

    python bench/variants.py OUT [--src DIR] [--sets dev-420,dev-jpeg90,dev-jpeg95,dev-up2] [--force]

writes ``OUT/<set>/<name>.png`` for every image of ``--src`` (default ../shared/data/dev,
beside the repository), each converted to RGB first:

- ``dev-420``: 4:2:0 chroma. Pillow's RGB -> YCbCr (JPEG's full-range BT.601), Cb and Cr
  box-filtered down to half width and height (rounded up), resized back bilinear, then
  YCbCr -> RGB.
- ``dev-jpeg90``, ``dev-jpeg95``: a Pillow JPEG round trip at quality 90 and 95, with
  Pillow's default chroma subsampling (4:2:0), decoded back to RGB.
- ``dev-up2``: the centre crop of half the width and height (w // 2 x h // 2), upscaled
  2x bicubic: about as many pixels as the source, the look of an upscaled image.

Every step is a fixed Pillow operation, so the same sources give the same pixels (with the
same Pillow and libjpeg). The output folder is meant to live outside the repository.
"""

from __future__ import annotations

import argparse
import io
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from PIL import Image

from flowzip.files import find_images

REPO = Path(__file__).resolve().parent.parent
DEFAULT_SRC = REPO.parent / "shared" / "data" / "dev"


def chroma_420(im: Image.Image) -> Image.Image:
    w, h = im.size
    y, cb, cr = im.convert("YCbCr").split()
    half = ((w + 1) // 2, (h + 1) // 2)
    cb, cr = (
        ch.resize(half, Image.Resampling.BOX).resize((w, h), Image.Resampling.BILINEAR)
        for ch in (cb, cr)
    )
    return Image.merge("YCbCr", (y, cb, cr)).convert("RGB")


def jpeg(quality: int, subsampling: int = -1) -> Callable[[Image.Image], Image.Image]:
    """A JPEG round trip; ``subsampling`` as Pillow's (-1 its default, 4:2:0; 1 is 4:2:2)."""

    def round_trip(im: Image.Image) -> Image.Image:
        buf = io.BytesIO()
        im.save(buf, format="JPEG", quality=quality, subsampling=subsampling)
        buf.seek(0)
        with Image.open(buf) as out:
            return out.convert("RGB")

    return round_trip


def upscale_2x(im: Image.Image) -> Image.Image:
    w, h = im.size
    cw, ch = max(1, w // 2), max(1, h // 2)
    x0, y0 = (w - cw) // 2, (h - ch) // 2
    return im.crop((x0, y0, x0 + cw, y0 + ch)).resize((2 * cw, 2 * ch), Image.Resampling.BICUBIC)


VARIANTS: dict[str, Callable[[Image.Image], Image.Image]] = {
    "dev-420": chroma_420,
    "dev-jpeg90": jpeg(90),
    "dev-jpeg95": jpeg(95),
    "dev-up2": upscale_2x,
}


def sources(src: Path) -> list[Path]:
    """The image files directly in ``src`` (not hidden), in name order: the sets are flat."""
    return find_images(src, recursive=False)


def build(
    out: Path, src: Path, sets: Sequence[str], log: Callable[[str], None] | None = None
) -> dict[str, list[Path]]:
    """Write every variant set; returns the files written per set."""
    files = sources(src)
    written: dict[str, list[Path]] = {name: [] for name in sets}
    for path in files:
        with Image.open(path) as im:
            rgb = im.convert("RGB")
        for name in sets:
            target = out / name / f"{path.stem}.png"
            target.parent.mkdir(parents=True, exist_ok=True)
            VARIANTS[name](rgb).save(target, format="PNG")
            written[name].append(target)
        if log:
            log(f"{path.name}: {', '.join(sets)}")
    return written


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python bench/variants.py", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "out",
        metavar="OUT",
        type=Path,
        help="folder for OUT/<set>/<name>.png (outside the repository)",
    )
    parser.add_argument(
        "--src", type=Path, default=DEFAULT_SRC, help=f"folder of photos (default {DEFAULT_SRC})"
    )
    parser.add_argument(
        "--sets", default=",".join(VARIANTS), help=f"comma-separated, of {','.join(VARIANTS)}"
    )
    parser.add_argument(
        "--force", action="store_true", help="write into set folders that are not empty"
    )
    args = parser.parse_args(argv)
    sets = list(dict.fromkeys(s.strip() for s in args.sets.split(",") if s.strip()))
    unknown = [s for s in sets if s not in VARIANTS]
    if unknown or not sets:
        parser.error(
            f"unknown sets {unknown} (known: {', '.join(VARIANTS)})" if unknown else "no sets"
        )
    if args.out.resolve().is_relative_to(REPO):
        print(
            f"variants: {args.out} is inside the repository: derived images are never committed; "
            "use e.g. ../bench-sets",
            file=sys.stderr,
        )
        return 1
    if not args.src.is_dir() or not sources(args.src):
        print(f"variants: {args.src}: no images", file=sys.stderr)
        return 1
    full = [s for s in sets if (args.out / s).is_dir() and any((args.out / s).iterdir())]
    if full and not args.force:
        print(
            f"variants: not empty: {', '.join(str(args.out / s) for s in full)} (--force writes into them)",
            file=sys.stderr,
        )
        return 1
    written = build(args.out, args.src, sets, log=print)
    for name, paths in written.items():
        print(f"variants: {len(paths)} images -> {args.out / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
