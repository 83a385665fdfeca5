"""What a gzip, zstd or cjxl user types first, through the installed command: mode flags,
levels, standard input to standard output, -c with one input, the source's mode and mtime
on every output, metadata kept (or --strip), lossy input refused."""

from __future__ import annotations

import io
import json
import os
import pty
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, PngImagePlugin, features

from flowzip import FORMAT_VERSION

from .conftest import TINY_MODEL
from .test_cli import PHOTO, assert_clean_error, flowzip, no_temp_files

M = ("-m", str(TINY_MODEL))
ICC = bytes(range(256)) * 2
EXIF = b"Exif\x00\x00" + bytes.fromhex(
    "4d4d002a00000008000101120003000000010006000000000000"
)  # Orientation 6
MTIME = 1577934245  # 2020-01-02


def with_terminal(*args: str, cwd: Path, as_stdin: bool) -> subprocess.CompletedProcess:
    """The command with a terminal as standard input (or output)."""
    leader, terminal = pty.openpty()
    try:
        where = (
            {"stdin": terminal} if as_stdin else {"stdout": terminal, "stdin": subprocess.DEVNULL}
        )
        return subprocess.run(
            [sys.executable, "-m", "flowzip", *args],
            cwd=cwd,
            stderr=subprocess.PIPE,
            timeout=300,
            **where,
        )
    finally:
        os.close(leader)
        os.close(terminal)


def usage_error(proc: subprocess.CompletedProcess, command: str, words: str) -> None:
    err = proc.stderr.decode()
    assert proc.returncode == 2 and "Traceback" not in err, err
    assert f"usage: flowzip {command}" in err and words in err, err


@pytest.fixture
def tagged(tmp_path: Path) -> Path:
    """A private 2020 PNG with an ICC profile, EXIF and three text chunks."""
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "caf\u00e9")
    info.add_itxt("Title", "\u6771\u4eac", "ja", "Tokyo")
    info.add_text("parameters", "steps: 20, " * 200, zip=True)
    Image.open(PHOTO).crop((0, 0, 40, 24)).save(
        tmp_path / "tagged.png", icc_profile=ICC, exif=EXIF, pnginfo=info
    )
    os.chmod(tmp_path / "tagged.png", 0o600)
    os.utime(tmp_path / "tagged.png", (MTIME, MTIME))
    return tmp_path / "tagged.png"


def attributes(path: Path) -> tuple[int, int]:
    st = path.stat()
    return st.st_mode & 0o777, int(st.st_mtime)


@pytest.mark.slow
def test_mode_mtime_and_metadata_are_kept_both_ways(tagged):
    work = tagged.parent
    p = flowzip("compress", "tagged.png", *M, cwd=work)
    assert p.returncode == 0 and b"keeps ICC profile, EXIF, 3 text chunks" in p.stderr, p.stderr
    assert attributes(work / "tagged.png.fz") == (0o600, MTIME)
    text = flowzip("info", "tagged.png.fz", cwd=work).stdout.decode()
    assert "metadata: ICC profile 512 B, EXIF 26 B, text Comment, Title, parameters" in text, text
    rec = json.loads(flowzip("info", "tagged.png.fz", "--json", cwd=work).stdout)
    assert rec["attached"] == {
        "icc_profile": 512,
        "exif": 26,
        "text": ["Comment", "Title", "parameters"],
    }
    os.rename(tagged, work / "original.png")
    p = flowzip("decompress", "tagged.png.fz", *M, cwd=work)
    assert p.returncode == 0, p.stderr
    assert attributes(work / "tagged.png") == (0o600, MTIME)
    back, original = Image.open(work / "tagged.png"), Image.open(work / "original.png")
    assert np.array_equal(np.asarray(back), np.asarray(original))
    assert back.info["icc_profile"] == ICC and back.getexif()[274] == 6
    assert back.text == original.text and back.text["Title"].lang == "ja"
    # TIFF holds the profile, and the command says what it could not write
    p = flowzip("decompress", "tagged.png.fz", *M, "-o", "tagged.tif", cwd=work)
    assert p.returncode == 0 and b"TIFF has no place for its EXIF, 3 text chunks" in p.stderr, (
        p.stderr
    )
    assert Image.open(work / "tagged.tif").info["icc_profile"] == ICC
    assert attributes(work / "tagged.tif") == (0o600, MTIME)


@pytest.mark.slow
def test_strip_drops_the_metadata_either_way(tagged):
    work = tagged.parent
    assert (
        flowzip("compress", "tagged.png", *M, "--strip", "-o", "bare.fz", cwd=work).returncode == 0
    )
    assert "metadata: none" in flowzip("info", "bare.fz", cwd=work).stdout.decode()
    assert flowzip("compress", "tagged.png", *M, cwd=work).returncode == 0
    p = flowzip("decompress", "tagged.png.fz", *M, "--strip", "-o", "bare.png", cwd=work)
    assert p.returncode == 0, p.stderr
    bare = Image.open(work / "bare.png")
    assert "icc_profile" not in bare.info and "exif" not in bare.info and not bare.text


@pytest.mark.slow
def test_gzip_mode_flags_levels_keep_verbose_and_rm(tmp_path):
    shutil.copy(PHOTO, tmp_path / "photo.png")
    Image.open(PHOTO).crop((0, 0, 16, 16)).save(tmp_path / "small.png")
    p = flowzip(
        "-z", "-kv", "photo.png", *M, cwd=tmp_path
    )  # -z: zstd's compress; -v: the model and tiles
    assert p.returncode == 0 and b"model tiny-v1, tiles" in p.stderr, p.stderr
    assert (tmp_path / "photo.png").exists()
    os.rename(tmp_path / "photo.png", tmp_path / "original.png")
    p = flowzip(
        "-d", "photo.png.fz", *M, "--rm", cwd=tmp_path
    )  # gunzip's -d, and --rm after a check
    assert p.returncode == 0, p.stderr
    assert not (tmp_path / "photo.png.fz").exists()
    assert np.array_equal(
        np.asarray(Image.open(tmp_path / "photo.png")),
        np.asarray(Image.open(tmp_path / "original.png")),
    )
    # levels: each names a shipped model (1 the fastest, 9 the smallest files); last of -N / -m wins
    assert (
        flowzip("compress", "-q", "small.png", "--best", "-o", "best.fz", cwd=tmp_path).returncode
        == 0
    )
    assert (
        flowzip("compress", "-9", "-q", "small.png", *M, "-o", "mine.fz", cwd=tmp_path).returncode
        == 0
    )
    ids = [
        json.loads(flowzip("-l", "--json", n, cwd=tmp_path).stdout)["model_id"]
        for n in ("best.fz", "mine.fz")
    ]
    assert ids == ["idf-bb-v5", "tiny-v1"]
    p = flowzip("-dcq", "mine.fz", cwd=tmp_path)  # a cluster: -d -c -q
    assert p.returncode == 0 and p.stdout[:8] == b"\x89PNG\r\n\x1a\n" and p.stderr == b""
    assert flowzip("-t", "mine.fz", "best.fz", cwd=tmp_path).returncode == 0
    help_text = flowzip("compress", "--help", cwd=tmp_path).stdout.decode()
    assert "idf-bb-v5" in help_text and "--best" in help_text
    models = flowzip("models", cwd=tmp_path).stdout.decode()
    assert "levels 1-6" in models and "levels 7-9" in models


@pytest.mark.slow
def test_standard_input_to_standard_output(tmp_path):
    p = flowzip("compress", *M, cwd=tmp_path, stdin=PHOTO.read_bytes())
    assert p.returncode == 0 and p.stdout[:4] == b"\x89FZP", p.stderr
    q = flowzip("decompress", *M, cwd=tmp_path, stdin=p.stdout)
    assert q.returncode == 0 and np.array_equal(
        np.asarray(Image.open(io.BytesIO(q.stdout))), np.asarray(Image.open(PHOTO))
    )
    assert flowzip("info", cwd=tmp_path, stdin=p.stdout).stdout.startswith(
        f"-: flowzip v{FORMAT_VERSION}".encode()
    )
    assert list(tmp_path.iterdir()) == []
    # a terminal: nothing to read, or nowhere to write binary data (refused before the work)
    usage_error(
        with_terminal("compress", *M, cwd=tmp_path, as_stdin=True), "compress", "no input files"
    )
    shutil.copy(PHOTO, tmp_path / "photo.png")
    assert_clean_error(
        with_terminal("compress", "photo.png", "-c", *M, cwd=tmp_path, as_stdin=False), "terminal"
    )


@pytest.mark.slow
def test_usage_errors_name_the_command_and_come_before_any_work(tmp_path):
    shutil.copy(PHOTO, tmp_path / "photo.png")
    shutil.copy(PHOTO, tmp_path / "other.png")
    usage_error(
        flowzip("compress", "photo.png", "--frobnicate", cwd=tmp_path), "compress", "--frobnicate"
    )
    usage_error(flowzip("decompress", "-x", "a.fz", cwd=tmp_path), "decompress", "-x")
    p = flowzip("compress", "-c", "photo.png", "other.png", *M, cwd=tmp_path)
    usage_error(p, "compress", "-c takes one input file")
    assert p.stdout == b""
    usage_error(
        flowzip("compress", "-k", "--rm", "photo.png", cwd=tmp_path), "compress", "-k and --rm"
    )
    usage_error(
        flowzip("compress", "-o", "x.fz", "photo.png", "other.png", cwd=tmp_path),
        "compress",
        "-o takes one",
    )
    assert sorted(x.name for x in tmp_path.iterdir()) == ["other.png", "photo.png"]
    # files put back to back by hand are named as such, by info as by decompress
    one = flowzip("compress", "-c", "photo.png", *M, cwd=tmp_path).stdout
    (tmp_path / "two.fz").write_bytes(one + one)
    (tmp_path / "half.fz").write_bytes(one[: len(one) // 2])
    assert_clean_error(flowzip("info", "two.fz", cwd=tmp_path), "two.fz", "do not concatenate")
    assert_clean_error(flowzip("info", "half.fz", cwd=tmp_path), "half.fz", "truncated")


@pytest.mark.slow
def test_lossy_input_is_refused_with_one_line(tmp_path):
    photo = Image.open(PHOTO).convert("RGB")
    photo.save(tmp_path / "photo.jpg", quality=90)
    names = ["photo.jpg"]
    if features.check("webp"):
        photo.save(tmp_path / "lossy.webp", quality=80)
        photo.save(tmp_path / "lossless.webp", lossless=True)
        names.append("lossy.webp")
    for name in names:
        assert_clean_error(flowzip("compress", name, *M, cwd=tmp_path), name, "lossy", "PNG")
        assert not (tmp_path / f"{name}.fz").exists()
    if features.check("webp"):  # a lossless WebP's pixels are its own: compressed as any image
        assert flowzip("compress", "-q", "lossless.webp", *M, cwd=tmp_path).returncode == 0
    assert no_temp_files(tmp_path)
