"""The subsampled path (flowzip.subsampled): 4:2:0 chroma, or a 2x upscaled image, coded from
its planes at half resolution, exactly."""

from __future__ import annotations

import dataclasses
import importlib.util
import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import flowzip
from flowzip import classic, container, directory
from flowzip import subsampled as chroma
from flowzip.errors import FormatError

from .conftest import FIXTURES, TINY_MODEL

URBAN = FIXTURES / "images" / "urban051-256.png"


def _bench_variants():
    """bench/variants.py, the benchmark's variants (a script folder, not an installed
    package: loaded from its path)."""
    path = Path(__file__).resolve().parent.parent / "bench" / "variants.py"
    spec = importlib.util.spec_from_file_location("bench_variants", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_VARIANTS = _bench_variants()
chroma_420, jpeg, upscale_2x = _VARIANTS.chroma_420, _VARIANTS.jpeg, _VARIANTS.upscale_2x


def urban(box=(0, 0, 150, 100)) -> Image.Image:
    return Image.open(URBAN).convert("RGB").crop(box)


def test_pillow_tables_are_pillows_conversion():
    cb, cr = np.meshgrid(np.arange(256), np.arange(256), indexing="ij")
    t = chroma.pillow_tables()
    for y in (0, 1, 77, 128, 254, 255):
        ycc = np.stack([np.full_like(cb, y), cb, cr], axis=-1).astype(np.uint8)
        pillow = np.asarray(Image.fromarray(ycc, "YCbCr").convert("RGB"))
        assert np.array_equal(t.rgb(np.full_like(cb, y), cb, cr), pillow)


def test_libjpeg_tables_are_the_decoders_conversion():
    buf = io.BytesIO()
    urban((0, 0, 96, 64)).save(buf, format="JPEG", quality=80)  # 4:2:0
    with Image.open(io.BytesIO(buf.getvalue())) as im:
        rgb = np.asarray(im.convert("RGB"))
    with Image.open(io.BytesIO(buf.getvalue())) as im:
        im.draft("YCbCr", im.size)  # the decoder's planes before its colour conversion
        ycc = np.asarray(im).astype(np.int64)
    assert np.array_equal(chroma.libjpeg_tables().rgb(*(ycc[..., i] for i in range(3))), rgb)


@pytest.mark.parametrize("size", [(1, 2), (3, 5), (24, 48), (125, 250), (181, 361), (7, 7)])
@pytest.mark.parametrize("cubic", [False, True])
def test_pillow_taps_are_pillows_resize(size, cubic, rng):
    n_in, n_out = size
    a = rng.integers(0, 256, (5, n_in), dtype=np.uint8)
    kind = Image.Resampling.BICUBIC if cubic else Image.Resampling.BILINEAR
    pillow = np.asarray(Image.fromarray(a).resize((n_out, 5), kind))
    taps = chroma.pillow_taps(n_in, n_out, cubic)
    assert np.array_equal(taps.apply(a.astype(np.int64), 1), pillow)


def test_fancy_taps_are_a_triangle_with_replicated_edges():
    up = chroma.fancy_taps(3, 6, vertical=False)
    colsums = np.array([[400, 800, 40]])  # 4x the samples 100, 200, 10, as the column pass gives
    # (3 * this + that + 8 or 7) >> 4, the edges replicating their sample
    expected = [100, (3 * 400 + 800 + 7) >> 4, (3 * 800 + 400 + 8) >> 4, (3 * 800 + 40 + 7) >> 4]
    expected += [(3 * 40 + 800 + 8) >> 4, 10]
    assert up.apply(colsums, 1)[0].tolist() == expected
    down = chroma.fancy_taps(2, 3, vertical=True)
    assert down.apply(np.array([[10], [20]]), 0)[:, 0].tolist() == [40, 3 * 10 + 20, 3 * 20 + 10]


@pytest.mark.parametrize(
    "make, method",
    [
        (chroma_420, chroma.PILLOW),
        (jpeg(90), chroma.LIBJPEG),
        (jpeg(90, subsampling=1), chroma.LIBJPEG_422),
        (upscale_2x, chroma.PILLOW_BICUBIC),
    ],
)
def test_recover_finds_the_planes_and_the_method(make, method):
    found = chroma.recover(np.asarray(make(urban((0, 0, 149, 101)))))
    assert found is not None and found.method.code == method
    assert found.residual_share < 0.05


def test_recover_declines_full_chroma():
    assert chroma.recover(np.asarray(urban())) is None


@pytest.mark.parametrize("band", [256, 16])  # 16: the bands' chroma rows disagree at seams
@pytest.mark.parametrize("make", [chroma_420, jpeg(90, subsampling=1), upscale_2x])
def test_every_tile_decodes_exactly(band, make):
    rgb = np.asarray(make(urban((0, 0, 149, 101))))
    found = chroma.recover(rgb, band=band, margin=2)
    assert found is not None
    h, w = rgb.shape[:2]
    for y in range(0, h, 48):
        for x in range(0, w, 64):
            rect = (y, x, min(48, h - y), min(64, w - x))
            _, payload, _ = chroma.encode_tile(found, rect)
            tile = chroma.decode_tile(payload, rect, (h, w))
            assert np.array_equal(tile, rgb[y : y + rect[2], x : x + rect[3]])


def test_a_subsampled_image_codes_smaller_and_exactly():
    im = chroma_420(urban((0, 0, 149, 101)))
    data = flowzip.Compressor(TINY_MODEL, tile=64).compress(im)
    header, _ = container.read(data)
    assert header.version == container.FORMAT_VERSION == 7
    assert np.array_equal(flowzip.decompress(data, models=[TINY_MODEL]), np.asarray(im))
    rgb = np.asarray(im)
    tiles = [(y, x) for y in range(0, 101, 64) for x in range(0, 149, 64)]
    classic_bytes = sum(
        len(classic.encode_best(np.ascontiguousarray(rgb[y : y + 64, x : x + 64]), True)[1])
        for y, x in tiles
    )
    assert len(data) < 0.9 * classic_bytes


def test_forged_payloads_fail_cleanly():
    rgb = np.asarray(chroma_420(urban((0, 0, 40, 30))))
    found = chroma.recover(rgb)
    assert found is not None
    rect = (0, 0, 30, 40)
    _, payload, _ = chroma.encode_tile(found, rect)
    for bad in (b"", b"\x09" + payload[1:], payload[:-1], payload + b"\x00", payload[:7]):
        with pytest.raises(FormatError):
            chroma.decode_tile(bad, rect, (30, 40))


def test_a_version_6_file_may_not_hold_subsampled_tiles():
    im = chroma_420(urban((0, 0, 60, 40)))
    data = flowzip.Compressor(TINY_MODEL, tile=64).compress(im)
    header, streams = container.read(data)
    assert streams[0][0] == flowzip.directory.SUBSAMPLED
    older = container.write(dataclasses.replace(header, version=6), streams)
    with pytest.raises(FormatError, match="subsampled"):
        flowzip.decompress(older, models=[TINY_MODEL])


def test_the_fixtures_pin_every_method():
    methods = set()
    for name in ("pillow", "jpeg", "jpeg-422", "upscaled"):
        data = (FIXTURES / "v7" / f"tiny-subsampled-{name}.fz").read_bytes()
        header, streams = container.read(data)
        tiles = container.tile_count(header.width, header.height, header.tile)
        kinds, offsets = directory.read_directory(streams[0], tiles, len(streams[2]))
        assert set(kinds) == {directory.SUBSAMPLED}
        methods |= {streams[2][offsets[i]] for i in range(tiles)}
    assert methods == set(chroma.METHODS)


def test_the_frozen_tables_are_what_measuring_pillow_gives():
    frozen = chroma.pillow_tables()
    measured = chroma.measure_pillow_tables()
    assert all(np.array_equal(getattr(frozen, k), v) for k, v in measured.items())
