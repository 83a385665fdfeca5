"""The flowzip command as a user runs it: a subprocess per call."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from .conftest import FIXTURES, TINY_MODEL

PHOTO = FIXTURES / "images" / "lenna-96x80.png"


def flowzip(*args: str, cwd: Path, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "flowzip", *args],
        check=False,
        cwd=cwd,
        input=stdin,
        capture_output=True,
        timeout=300,
    )


def assert_clean_error(proc: subprocess.CompletedProcess, *words: str) -> None:
    err = proc.stderr.decode()
    assert proc.returncode == 1, err
    assert "Traceback" not in err
    assert err.count("\n") == 1 and err.startswith("flowzip: "), err
    for w in words:
        assert w in err, err


def no_temp_files(folder: Path) -> bool:
    return not [p for p in folder.iterdir() if p.name.endswith(".tmp")]


@pytest.fixture
def work(tmp_path: Path) -> Path:
    shutil.copy(PHOTO, tmp_path / "photo.png")
    return tmp_path


@pytest.mark.slow
def test_compress_decompress_roundtrip(work):
    p = flowzip("compress", "photo.png", "-m", str(TINY_MODEL), cwd=work)
    assert p.returncode == 0, p.stderr
    assert b"bpsp" in p.stderr and b"photo.png" in p.stderr
    assert (work / "photo.png").exists(), "sources are kept by default"
    os.rename(work / "photo.png", work / "original.png")
    p = flowzip("decompress", "photo.png.fz", "-m", str(TINY_MODEL), cwd=work)
    assert p.returncode == 0, p.stderr
    a, b = (np.asarray(Image.open(work / n)) for n in ("original.png", "photo.png"))
    assert np.array_equal(a, b)
    assert no_temp_files(work)


@pytest.mark.slow
def test_refuses_to_overwrite_without_force(work):
    assert flowzip("compress", "photo.png", "-m", str(TINY_MODEL), cwd=work).returncode == 0
    before = (work / "photo.png.fz").read_bytes()
    (work / "photo.png.fz").write_bytes(b"precious")
    p = flowzip("compress", "photo.png", "-m", str(TINY_MODEL), cwd=work)
    assert_clean_error(p, "already exists")
    assert (work / "photo.png.fz").read_bytes() == b"precious"
    p = flowzip("compress", "photo.png", "-f", "-m", str(TINY_MODEL), cwd=work)
    assert p.returncode == 0 and (work / "photo.png.fz").read_bytes() == before


@pytest.mark.slow
def test_output_name_stdout_and_rm(work):
    p = flowzip("compress", "photo.png", "-o", "x.fz", "-q", "-m", str(TINY_MODEL), cwd=work)
    assert p.returncode == 0 and p.stderr == b""
    p = flowzip("compress", "photo.png", "-c", "-m", str(TINY_MODEL), cwd=work)
    assert p.returncode == 0 and p.stdout == (work / "x.fz").read_bytes()
    p = flowzip("decompress", "x.fz", "-c", "-m", str(TINY_MODEL), cwd=work)
    assert p.returncode == 0 and p.stdout[:8] == b"\x89PNG\r\n\x1a\n"
    p = flowzip("compress", "-", "-c", "-m", str(TINY_MODEL), cwd=work, stdin=PHOTO.read_bytes())
    assert p.returncode == 0 and p.stdout == (work / "x.fz").read_bytes()
    p = flowzip("compress", "photo.png", "--rm", "-m", str(TINY_MODEL), cwd=work)
    assert (
        p.returncode == 0 and not (work / "photo.png").exists() and (work / "photo.png.fz").exists()
    )


@pytest.mark.slow
def test_info_test_models(work):
    assert flowzip("compress", "photo.png", "-m", str(TINY_MODEL), cwd=work).returncode == 0
    p = flowzip("info", "photo.png.fz", "--json", cwd=work)
    rec = json.loads(p.stdout)
    assert (rec["width"], rec["height"], rec["channels"], rec["model_id"]) == (96, 80, 3, "tiny-v1")
    assert rec["bpsp"] == pytest.approx(8 * (work / "photo.png.fz").stat().st_size / (96 * 80 * 3))
    assert b"tiny-v1" in flowzip("info", "photo.png.fz", cwd=work).stdout
    p = flowzip("test", "photo.png.fz", "-m", str(TINY_MODEL), cwd=work)
    assert p.returncode == 0 and b"OK" in p.stderr
    assert sorted(x.name for x in work.iterdir()) == ["photo.png", "photo.png.fz"]
    models = json.loads(flowzip("models", "--json", cwd=work).stdout)
    assert sum(m["default"] for m in models) == 1
    for m in models:
        assert {"name", "default", "bits_back", "description", "dev_bpsp", "speed_mpx_s"} <= set(m)


@pytest.mark.slow
def test_bad_inputs_give_one_line_errors(work):
    assert flowzip("compress", "photo.png", "-m", str(TINY_MODEL), cwd=work).returncode == 0
    data = (work / "photo.png.fz").read_bytes()
    (work / "trunc.fz").write_bytes(data[: len(data) // 2])
    (work / "garbage.fz").write_bytes(os.urandom(500))
    (work / "text.png").write_text("not an image")
    flipped = bytearray(data)
    flipped[-20] ^= 0x10
    (work / "flipped.fz").write_bytes(bytes(flipped))
    m = ["-m", str(TINY_MODEL)]
    assert_clean_error(flowzip("decompress", "trunc.fz", *m, cwd=work), "trunc.fz", "truncated")
    assert_clean_error(flowzip("decompress", "garbage.fz", *m, cwd=work), "not a flowzip file")
    assert_clean_error(flowzip("decompress", "flipped.fz", *m, cwd=work), "flipped.fz")
    assert_clean_error(flowzip("test", "flipped.fz", *m, cwd=work), "flipped.fz")
    assert_clean_error(flowzip("compress", "text.png", *m, cwd=work), "not a readable image")
    assert_clean_error(flowzip("compress", "missing.png", *m, cwd=work), "no such file")
    assert_clean_error(
        flowzip("compress", "photo.png", "-m", "no-such-model", cwd=work), "unknown model"
    )
    # a file with flow tiles names the model it needs (one of classic tiles only needs none)
    import flowzip as fz

    photo = np.asarray(Image.open(work / "photo.png"))
    (work / "flow.fz").write_bytes(fz.Compressor(TINY_MODEL, flow_only=True).compress(photo))
    assert_clean_error(flowzip("decompress", "flow.fz", "-o", "other.png", cwd=work), "tiny-v1")
    assert_clean_error(flowzip("compress", "photo.png.fz", *m, cwd=work), "already a flowzip file")
    assert not (work / "trunc.png").exists() and not (work / "flipped.png").exists()
    assert no_temp_files(work)
    # several files: the good one is done, the status still says an error happened
    os.remove(work / "photo.png.fz")
    p = flowzip("compress", "text.png", "photo.png", *m, cwd=work)
    assert p.returncode == 1 and (work / "photo.png.fz").exists()


@pytest.mark.slow
def test_usage_errors_exit_2(work):
    assert flowzip("compress", "--no-such-flag", cwd=work).returncode == 2
    assert flowzip("frobnicate", cwd=work).returncode == 2


@pytest.mark.slow
def test_arrays_pillow_cannot_hold_fail_cleanly(work):
    import flowzip as fz

    data = fz.compress(np.zeros((4, 4, 3), np.uint16), model=TINY_MODEL)
    (work / "deep.fz").write_bytes(data)
    p = flowzip("decompress", "deep.fz", "-m", str(TINY_MODEL), cwd=work)
    assert_clean_error(p, "deep.fz", "numpy")
    assert sorted(x.name for x in work.iterdir()) == ["deep.fz", "photo.png"]
    np.save(work / "model.npy", np.zeros(2))
    assert_clean_error(
        flowzip("compress", "photo.png", "-m", "model.npy", cwd=work), "not a flowzip model"
    )


@pytest.mark.slow
def test_info_names_the_files_format_version_and_tiles(tmp_path):
    v1 = FIXTURES / "v1" / "tiny-rgb.fz"  # 96 x 80 in tiles of 64: four streams
    v2 = FIXTURES / "v2" / "tiny-rgb.fz"  # the same, one stream
    for path, version, streams in ((v1, 1, 4), (v2, 2, 1)):
        rec = json.loads(flowzip("info", str(path), "--json", cwd=tmp_path).stdout)
        assert (rec["format_version"], rec["tile_count"], rec["stream_count"]) == (
            version,
            4,
            streams,
        )
        assert f"flowzip v{version} " in flowzip("info", str(path), cwd=tmp_path).stdout.decode()


def test_info_reads_the_mode_and_palette_size_from_the_codec(tmp_path):
    import flowzip as fz
    from flowzip.codec import index_palette

    path = FIXTURES / "v4" / "default-indexed.fz"  # an RGB photo of 227 colours, as indices
    colours = len(index_palette(fz.read_header(path.read_bytes())))
    out = flowzip("info", str(path), cwd=tmp_path).stdout.decode()
    assert f"mode RGB, coded as palette indices ({colours} colours)" in out
    deep = tmp_path / "deep.fz"  # 16-bit colour: no Pillow mode
    deep.write_bytes(fz.compress(np.zeros((4, 4, 3), np.uint16), model=TINY_MODEL))
    assert "mode 3 x uint16\n" in flowzip("info", str(deep), cwd=tmp_path).stdout.decode()


def test_compress_rm_checks_every_file_with_one_decompressor_on_the_backend(tmp_path, monkeypatch):
    """--rm decodes each file written before its source goes, with one Decompressor for all
    the files (it keeps the model loaded) on the backend asked for (it made one per file,
    on the default backend)."""
    import flowzip.api
    from flowzip.cli import main

    made = []
    init = flowzip.api.Decompressor.__init__

    def counted(self, **kwargs):
        init(self, **kwargs)
        made.append(self)

    monkeypatch.setattr(flowzip.api.Decompressor, "__init__", counted)
    decoded = []
    decode = flowzip.api.Decompressor.decode
    monkeypatch.setattr(
        flowzip.api.Decompressor,
        "decode",
        lambda self, data, **kw: decoded.append(self) or decode(self, data, **kw),
    )
    names = [str(tmp_path / f"p{i}.png") for i in range(3)]
    for name in names:
        shutil.copy(PHOTO, name)
    args = ["compress", "--rm", "-q", "-m", str(TINY_MODEL), "--backend", "reference"]
    assert main([*args, *names]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"p{i}.png.fz" for i in range(3)]
    assert len(made) == 1 and made[0].backend == "reference"
    assert decoded == made * 3  # every file checked, by that one
