"""The CLI's -r (into folders), -j N (files in parallel) and -T N (threads per file)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from flowzip.cli import main

from .conftest import TINY_MODEL
from .test_batch import _tree

ROOT = Path(__file__).resolve().parent.parent


def _fz_files(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*.fz"))


@pytest.mark.slow
def test_recursive_compress_then_decompress(tmp_path, capfd):
    _tree(tmp_path)
    (tmp_path / "sub" / "old.png.fz").unlink()
    status = main(["compress", "-r", "-m", str(TINY_MODEL), str(tmp_path)])
    err = capfd.readouterr().err
    assert status == 1  # broken.png: one error line, the others done
    assert [line for line in err.splitlines() if "broken.png" in line] == [
        line for line in err.splitlines() if line.startswith("flowzip: ")
    ]
    assert _fz_files(tmp_path) == [
        "a.png.fz",
        "sub/b.tif.fz",
        "sub/deeper/c.png.fz",
    ]  # no .txt, no hidden
    originals = {p: np.asarray(Image.open(tmp_path / p)) for p in ("a.png", "sub/deeper/c.png")}
    for p in originals:
        (tmp_path / p).unlink()
    assert main(["decompress", "-r", "-q", "-m", str(TINY_MODEL), str(tmp_path)]) == 0
    for p, pixels in originals.items():
        assert np.array_equal(np.asarray(Image.open(tmp_path / p)), pixels)
    assert (tmp_path / "sub" / "b.tif.png").exists()  # a .tif.fz decodes to PNG


def test_a_folder_without_r_is_skipped_in_one_line(tmp_path, capfd):
    _tree(tmp_path)
    assert main(["compress", "-m", str(TINY_MODEL), str(tmp_path / "sub")]) == 1
    assert "a folder; skipped (-r goes into folders)" in capfd.readouterr().err
    assert not (tmp_path / "sub" / "b.tif.fz").exists()


@pytest.mark.slow
def test_jobs_and_threads_write_the_same_files(tmp_path):
    _tree(tmp_path / "one")
    _tree(tmp_path / "two")
    for folder in ("one", "two"):
        (tmp_path / folder / "sub" / "old.png.fz").unlink()
        (tmp_path / folder / "sub" / "broken.png").unlink()
    assert (
        main(["compress", "-r", "-q", "-T", "1", "-m", str(TINY_MODEL), str(tmp_path / "one")]) == 0
    )
    # a user's shell: a fresh process, three files over two worker processes
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "flowzip",
            "compress",
            "-r",
            "-j",
            "2",
            "-T",
            "1",
            "-m",
            str(TINY_MODEL),
            str(tmp_path / "two"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert out.returncode == 0, out.stderr
    assert sorted(line.split(":")[0] for line in out.stderr.splitlines()) == sorted(
        str(tmp_path / "two" / p) for p in ("a.png", "sub/b.tif", "sub/deeper/c.png")
    )
    assert _fz_files(tmp_path / "one") == _fz_files(tmp_path / "two")
    for p in _fz_files(tmp_path / "one"):
        assert (tmp_path / "one" / p).read_bytes() == (tmp_path / "two" / p).read_bytes()


@pytest.mark.parametrize("flags", [["-j", "0"], ["-T", "x"], ["-j", "-1"]])
def test_bad_counts_are_usage_errors(tmp_path, flags):
    with pytest.raises(SystemExit) as e:
        main(["compress", *flags, "x.png"])
    assert e.value.code == 2


def test_jobs_refuse_stdin_and_stdout(tmp_path, capfd):
    _tree(tmp_path)
    assert main(["compress", "-j", "2", "-c", "-m", str(TINY_MODEL), str(tmp_path / "a.png")]) == 1
    assert "-j does not combine" in capfd.readouterr().err
