"""The benchmark (flowzip.benchmark, ``python -m bench``) on two tiny images with the tiny
model: records, verification, report, cache and resume, bad input, missing libraries."""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from flowzip import benchmark

from .conftest import FIXTURES, TINY_MODEL

REPO = Path(__file__).resolve().parent.parent
BASE_FIELDS = {"image", "codec", "H", "W", "C", "bytes", "bpsp", "enc_mpps", "dec_mpps", "verified"}
FLOWZIP_FIELDS = {"model_bpsp", "header_bytes", "escapes", "padding_bytes", "seed_bytes"}


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    """A folder with two 24x20 crops (one RGB, one L), a broken image and a non-image."""
    folder = tmp_path / "photos"
    folder.mkdir()
    lenna = Image.open(FIXTURES / "images" / "lenna-96x80.png").convert("RGB")
    lenna.crop((30, 30, 54, 50)).save(folder / "lenna.png")
    urban = Image.open(FIXTURES / "images" / "urban051-256.png").convert("L")
    urban.crop((100, 100, 124, 120)).save(folder / "urban-gray.png")
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n but not really")
    (folder / "notes.txt").write_text("not an image: ignored")
    return folder


def bench(*args: str | Path) -> int:
    return benchmark.main([str(a) for a in args])


def load(out: Path) -> list[dict]:
    return json.loads((out / "results.json").read_text())


def test_records_report_cache_and_resume(photos, tmp_path, capsys):
    out = tmp_path / "out"
    args = (photos, "-o", out, "--codecs", "png,webp,flowzip", "--models", TINY_MODEL)
    assert bench(*args) == 0
    err = capsys.readouterr().err
    assert "broken.png" in err and "skipped" in err and "Traceback" not in err

    records = load(out)
    assert {(r["image"], r["codec"]) for r in records} == {
        (f"photos/{name}", codec)
        for name in ("lenna.png", "urban-gray.png")
        for codec in ("png", "webp", "flowzip:tiny-v1")
    }
    for r in records:
        assert BASE_FIELDS <= r.keys()
        assert r["verified"] is True and r["error"] is None
        assert r["bpsp"] == pytest.approx(8 * r["bytes"] / (r["H"] * r["W"] * r["C"]))
        assert (r["H"], r["W"]) == (20, 24) and r["C"] == (1 if "gray" in r["image"] else 3)
        assert r["enc_mpps"] > 0 and r["dec_mpps"] > 0
        if r["codec"].startswith("flowzip"):
            assert FLOWZIP_FIELDS <= r.keys() and r["seed_bytes"] == 0
            model_bytes = r["model_bpsp"] * r["H"] * r["W"] * r["C"] / 8
            assert r["header_bytes"] + model_bytes + r["padding_bytes"] == pytest.approx(r["bytes"])
        else:
            assert not FLOWZIP_FIELDS & r.keys()

    report = (out / "report.md").read_text()
    for words in ("Set photos", "flowzip:tiny-v1", "webp", "Model load", "broken.png", "## Machine", "## Versions"):
        assert words in report
    if "not installed" not in report.split("| matplotlib |")[1].split("\n")[0]:
        for plot in ("bpsp.png", "bpsp_vs_decode.png", "model_vs_file.png"):
            assert (out / "plots" / plot).stat().st_size > 0

    # a second run computes nothing: the same records (same timings) come from the cache
    cache_files = sorted((out / "cache").rglob("*.json"))
    assert len(cache_files) == 6
    stamps = [p.stat().st_mtime_ns for p in cache_files]
    assert bench(*args) == 0
    assert "0 computed, 6 from the cache" in capsys.readouterr().err
    assert load(out) == records
    assert [p.stat().st_mtime_ns for p in cache_files] == stamps

    # an interrupted run leaves results missing: only those are computed again
    (out / "cache" / "webp" / "photos" / "lenna.png.json").unlink()
    (out / "cache" / "png" / "photos" / "lenna.png.json").write_text("{damaged")
    assert bench(*args) == 0
    assert "2 computed, 4 from the cache" in capsys.readouterr().err

    # a changed image is measured again with every codec
    Image.open(photos / "lenna.png").transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(photos / "lenna.png")
    assert bench(*args) == 0
    assert "3 computed, 3 from the cache" in capsys.readouterr().err


def test_missing_library_is_reported_not_fatal(photos, tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "imagecodecs", None)  # import imagecodecs now fails
    out = tmp_path / "out"
    # --max-images 2 takes broken.png (skipped) and lenna.png, in path order
    assert bench(photos, "-o", out, "--codecs", "png,jpegls,jxl-e7,jpeg2000", "--max-images", "2") == 0
    assert "jpegls unavailable" in capsys.readouterr().err
    assert [(r["image"], r["codec"]) for r in load(out)] == [("photos/lenna.png", "png")]
    report = (out / "report.md").read_text()
    assert "**jpegls** unavailable" in report and "**jxl-e7** unavailable" in report


def test_imagecodecs_baselines_are_lossless(photos, tmp_path):
    pytest.importorskip("imagecodecs")
    out = tmp_path / "out"
    assert bench(photos, "-o", out, "--codecs", "jxl-e7,jxl-e9,jpegls,jpeg2000,qoi") == 0
    records = load(out)
    assert len(records) == 10
    assert all(r["verified"] for r in records), [r for r in records if not r["verified"]]


def test_a_wrong_decoder_is_reported_as_a_mismatch():
    img = np.arange(24 * 20 * 3, dtype=np.uint8).reshape(20, 24, 3)

    def flip_one(data: bytes) -> np.ndarray:
        out = np.frombuffer(data, dtype=np.uint8).reshape(img.shape).copy()
        out[3, 4, 1] ^= 1
        return out

    codec = benchmark.Codec("broken", "1", lambda a: benchmark.CodecOutput(a.tobytes()), flip_one)
    image = benchmark.ImageFile("set", Path("x.png"), "set/x.png", 0, 0)
    record = benchmark.measure(codec, img, image, "RGB")
    assert record.verified is False and "1 of 1440 sub-pixels" in record.error
    assert record.bytes == img.size


def test_gray_stored_as_rgb_still_catches_wrong_pixels():
    gray = np.zeros((2, 3), dtype=np.uint8)
    rgb = np.repeat(gray[:, :, None], 3, axis=2)
    assert benchmark.compare(benchmark._as_layout(rgb, gray), gray) is None
    rgb[1, 1, 2] = 7
    assert benchmark.compare(benchmark._as_layout(rgb, gray), gray) is not None


def test_sets_by_file_name_prefix(tmp_path):
    """One folder may hold several sets (dev/set14_*, dev/urban_*): a table each."""
    folder = tmp_path / "dev"
    folder.mkdir()
    for name in ("set14_a.png", "set14_b.png", "set14_c.png", "urban_1.png", "plain.png"):
        Image.new("RGB", (4, 4)).save(folder / name)
    images, problems = benchmark.discover([str(folder)], max_images=2)
    assert not problems
    assert [(i.dataset, i.key) for i in images] == [
        ("dev", "dev/plain.png"), ("dev/set14", "dev/set14_a.png"), ("dev/set14", "dev/set14_b.png"),
        ("dev/urban", "dev/urban_1.png"),
    ]
    images, _ = benchmark.discover([str(folder)], max_images=None, sets="folder")
    assert {i.dataset for i in images} == {"dev"} and len(images) == 5


def test_usage_errors(photos, tmp_path, capsys):
    assert bench(photos, "-o", tmp_path / "o", "--codecs", "gif") == 2
    assert "unknown codec 'gif'" in capsys.readouterr().err
    assert bench(tmp_path / "nowhere", "-o", tmp_path / "o") == 1
    assert "not a folder" in capsys.readouterr().err


def test_add_arguments_fits_a_subcommand(photos, tmp_path):
    """How ``flowzip bench`` wires it: a subparser gets the options, run() gets the args."""
    parser = argparse.ArgumentParser(prog="flowzip")
    sub = parser.add_subparsers(dest="command", required=True)
    benchmark.add_arguments(sub.add_parser("bench"))
    args = parser.parse_args(["bench", str(photos), "-o", str(tmp_path / "o"), "--codecs", "png", "-q"])
    assert benchmark.run(args, command="flowzip bench ...") == 0
    assert "`flowzip bench ...`" in (tmp_path / "o" / "report.md").read_text()


def test_python_m_bench(photos, tmp_path):
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, "-m", "bench", str(photos), "-o", str(out), "--codecs", "png", "-q"],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert len(load(out)) == 2
    assert "python -m bench" in (out / "report.md").read_text()
