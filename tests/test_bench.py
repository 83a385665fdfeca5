"""The benchmark (flowzip.bench, ``python -m bench``) on two tiny images with the tiny
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

from flowzip.bench import cli, records, report, runner

from .conftest import FIXTURES, TINY_MODEL

REPO = Path(__file__).resolve().parent.parent
BASE_FIELDS = {"image", "codec", "H", "W", "C", "bytes", "bpsp", "enc_mpps", "dec_mpps", "verified"}
FLOWZIP_FIELDS = {"model_bpsp", "header_bytes", "escapes", "padding_bytes", "tile_paths"}


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
    return cli.main([str(a) for a in args])


def load(out: Path) -> list[dict]:
    return json.loads((out / "results.json").read_text())


@pytest.mark.slow
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
        assert r.keys() >= BASE_FIELDS
        assert r["verified"] is True and r["error"] is None
        assert r["bpsp"] == pytest.approx(8 * r["bytes"] / (r["H"] * r["W"] * r["C"]))
        assert (r["H"], r["W"]) == (20, 24) and r["C"] == (1 if "gray" in r["image"] else 3)
        assert r["enc_mpps"] > 0 and r["dec_mpps"] > 0
        if r["codec"].startswith("flowzip"):
            assert r.keys() >= FLOWZIP_FIELDS and "seed_bytes" not in r
            model_bytes = r["model_bpsp"] * r["H"] * r["W"] * r["C"] / 8
            assert r["header_bytes"] + model_bytes + r["padding_bytes"] == pytest.approx(r["bytes"])
        else:
            assert not FLOWZIP_FIELDS & r.keys()

    report = (out / "report.md").read_text()
    for words in (
        "Set photos",
        "flowzip:tiny-v1",
        "webp",
        "Model load",
        "broken.png",
        "## Machine",
        "## Versions",
        "| codec | model bpsp | header | padding | file bpsp | escapes |",  # no seed column
    ):
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
    Image.open(photos / "lenna.png").transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(
        photos / "lenna.png"
    )
    assert bench(*args) == 0
    assert "3 computed, 3 from the cache" in capsys.readouterr().err


def test_missing_library_is_reported_not_fatal(photos, tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "imagecodecs", None)  # import imagecodecs now fails
    out = tmp_path / "out"
    # --max-images 2 takes broken.png (skipped) and lenna.png, in path order
    assert (
        bench(photos, "-o", out, "--codecs", "png,jpegls,jxl-e7,jpeg2000", "--max-images", "2") == 0
    )
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

    codec = records.BenchCodec("broken", "1", lambda a: records.CodecOutput(a.tobytes()), flip_one)
    image = records.ImageFile("set", Path("x.png"), "set/x.png", 0, 0)
    record = runner.measure(codec, img, image, "RGB")
    assert record.verified is False and "1 of 1440 sub-pixels" in record.error
    assert record.bytes == img.size


def test_gray_stored_as_rgb_still_catches_wrong_pixels():
    gray = np.zeros((2, 3), dtype=np.uint8)
    rgb = np.repeat(gray[:, :, None], 3, axis=2)
    assert runner.compare(runner.as_layout(rgb, gray), gray) is None
    rgb[1, 1, 2] = 7
    assert runner.compare(runner.as_layout(rgb, gray), gray) is not None


def test_sets_by_file_name_prefix(tmp_path):
    """One folder may hold several sets (dev/set14_*, dev/urban_*): a table each."""
    folder = tmp_path / "dev"
    folder.mkdir()
    for name in ("set14_a.png", "set14_b.png", "set14_c.png", "urban_1.png", "plain.png"):
        Image.new("RGB", (4, 4)).save(folder / name)
    images, problems = runner.discover([str(folder)], max_images=2)
    assert not problems
    assert [(i.dataset, i.key) for i in images] == [
        ("dev", "dev/plain.png"),
        ("dev/set14", "dev/set14_a.png"),
        ("dev/set14", "dev/set14_b.png"),
        ("dev/urban", "dev/urban_1.png"),
    ]
    images, _ = runner.discover([str(folder)], max_images=None, sets="folder")
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
    cli.add_arguments(sub.add_parser("bench"))
    args = parser.parse_args(
        ["bench", str(photos), "-o", str(tmp_path / "o"), "--codecs", "png", "-q"]
    )
    assert cli.run(args, command="flowzip bench ...") == 0
    assert "`flowzip bench ...`" in (tmp_path / "o" / "report.md").read_text()


def test_threads_limit_torch_and_numba_in_every_flowzip_call(photos, tmp_path, monkeypatch):
    """--threads N: flowzip encodes and decodes with N torch and N numba threads (the same
    bytes whatever N), and the report says so."""
    import numba
    import torch

    import flowzip.api

    seen: list[tuple[int, int]] = []

    def observing(original):
        def call(self, *args, **kwargs):
            seen.append((torch.get_num_threads(), numba.get_num_threads()))
            return original(self, *args, **kwargs)

        return call

    monkeypatch.setattr(
        flowzip.api.Compressor, "_encode", observing(flowzip.api.Compressor._encode)
    )
    monkeypatch.setattr(
        flowzip.api.Decompressor, "_decode", observing(flowzip.api.Decompressor._decode)
    )
    counts = [1, 2] if numba.config.NUMBA_NUM_THREADS >= 2 else [1]
    before = (torch.get_num_threads(), numba.get_num_threads())
    sizes = []
    for n in counts:
        seen.clear()
        out = tmp_path / f"t{n}"
        args = (photos, "-o", out, "--codecs", "flowzip", "--models", TINY_MODEL, "-q")
        assert bench(*args, "--threads", str(n)) == 0
        assert len(seen) == 2 + 2 * 2 and set(seen) == {(n, n)}  # the probe, then 2 images
        sizes.append([r["bytes"] for r in load(out)])
        assert (
            f"{n} thread(s) for the codecs that can use them (flowzip's torch and numba"
            in (out / "report.md").read_text()
        )
    assert all(s == sizes[0] for s in sizes)
    assert (torch.get_num_threads(), numba.get_num_threads()) == before  # put back


def test_threads_beyond_numbas_pool_are_a_usage_error(photos, tmp_path, capsys):
    import numba

    too_many = str(numba.config.NUMBA_NUM_THREADS + 1)
    assert bench(photos, "-o", tmp_path / "o", "--codecs", "flowzip", "--threads", too_many) == 2
    assert f"--threads {too_many}: numba's pool has" in capsys.readouterr().err
    # the baselines have no such pool: their thread count is only passed on
    assert bench(photos, "-o", tmp_path / "o", "--codecs", "png", "--threads", too_many) == 0


def test_old_cache_entries_are_reused(photos, tmp_path, capsys):
    """A cache entry as the benchmark wrote it before it became a package (a flowzip-only
    ``seed_bytes`` field, the same key) still counts as a result."""
    out = tmp_path / "out"
    assert bench(photos, "-o", out, "--codecs", "png", "-q") == 0
    capsys.readouterr()
    entry_path = out / "cache" / "png" / "photos" / "lenna.png.json"
    entry = json.loads(entry_path.read_text())
    entry["record"]["seed_bytes"] = None
    entry_path.write_text(json.dumps(entry, indent=1))
    assert bench(photos, "-o", out, "--codecs", "png", "-q") == 0
    assert "0 computed, 2 from the cache" in capsys.readouterr().err


@pytest.mark.slow
def test_python_m_bench(photos, tmp_path):
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, "-m", "bench", str(photos), "-o", str(out), "--codecs", "png", "-q"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert len(load(out)) == 2
    assert "python -m bench" in (out / "report.md").read_text()


# -- tile paths, worst image against PNG, sets at a glance -----------------------------


def _record(image: str, codec: str, nbytes: int, **extra) -> records.Record:
    return records.Record(
        image=image,
        dataset=image.split("/")[0],
        codec=codec,
        H=8,
        W=8,
        C=3,
        mode="RGB",
        bytes=nbytes,
        bpsp=8 * nbytes / 192,
        enc_mpps=1.0,
        dec_mpps=1.0,
        verified=True,
        **extra,
    )


def test_tile_paths_are_read_defensively_and_cached_entries_without_them_load():
    from types import SimpleNamespace

    stats = SimpleNamespace(
        nbytes=100, header_bytes=20, bits_theoretical=600.0, escapes=0, model_bpsp=3.0
    )
    assert records.flowzip_fields(stats)["tile_paths"] is None  # a flowzip without the field
    stats.tile_paths = {"flow": 3, "palette": 1}
    assert records.flowzip_fields(stats)["tile_paths"] == {"flow": 3, "palette": 1}
    stats.tile_paths = {}
    assert records.flowzip_fields(stats)["tile_paths"] is None
    stats.tile_paths = "not a mapping"
    assert records.flowzip_fields(stats)["tile_paths"] is None

    with_paths = _record("s/a.png", "flowzip:m", 50, model_bpsp=2.0, tile_paths={"flow": 2})
    assert records.Record.from_json(with_paths.to_json()) == with_paths
    old = with_paths.to_json()
    del old["tile_paths"]  # a result cached before the field existed
    old["seed_bytes"] = 0  # and one cached while the benchmark still had that column
    assert records.Record.from_json(old).tile_paths is None
    assert "tile_paths" not in _record("s/a.png", "png", 60).to_json()


def test_report_gives_tile_path_shares_and_the_worst_image_against_png():
    records = [
        _record("s/a.png", "png", 100),
        _record("s/b.png", "png", 100),
        _record(
            "s/a.png",
            "flowzip:m",
            80,
            model_bpsp=3.0,
            header_bytes=10,
            escapes=0,
            padding_bytes=1.0,
            tile_paths={"flow": 3, "predictive": 1},
        ),
        _record(
            "s/b.png",
            "flowzip:m",
            130,
            model_bpsp=5.0,
            header_bytes=10,
            escapes=0,
            padding_bytes=1.0,
            tile_paths={"flow": 4},
        ),
        _record("t/c.png", "png", 100),
        _record(
            "t/c.png",
            "flowzip:m",
            90,
            model_bpsp=3.5,
            header_bytes=10,
            escapes=0,
            padding_bytes=1.0,
        ),  # cached before tile paths were recorded
    ]
    names = ["flowzip:m", "png"]
    text = "\n".join(report._set_section("Set s", records[:4], names))
    assert (
        "- flowzip:m: tiles: flow 87.5%, predictive 12.5% (8 tiles); "
        "worst against PNG: `s/b.png`, 130.0% of PNG's bytes"
    ) in text
    text = "\n".join(report._set_section("Set t", records[4:], names))
    assert "tiles: coding paths not recorded; worst against PNG: `t/c.png`, 90.0%" in text
    text = "\n".join(report._set_section("All sets", records, names))
    assert "(8 tiles in 2 of 3 images)" in text
    # without PNG in the run there is no ratio
    assert "worst" not in "\n".join(report._set_section("Set s", records[2:4], ["flowzip:m"]))
    overview = "\n".join(report._overview(records, ["s", "t"], names))
    assert (
        "| s | 2 | 4.375 | **4.167** |" in overview and "| t | 1 | **3.750** | 4.167 |" in overview
    )


def test_sets_folder_gives_one_set_per_folder(tmp_path):
    """--sets folder: each folder given is one set, named after the folder, whatever its
    files are called; the report has one table per folder and one row each at a glance."""
    dirs = []
    for name in ("dev-420", "generated"):
        folder = tmp_path / "sets" / name
        folder.mkdir(parents=True)
        for file in ("set14_a.png", "urban_b.png", "gen_flat_0.png"):
            Image.new("RGB", (6, 4), (len(name), 0, 0)).save(folder / file)
        dirs.append(folder)
    out = tmp_path / "out"
    assert (
        bench(*dirs, "-o", out, "--codecs", "png", "--sets", "folder", "--max-images", "2", "-q")
        == 0
    )
    assert {(r["dataset"], r["image"].split("/")[0]) for r in load(out)} == {
        ("dev-420", "dev-420"),
        ("generated", "generated"),
    }
    assert len(load(out)) == 4
    report = (out / "report.md").read_text()
    assert (
        "## Set dev-420" in report
        and "## Set generated" in report
        and "## Set dev-420/" not in report
    )
    glance = report.split("## Sets at a glance")[1].split("## Set ")[0]
    assert glance.count("| dev-420 | 2 |") == 1 and glance.count("| generated | 2 |") == 1


# -- bench/graphics.py and bench/variants.py ------------------------------------------------


def _script(name: str):
    """bench/<name>.py as a module (bench/ is not an installed package)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(f"bench_{name}", REPO / "bench" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _pixels(folder: Path) -> dict[str, np.ndarray]:
    return {p.name: np.asarray(Image.open(p)) for p in sorted(folder.glob("*.png"))}


def test_graphics_generator_is_deterministic(tmp_path, capsys):
    graphics = _script("graphics")
    args = ["--count-per-kind", "1", "--scale", "0.15", "--seed", "3"]
    assert graphics.main([str(tmp_path / "a"), *args]) == 0
    assert graphics.main([str(tmp_path / "b"), *args]) == 0
    a, b = _pixels(tmp_path / "a"), _pixels(tmp_path / "b")
    assert sorted(a) == sorted(f"gen_{kind}_0.png" for kind in graphics.KINDS)
    for name in a:
        assert a[name].dtype == np.uint8 and a[name].ndim == 3 and a[name].shape[2] == 3, name
        assert np.array_equal(a[name], b[name]), name
        assert len(np.unique(a[name].reshape(-1, 3), axis=0)) > 2, name  # not blank
    assert "gen_ui_0.png" in capsys.readouterr().out
    # another seed, other pixels; the same (seed, kind, k) whatever the count
    assert (
        graphics.main(
            [
                str(tmp_path / "c"),
                "--count-per-kind",
                "2",
                "--scale",
                "0.15",
                "--seed",
                "4",
                "--kinds",
                "chart",
            ]
        )
        == 0
    )
    assert not np.array_equal(
        np.asarray(Image.open(tmp_path / "c" / "gen_chart_0.png")), a["gen_chart_0.png"]
    )
    assert np.array_equal(
        np.asarray(graphics.render("chart", 1, seed=4, scale=0.15)),
        np.asarray(Image.open(tmp_path / "c" / "gen_chart_1.png")),
    )
    # an existing non-empty folder needs --force; the repository is refused
    assert graphics.main([str(tmp_path / "a"), *args]) == 1
    assert "not empty" in capsys.readouterr().err
    assert graphics.main([str(tmp_path / "a"), *args, "--force", "--kinds", "flat"]) == 0
    assert graphics.main([str(REPO / "runs" / "generated-test"), *args]) == 1
    assert "inside the repository" in capsys.readouterr().err
    assert not (REPO / "runs" / "generated-test").exists()


def test_variants_are_deterministic_with_the_expected_sizes(tmp_path, capsys):
    variants = _script("variants")
    src = tmp_path / "photos"
    src.mkdir()
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:37, :50]
    smooth = np.stack([xx * 5, yy * 6, (xx + yy) * 3], axis=-1).astype(np.uint8)
    Image.fromarray(smooth).save(src / "set14_smooth.png")
    Image.fromarray(rng.integers(0, 256, size=(20, 31, 3), dtype=np.uint8)).save(
        src / "urban_noise.png"
    )
    Image.fromarray(rng.integers(0, 256, size=(16, 16), dtype=np.uint8)).save(src / "gray.png")
    (src / "notes.txt").write_text("ignored")
    for out in ("a", "b"):
        assert variants.main([str(tmp_path / out), "--src", str(src)]) == 0
    sizes = {"set14_smooth.png": (50, 37), "urban_noise.png": (31, 20), "gray.png": (16, 16)}
    for name in variants.VARIANTS:
        a, b = _pixels(tmp_path / "a" / name), _pixels(tmp_path / "b" / name)
        assert sorted(a) == sorted(sizes), name
        for file, (w, h) in sizes.items():
            assert np.array_equal(a[file], b[file]), (name, file)
            want = (2 * (h // 2), 2 * (w // 2), 3) if name == "dev-up2" else (h, w, 3)
            assert a[file].shape == want and a[file].dtype == np.uint8, (name, file)
    # 4:2:0 keeps the luma (up to YCbCr rounding) and changes the noise's colours
    src_noise = np.asarray(Image.open(src / "urban_noise.png"))
    v420 = _pixels(tmp_path / "a" / "dev-420")["urban_noise.png"]

    def luma(a: np.ndarray) -> np.ndarray:
        return np.asarray(Image.fromarray(a).convert("L"), dtype=int)

    assert np.abs(luma(v420) - luma(src_noise)).mean() < 6 and not np.array_equal(v420, src_noise)
    j90, j95 = (
        _pixels(tmp_path / "a" / s)["set14_smooth.png"] for s in ("dev-jpeg90", "dev-jpeg95")
    )
    assert not np.array_equal(j90, j95)
    # the up2 set is the centre crop: its pixels at even places are near the source's
    up = _pixels(tmp_path / "a" / "dev-up2")["set14_smooth.png"].astype(int)
    crop = smooth[
        (37 - 18) // 2 : (37 - 18) // 2 + 18, (50 - 25) // 2 : (50 - 25) // 2 + 25
    ].astype(int)
    assert np.abs(up[::2, ::2] - crop).max() <= 8
    # only the sets asked for; a non-empty set folder needs --force
    assert variants.main([str(tmp_path / "c"), "--src", str(src), "--sets", "dev-up2"]) == 0
    assert [p.name for p in (tmp_path / "c").iterdir()] == ["dev-up2"]
    assert variants.main([str(tmp_path / "a"), "--src", str(src), "--sets", "dev-420"]) == 1
    assert "not empty" in capsys.readouterr().err
    assert (
        variants.main([str(tmp_path / "a"), "--src", str(src), "--sets", "dev-420", "--force"]) == 0
    )


@pytest.mark.slow
def test_augment_mix_statistics_and_fit(tmp_path):
    mix = _script("augment_mix")
    rng = np.random.default_rng(0)
    photo = np.asarray(Image.open(FIXTURES / "images" / "urban051-256.png").convert("RGB"))[
        :64, :64
    ]
    plain = mix.crop_statistics(photo)
    from flowzip.train.augment import ChromaPipeline, jpeg_round_trip, resize

    assert mix.crop_statistics(ChromaPipeline(up="box")(photo))["chroma"] < 0.3 * plain["chroma"]
    assert mix.crop_statistics(jpeg_round_trip(photo, 40))["blocks"] > plain["blocks"] + 0.1
    up = np.clip(np.floor(resize(photo[:32, :32], 64, 64, "bicubic") + 0.5), 0, 255).astype(
        np.uint8
    )
    assert mix.crop_statistics(up)["fine"] < 0.7 * plain["fine"]
    # a target made of two kinds' histograms in known proportions is fitted back
    columns = rng.random((12, 4))
    columns /= columns.sum(axis=0)
    w = mix.fit_mix(columns, columns @ np.array([0.0, 0.7, 0.3, 0.0]))
    assert np.allclose(w, [0, 0.7, 0.3, 0], atol=0.02)
    lines: list[str] = []
    sets = tmp_path / "dev"
    sets.mkdir()
    Image.fromarray(photo).save(sets / "a.png")
    assert (
        mix.main(
            [
                "--train",
                str(FIXTURES / "images"),
                "--sets",
                str(sets),
                "--crops",
                "8",
                "--try",
                "clean=1,jpeg=1",
            ],
            say=lines.append,
        )
        == 0
    )
    assert any(line.startswith("fit 1 (all sets)") for line in lines) and any(
        "try 1" in line for line in lines
    )
    assert mix.main(["--sets", str(tmp_path / "missing")], say=lines.append) == 1
