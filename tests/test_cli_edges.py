"""The command's edges found by a review: odd input names, modes one output format cannot
hold, output paths that cannot be written, and contradictory flags. Each is one clear line
and nothing left behind, or a lossless success."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from .conftest import TINY_MODEL
from .test_cli import PHOTO, assert_clean_error, flowzip, no_temp_files

M = ("-m", str(TINY_MODEL))


@pytest.mark.slow
def test_any_input_name_decodes_when_the_output_is_named(tmp_path):
    shutil.copy(PHOTO, tmp_path / "photo.png")
    assert flowzip("compress", "photo.png", *M, "-o", "data.bin", cwd=tmp_path).returncode == 0
    assert_clean_error(flowzip("decompress", "data.bin", *M, cwd=tmp_path), "data.bin", "-o OUT")
    p = flowzip("decompress", "data.bin", *M, "-o", "back.png", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert np.array_equal(
        np.asarray(Image.open(tmp_path / "back.png")), np.asarray(Image.open(PHOTO))
    )
    shutil.copy(tmp_path / "data.bin", tmp_path / "UPPER.FZ")
    assert flowzip("decompress", "UPPER.FZ", *M, cwd=tmp_path).returncode == 0
    assert (tmp_path / "UPPER.png").exists()


@pytest.mark.slow
def test_mode_i_decodes_to_a_16_bit_png(tmp_path):
    values = (np.arange(20 * 30).reshape(20, 30) * 100).astype(np.int32)
    Image.fromarray(values, "I").save(tmp_path / "deep.tif")
    assert flowzip("compress", "deep.tif", *M, cwd=tmp_path).returncode == 0
    p = flowzip("decompress", "deep.tif.fz", *M, cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert np.array_equal(
        np.asarray(Image.open(tmp_path / "deep.tif.png")).astype(np.int64), values
    )


@pytest.mark.slow
def test_tiff_that_would_drop_transparency_is_refused(tmp_path):
    im = Image.fromarray(np.random.default_rng(0).integers(0, 4, (20, 24), dtype=np.uint8), "P")
    im.putpalette([0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 0, 255])
    im.save(tmp_path / "keyed.png", transparency=1)
    assert flowzip("compress", "keyed.png", *M, cwd=tmp_path).returncode == 0
    assert_clean_error(
        flowzip("decompress", "keyed.png.fz", *M, "-o", "keyed.tif", cwd=tmp_path), "transparency"
    )
    assert not (tmp_path / "keyed.tif").exists()


@pytest.mark.slow
def test_unwritable_output_is_named_before_the_work(tmp_path):
    shutil.copy(PHOTO, tmp_path / "photo.png")
    assert_clean_error(
        flowzip("compress", "photo.png", *M, "-o", "missing/x.fz", cwd=tmp_path),
        "missing/x.fz",
        "no such folder",
    )
    long_name = (
        "x" * 248 + ".png"
    )  # its .fz is 255 characters: legal, and so must be its temporary file
    shutil.copy(PHOTO, tmp_path / long_name)
    p = flowzip("compress", long_name, *M, cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert (tmp_path / (long_name + ".fz")).exists() and no_temp_files(tmp_path)


@pytest.mark.slow
def test_rm_verifies_with_a_model_file_of_any_name(tmp_path):
    shutil.copy(PHOTO, tmp_path / "photo.png")
    shutil.copy(TINY_MODEL, tmp_path / "mymodel")
    p = flowzip("compress", "--rm", "-m", "mymodel", "photo.png", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert not (tmp_path / "photo.png").exists() and (tmp_path / "photo.png.fz").exists()


@pytest.mark.slow
def test_contradictions_and_unknowns_are_errors(tmp_path: Path):
    shutil.copy(PHOTO, tmp_path / "photo.png")
    p = flowzip("compress", "photo.png", *M, "-c", "-o", "x.fz", cwd=tmp_path)
    assert p.returncode == 2 and b"-o and -c" in p.stderr and not (tmp_path / "x.fz").exists()
    p = flowzip("models", "--backend", "nosuch", cwd=tmp_path)
    assert_clean_error(p, "nosuch")
    assert p.stdout == b""
    p = flowzip("compress", "photo.png", "-m", "photo.png", cwd=tmp_path)
    assert_clean_error(p, "not a flowzip model file")
    assert b"pickle" not in p.stderr
