"""The whole codec through the public API, with the tiny model: every mode, size and error."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

import flowzip
from flowzip.errors import FlowzipError, FormatError, UnknownModelError, UnsupportedImageError

from .conftest import TINY_MODEL, photo_crop


@pytest.mark.parametrize(
    "shape,dtype",
    [
        ((1, 1), np.uint8),
        ((5, 7, 3), np.uint8),
        ((1, 1, 3), np.uint8),
        ((70, 3), np.uint8),
        ((33, 65, 4), np.uint8),
        ((9, 13, 2), np.uint8),
        ((17, 9), np.uint16),
        ((6, 11, 3), np.uint16),
        ((4, 4, 4), np.uint16),
    ],
)
def test_random_arrays_roundtrip(compressor, decompressor, rng, shape, dtype):
    a = rng.integers(0, np.iinfo(dtype).max + 1, shape).astype(dtype)
    encoded = compressor.encode(a)
    b = decompressor.decompress(encoded.data)
    assert b.shape == a.shape and b.dtype == a.dtype and np.array_equal(a, b)
    # the file is within 1% + 64 bytes of the model's own code length (plus the header)
    s = encoded.stats
    assert s.nbytes - s.header_bytes <= s.bits_theoretical / 8 * 1.01 + 64


def test_photo_multi_tile_roundtrip(compressor, decompressor):
    a = photo_crop()  # 80x96 with 64-pixel tiles: 4 tiles, two of them partial
    encoded = compressor.encode(a)
    assert encoded.stats.tiles == 4
    assert np.array_equal(decompressor.decompress(encoded.data), a)
    assert encoded.stats.bpsp < 8.0


def _pil_images(rng):
    rgb = Image.fromarray(rng.integers(0, 256, (21, 19, 3), dtype=np.uint8))
    p = rgb.convert("P", palette=Image.Palette.ADAPTIVE, colors=13)
    p_rgba = p.copy()
    p_rgba.info["transparency"] = 2
    yield "RGB", rgb
    yield "L", rgb.convert("L")
    yield "RGBA", rgb.convert("RGBA")
    yield "LA", rgb.convert("LA")
    yield "P", p
    yield "P+transparency", p_rgba
    yield "1", rgb.convert("1")
    yield "I;16", Image.fromarray(rng.integers(0, 65536, (10, 12)).astype(np.uint16))
    yield "I", Image.fromarray(rng.integers(0, 65536, (10, 12)).astype(np.int32))


@pytest.mark.slow
def test_pil_modes_roundtrip(compressor, decompressor, rng):
    for label, im in _pil_images(rng):
        data = compressor.compress(im)
        back = decompressor.decompress_image(data)
        assert back.mode == im.mode, label
        assert back.size == im.size, label
        assert back.tobytes() == im.tobytes(), label
        assert back.getpalette() == im.getpalette(), label
        assert back.info.get("transparency") == im.info.get("transparency"), label


def test_gray_images_use_the_grayscale_flow(compressor):
    """L is one plane through the grayscale flow, not three copies through the RGB flow."""
    from flowzip.image import PlaneGroup, plane_groups

    assert plane_groups(1, 1) == [PlaneGroup("gray", (0,))]
    assert plane_groups(4, 1) == [PlaneGroup("rgb", (0, 1, 2)), PlaneGroup("gray", (3,))]
    assert plane_groups(3, 2) == [PlaneGroup("rgb", (0, 1, 2)), PlaneGroup("rgb", (3, 4, 5))]
    gray = photo_crop()[:, :, 1]
    stats = compressor.encode(gray).stats
    assert stats.subpixels == gray.size and stats.bpsp < 8


def test_one_shot_api_and_header(rng):
    a = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
    data = flowzip.compress(a, model=TINY_MODEL)
    assert np.array_equal(flowzip.decompress(data, models=[TINY_MODEL]), a)
    h = flowzip.read_header(data)
    assert (h.width, h.height, h.channels, h.model_id) == (8, 8, 3, "tiny-v1")


def test_bad_images_are_refused(compressor):
    for bad in [
        np.zeros((4, 4), np.float32),
        np.zeros((4, 4, 5), np.uint8),
        np.zeros((0, 4), np.uint8),
        np.zeros((2, 2, 2, 2), np.uint8),
        12,
        np.zeros((3, 3), np.int16),
    ]:
        with pytest.raises(UnsupportedImageError):
            compressor.compress(bad)
    with pytest.raises(UnsupportedImageError):
        compressor.compress(Image.new("CMYK", (4, 4)))


def test_unknown_models():
    with pytest.raises(UnknownModelError):
        flowzip.Compressor("no-such-model")
    with pytest.raises(UnknownModelError):
        flowzip.Compressor("missing/file.npz")
    # a file with a flow tile needs its model (one whose tiles are all classic does not)
    data = flowzip.Compressor(TINY_MODEL, flow_only=True).compress(np.zeros((3, 3), np.uint8))
    with pytest.raises(UnknownModelError, match="tiny-v1"):
        flowzip.Decompressor().decompress(data)


def damaged_copies(data: bytes, seed: int = 0, flips: int = 12) -> list[bytes]:
    """Truncations, random files and bit flips inside the rANS streams of a good file."""
    header_len = len(data) - sum(flowzip.read_header(data).stream_sizes)
    rng = np.random.default_rng(seed)
    cases = [data[:n] for n in (0, 5, 20, header_len, len(data) - 4, len(data) - 1)]
    cases += [rng.bytes(len(data)), flowzip.MAGIC + rng.bytes(200)]
    for pos in rng.integers(header_len, len(data), flips):
        bad = bytearray(data)
        bad[pos] ^= 1 << int(rng.integers(0, 8))
        cases.append(bytes(bad))
    return cases


def test_corrupt_files_raise_flowzip_errors(compressor, decompressor):
    for bad in damaged_copies(compressor.compress(photo_crop()[:40, :40])):
        with pytest.raises(FlowzipError):
            decompressor.decompress(bad)


def test_unknown_backend_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("FLOWZIP_BACKEND", "quantum")
    with pytest.raises(flowzip.BackendUnavailableError, match="quantum"):
        flowzip.Compressor(TINY_MODEL)


@pytest.mark.slow
def test_long_strips_roundtrip(compressor, decompressor, rng):
    for shape in [(3, 8000), (8000, 2)]:
        a = rng.integers(0, 256, shape, dtype=np.uint8)
        assert np.array_equal(decompressor.decompress(compressor.compress(a)), a)


@pytest.mark.slow
def test_memory_is_bounded_by_tiling(tmp_path):
    """Compressing a 6 Mpx image stays far under 2 GB of resident memory."""
    code = (
        "import resource, numpy as np, flowzip\n"
        "y, x = np.mgrid[0:2000, 0:3000]\n"
        "a = np.stack([(x + y) % 256, (x * 3) % 256, (y * 5) % 256], axis=2).astype(np.uint8)\n"
        f"flowzip.Compressor(r'{TINY_MODEL}').compress(a)\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    peak_kib = int(out.stdout.strip())
    assert peak_kib < 2 * 1024 * 1024, f"peak RSS {peak_kib / 1024:.0f} MiB"


def test_big_endian_uint16_roundtrip(compressor, decompressor, rng):
    a = rng.integers(0, 65536, (5, 6, 3)).astype(">u2")
    assert np.array_equal(decompressor.decompress(compressor.compress(a)), a)


def test_sixteen_bit_colour_png_is_refused_not_truncated(tmp_path, compressor):
    """Pillow reads a 16-bit RGB PNG as 8-bit RGB: coding that would silently lose bits."""
    import struct
    import zlib

    def chunk(kind, body):
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    raw = b"\x00" + bytes([0x12, 0x34, 0x56, 0x78, 0x9A, 0xBC])  # one 16-bit RGB pixel
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 16, 2, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
    (tmp_path / "deep.png").write_bytes(png)
    with Image.open(tmp_path / "deep.png") as im, pytest.raises(UnsupportedImageError, match="16"):
        compressor.compress(im)


def test_multichannel_uint16_has_no_pil_image_but_a_clear_error(compressor, decompressor, rng):
    data = compressor.compress(rng.integers(0, 65536, (4, 4, 3)).astype(np.uint16))
    assert decompressor.decompress(data).dtype == np.uint16
    with pytest.raises(UnsupportedImageError):
        decompressor.decompress_image(data)


def test_tampered_metadata_is_a_format_error(compressor, decompressor):
    from flowzip import container

    data = compressor.compress(Image.new("P", (4, 4)))
    header, streams = container.read(data)
    for meta in (
        {"mode": "P", "palette": 5},
        {"mode": "P", "palette": "z!"},
        {"transparency": {"x": 1}},
        {"mode": 7},
        {"mode": "RGB"},
        {"index_palette": "AAAA"},
        {"index_palette": 3},
    ):
        bad = container.write(dataclasses.replace(header, meta=meta), streams)
        with pytest.raises(FlowzipError):
            decompressor.decompress_image(bad)


def test_damaged_model_files_are_unknown_model_errors(tmp_path):
    (tmp_path / "trunc.npz").write_bytes(TINY_MODEL.read_bytes()[:1000])
    np.save(tmp_path / "array.npy", np.zeros(3))
    np.savez(tmp_path / "empty.npz", x=np.zeros(1))
    for name in ("trunc.npz", "array.npy", "empty.npz"):
        with pytest.raises(UnknownModelError):
            flowzip.Compressor(tmp_path / name)


@pytest.mark.parametrize("colors", [1, 2, 256, 257])
def test_few_colour_rgb_images_are_indexed(compressor, decompressor, rng, colors):
    palette = rng.integers(0, 256, (colors, 3), dtype=np.uint8)
    for shape in [(64, 40), (5, 7)]:
        a = palette[rng.integers(0, colors, shape)]
        data = compressor.compress(a)
        assert np.array_equal(decompressor.decompress(data), a)
        indexed = "index_palette" in flowzip.read_header(data).meta
        n = len(np.unique(a.reshape(-1, 3), axis=0))
        assert indexed == (n <= 256 and 8 * n <= a.shape[0] * a.shape[1]), (shape, n)


def test_index_out_of_palette_is_a_format_error(compressor, decompressor):
    import base64

    from flowzip import container

    a = np.zeros((8, 8, 3), np.uint8)
    a[0, 0] = 255  # two colours: indices 0 and 1
    header, streams = container.read(compressor.compress(a))
    one_colour = base64.b64encode(bytes(3)).decode()
    bad = container.write(dataclasses.replace(header, meta={"index_palette": one_colour}), streams)
    with pytest.raises(FormatError):
        decompressor.decompress(bad)


def test_too_many_tiles_is_refused_before_any_work():
    with pytest.raises(UnsupportedImageError, match="use a larger tile"):
        flowzip.Compressor(TINY_MODEL, tile=8).compress(np.zeros((2056, 2056), np.uint8))


def test_a_bad_tile_size_is_a_flowzip_error():
    for tile in (4, 36, 2048):  # below the format's least, off the model's stride, above its most
        with pytest.raises(UnsupportedImageError, match="tile size must be a multiple of 8"):
            flowzip.Compressor(TINY_MODEL, tile=tile)
    assert flowzip.Compressor(TINY_MODEL, tile=1024).tile == 1024
