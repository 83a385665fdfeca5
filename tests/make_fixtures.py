"""Write the frozen fixture files of the current format version (tests/fixtures/v7): .fz
files that every future flowzip must decode to the stored pixels (the format's compatibility
promise). Regenerating them is a deliberate act: it needs FLOWZIP_REGENERATE_FIXTURES=1 and
belongs with a format-version bump, which writes a new folder; the older folders (v1 to v6)
stay as they are, frozen. Everything written comes from :func:`cases`: add a case there, never
edit a file by hand, and write it with ``--new``, which writes only the cases that have no file
yet (the others stay as they are). A case named ``*-flow-*`` is coded with ``flow_only=True``
(so the flow path of the current format is pinned even where a classic path would be
smaller); a case's ``attached`` metadata travels in its file (format 4). The ``tiny-*`` and
``pinned-*`` files are re-encoded byte for byte by tests/test_fixtures.py; the other
shipped-model files are decoded only.

    FLOWZIP_REGENERATE_FIXTURES=1 python tests/make_fixtures.py   # all: a format bump
    python tests/make_fixtures.py --new                           # a case just added
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

import flowzip
import flowzip.registry

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parent))  # the benchmark's variants are the fixtures' too
from bench.variants import chroma_420, jpeg, upscale_2x  # noqa: E402

OUT = HERE / "fixtures" / f"v{flowzip.FORMAT_VERSION}"
TINY = HERE / "fixtures" / "tiny-v1.npz"
TINY_BB = HERE / "fixtures" / "tiny-bb-v1.npz"  # bits-back: scale layers from level 1


@dataclass(frozen=True)
class Case:
    name: str
    model: object  # a shipped name or a .npz path
    image: object  # a PIL image or a numpy array
    attached: flowzip.Attached | None = None  # None: what the image carries

    @property
    def flow_only(self) -> bool:
        return "-flow-" in self.name


# format 4: metadata that travels with the pixels (a fixed stand-in profile: real ones carry a date)
ATTACHED = flowzip.Attached(
    icc_profile=bytes(range(256)) * 3,
    exif=bytes.fromhex(
        "4d4d002a00000008000101120003000000010006000000000000"
    ),  # big-endian, Orientation 6
    text=(
        flowzip.TextChunk("Comment", "made for flowzip's fixtures"),
        flowzip.TextChunk("Title", "\u6771\u4eac, caf\u00e9", "ja", "Tokyo"),
        flowzip.TextChunk("parameters", "steps: 20, " * 150),
    ),
)


def cases():
    """Every fixture of the current version, as :class:`Case` values."""
    for item in _cases():
        yield item if isinstance(item, Case) else Case(*item)


def _cases():
    photo = Image.open(HERE / "fixtures" / "images" / "lenna-96x80.png").convert("RGB")
    rng = np.random.default_rng(2026)
    yield "tiny-rgb", TINY, photo  # 255 colours: an indexed image
    urban = Image.open(HERE / "fixtures" / "images" / "urban051-256.png").convert("RGB")
    yield "tiny-rgb-photo", TINY, urban.crop((10, 20, 58, 60))
    yield "tiny-l", TINY, photo.convert("L")
    yield "tiny-rgba", TINY, photo.convert("RGBA").crop((0, 0, 37, 29))
    yield (
        "tiny-p",
        TINY,
        photo.convert("P", palette=Image.Palette.ADAPTIVE, colors=16).crop((3, 5, 40, 31)),
    )
    yield "tiny-u16", TINY, rng.integers(0, 65536, (9, 70)).astype(np.uint16)
    yield "tiny-1x1", TINY, np.array([[[7, 200, 33]]], dtype=np.uint8)
    yield "tiny-bb-rgb-photo", TINY_BB, urban.crop((10, 20, 74, 76))
    yield "tiny-bb-l", TINY_BB, photo.convert("L").crop((0, 0, 45, 38))
    yield "tiny-bb-1x1", TINY_BB, np.array([[[7, 200, 33]]], dtype=np.uint8)
    # six tiles of 64 on one stream: the busiest coded first, the others funded by the ones before
    yield "tiny-bb-tiles", TINY_BB, urban.crop((0, 0, 150, 100))
    # format 3: tiles by the flow alone, and the classic paths (palette, predictive, stored)
    yield "tiny-flow-rgb-photo", TINY, urban.crop((10, 20, 58, 60))
    yield "tiny-flow-l", TINY, photo.convert("L")
    yield "tiny-bb-flow-tiles", TINY_BB, urban.crop((0, 0, 150, 100))
    drawing = Image.new("RGB", (150, 100), (235, 235, 230))
    draw = ImageDraw.Draw(drawing)
    draw.rectangle((10, 10, 90, 60), fill=(20, 80, 200), outline=(0, 0, 0))
    draw.ellipse((60, 30, 140, 95), fill=(210, 40, 40))
    draw.text((12, 70), "flowzip", fill=(0, 0, 0))
    yield "tiny-graphic", TINY, drawing
    ramp = np.clip(
        np.arange(70)[None, :, None] * 3
        + np.arange(60)[:, None, None]
        + rng.integers(0, 9, (60, 70, 3)),
        0,
        255,
    ).astype(np.uint8)
    yield "tiny-ramp", TINY, ramp
    yield "tiny-noise", TINY, rng.integers(0, 256, (40, 50, 3)).astype(np.uint8)
    yield (
        "tiny-mixed",
        TINY,
        Image.fromarray(
            np.concatenate(
                [np.asarray(drawing)[:64, :128], np.asarray(urban.crop((0, 0, 128, 64)))], axis=0
            )
        ),
    )
    # format 7: 4:2:0 chroma coded at half resolution, as Pillow and as libjpeg upsample it,
    # and an image upscaled 2x (Pillow's bicubic) coded from the half-resolution image
    yield "tiny-subsampled-pillow", TINY, chroma_420(urban.crop((0, 0, 149, 101)))
    yield "tiny-subsampled-jpeg", TINY, jpeg(90)(urban.crop((0, 0, 150, 100)))
    yield "tiny-subsampled-jpeg-422", TINY, jpeg(90, subsampling=1)(urban.crop((0, 0, 150, 100)))
    yield "tiny-subsampled-upscaled", TINY, upscale_2x(urban.crop((0, 0, 150, 100)))
    # shipped models: the files name their model, so each shipped model gets its own
    # (the "default-" files were made when idf-base-v1 was the default)
    yield Case("tiny-rgb-attached", TINY, urban.crop((10, 20, 58, 60)), ATTACHED)
    yield Case(
        "tiny-p-attached",
        TINY,
        photo.convert("P", palette=Image.Palette.ADAPTIVE, colors=16).crop((3, 5, 40, 31)),
        flowzip.Attached(icc_profile=ATTACHED.icc_profile[:300]),
    )
    # the default model's encoder output, pinned: a 72x64 photo, one predictive and one flow tile
    default = flowzip.registry.default_model_name()
    yield f"pinned-{default}-photo", default, urban.crop((0, 0, 72, 64))
    yield "default-rgb", "idf-base-v1", urban.crop((0, 0, 96, 80))
    yield "default-indexed", "idf-base-v1", photo
    for entry in flowzip.registry.MODELS:
        if entry.name != "idf-base-v1":
            yield f"{entry.name}-rgb", entry.name, urban.crop((0, 0, 96, 80))


def main(argv: list[str]) -> int:
    new_only = argv == ["--new"]
    if not new_only and os.environ.get("FLOWZIP_REGENERATE_FIXTURES") != "1":
        print(
            "refusing: add a case with --new, or set FLOWZIP_REGENERATE_FIXTURES=1 "
            "(and bump the format version)",
            file=sys.stderr,
        )
        return 1
    OUT.mkdir(parents=True, exist_ok=True)
    for case in cases():
        if new_only and (OUT / f"{case.name}.fz").exists():
            continue
        data = flowzip.Compressor(case.model, tile=64, flow_only=case.flow_only).compress(
            case.image, attached=case.attached
        )
        (OUT / f"{case.name}.fz").write_bytes(data)
        decoded = flowzip.Decompressor(models=[TINY, TINY_BB]).decode(data)
        np.save(OUT / f"{case.name}.npy", decoded.array)
        print(case.name, len(data), "bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
