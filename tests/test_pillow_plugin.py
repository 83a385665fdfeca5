"""The Pillow plugin through Pillow's own API: Image.open (lazy), im.save, every mode."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, UnidentifiedImageError

import flowzip
import flowzip.pillow
from flowzip.cli import main as cli_main

from .conftest import TINY_MODEL
from .test_api import _pil_images


@pytest.fixture
def rng():
    return np.random.default_rng(77)


@pytest.fixture(autouse=True)
def knows_the_tiny_model():
    flowzip.pillow.register(models=[TINY_MODEL])
    yield
    flowzip.pillow.register()


def _same_image(a: Image.Image, b: Image.Image) -> None:
    assert (a.mode, a.size) == (b.mode, b.size)
    assert np.array_equal(np.asarray(a), np.asarray(b))
    if a.mode in ("P", "PA"):
        assert a.getpalette() == b.getpalette()
    assert a.info.get("transparency") == b.info.get("transparency")


def test_every_mode_saves_and_opens_through_pillow(tmp_path, rng):
    for label, im in _pil_images(rng):
        path = tmp_path / f"{label.replace(';', '_').replace('+', '_')}.fz"
        im.save(path, model=TINY_MODEL)  # by extension
        with Image.open(path) as back:
            assert back.format == "FLOWZIP", label
            back.load()
            _same_image(back, im)
        extra = []
        if label == "P":
            extra = [im.convert("PA")]
        elif label == "I;16":
            extra = [Image.frombytes(m, im.size, im.tobytes()) for m in ("I;16B", "I;16L")]
        for other in extra:
            buf = io.BytesIO()
            other.save(buf, format="FLOWZIP", model=TINY_MODEL)
            _same_image(Image.open(buf), other)


def test_open_is_lazy_header_only(tmp_path, rng, monkeypatch):
    im = Image.fromarray(rng.integers(0, 256, (20, 30, 3), dtype=np.uint8)).convert(
        "P", palette=Image.Palette.ADAPTIVE, colors=9
    )
    im.info["transparency"] = 3
    path = tmp_path / "p.fz"
    im.save(path, model=TINY_MODEL)
    calls = []
    monkeypatch.setattr(
        flowzip.api.Decompressor, "decode", lambda self, data, **kw: calls.append(1)
    )
    with Image.open(path) as opened:
        assert (opened.size, opened.mode) == ((30, 20), "P")
        # Pillow's getpalette() loads the pixels; the palette object is there before that
        assert (
            bytes(opened.palette.palette) == bytes(im.getpalette())
            and opened.info["transparency"] == 3
        )
        assert opened.info["flowzip_model"] == "tiny-v1"
    assert calls == []  # nothing decoded


def test_saved_file_decodes_with_the_cli_and_format_options(tmp_path, rng):
    im = Image.fromarray(rng.integers(0, 256, (40, 24, 3), dtype=np.uint8))
    path = tmp_path / "x.fz"
    im.save(path, format="FLOWZIP", model=str(TINY_MODEL), tile=32)
    assert flowzip.read_header(path.read_bytes()).tile == 32
    assert cli_main(["decompress", "-q", "-m", str(TINY_MODEL), str(path)]) == 0
    _same_image(Image.open(tmp_path / "x.png"), im)
    assert Image.registered_extensions()[".fz"] == "FLOWZIP"
    assert Image.MIME["FLOWZIP"] == "image/x-flowzip"


def test_refusals(tmp_path, rng):
    with pytest.raises(ValueError, match="mode"):
        Image.new("CMYK", (4, 4)).save(tmp_path / "c.fz", model=TINY_MODEL)
    colour16 = tmp_path / "c16.fz"
    colour16.write_bytes(
        flowzip.compress(rng.integers(0, 65536, (4, 5, 3)).astype(np.uint16), model=TINY_MODEL)
    )
    with pytest.raises(flowzip.UnsupportedImageError, match="imread"):
        Image.open(colour16)
    assert flowzip.imread(colour16).shape == (4, 5, 3)
    data = flowzip.compress(np.zeros((4, 4), np.uint8), model=TINY_MODEL)
    with pytest.raises(UnidentifiedImageError):
        Image.open(io.BytesIO(data[:14]))  # truncated header
    newer = bytearray(data)
    newer[8] = 99
    with (
        pytest.raises(UnidentifiedImageError),
        pytest.warns(UserWarning, match="format version 99"),
    ):
        Image.open(io.BytesIO(bytes(newer)))
    corrupt = bytearray(data)
    corrupt[-1] ^= 0xFF
    with Image.open(io.BytesIO(bytes(corrupt))) as im, pytest.raises(flowzip.FlowzipError):
        im.load()


@pytest.mark.slow
def test_registered_by_import_flowzip_in_a_fresh_process(tmp_path):
    import subprocess
    import sys

    path = tmp_path / "x.fz"
    path.write_bytes(flowzip.compress(np.full((3, 4), 9, np.uint8), model=TINY_MODEL))
    code = f"import flowzip; from PIL import Image; im = Image.open({str(path)!r}); print(im.format, im.getpixel((0, 0)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.split() == ["FLOWZIP", "9"], out.stderr
