"""compress_files: folders, typed results, errors per file, progress, jobs and threads."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

import flowzip
from flowzip.batch import FileResult, threads_per_job
from flowzip.files import walk

from .conftest import TINY_MODEL


def _tree(root: Path) -> None:
    rng = np.random.default_rng(5)
    (root / "sub" / "deeper").mkdir(parents=True)
    (root / ".hidden").mkdir()
    Image.fromarray(rng.integers(0, 256, (20, 24, 3), dtype=np.uint8)).save(root / "a.png")
    Image.fromarray(rng.integers(0, 256, (9, 7), dtype=np.uint8)).save(root / "sub" / "b.tif")
    Image.fromarray(rng.integers(0, 256, (5, 5, 4), dtype=np.uint8)).save(
        root / "sub" / "deeper" / "c.png"
    )
    Image.fromarray(np.zeros((3, 3), np.uint8)).save(root / ".hidden" / "skipped.png")
    (root / "notes.txt").write_text("not an image")
    (root / "sub" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    (root / "sub" / "old.png.fz").write_bytes(
        flowzip.compress(np.zeros((4, 4), np.uint8), model=TINY_MODEL)
    )


def test_folders_mirror_into_out_dir_with_a_result_per_file(tmp_path):
    _tree(tmp_path / "in")
    seen = []
    results = flowzip.compress_files(
        [tmp_path / "in"],
        tmp_path / "out",
        model=TINY_MODEL,
        progress=lambda done, total, r: seen.append((done, total, r.source.name)),
    )
    names = [r.source.relative_to(tmp_path / "in").as_posix() for r in results]
    assert names == [
        "a.png",
        "sub/b.tif",
        "sub/broken.png",
        "sub/deeper/c.png",
    ]  # no txt, .fz, hidden
    assert all(isinstance(r, FileResult) for r in results)
    ok = {r.source.name: r for r in results if r.ok}
    assert set(ok) == {"a.png", "b.tif", "c.png"}
    assert ok["b.tif"].output == tmp_path / "out" / "sub" / "b.tif.fz"
    assert (
        ok["c.png"].stats.channels == 4
        and ok["c.png"].stats.nbytes == ok["c.png"].output.stat().st_size
    )
    broken = results[2]
    assert broken.output is None and broken.stats is None and "cannot read image" in broken.error
    assert "\n" not in broken.error
    with Image.open(tmp_path / "in" / "sub" / "b.tif") as original:
        assert np.array_equal(
            flowzip.imread(ok["b.tif"].output, models=[TINY_MODEL]), np.asarray(original)
        )
    assert [(d, t) for d, t, _ in seen] == [(1, 4), (2, 4), (3, 4), (4, 4)]


def test_beside_the_sources_no_overwrite_and_explicit_files(tmp_path):
    _tree(tmp_path)
    first = flowzip.compress_files(
        [tmp_path / "a.png", tmp_path / "notes.txt", tmp_path / "missing.png"],
        model=TINY_MODEL,
        verify=True,
    )
    assert first[0].ok and first[0].output == tmp_path / "a.png.fz"
    assert "not a readable image" in first[1].error  # a file given by name is always tried
    assert first[2].error == "No such file or directory"
    again = flowzip.compress_files([tmp_path / "a.png"], model=TINY_MODEL)
    assert "already exists" in again[0].error
    assert flowzip.compress_files([tmp_path / "a.png"], model=TINY_MODEL, overwrite=True)[0].ok


def test_jobs_give_the_same_files(tmp_path):
    _tree(tmp_path / "in")
    one = flowzip.compress_files([tmp_path / "in"], tmp_path / "one", model=TINY_MODEL, threads=1)
    two = flowzip.compress_files([tmp_path / "in"], tmp_path / "two", model=TINY_MODEL, jobs=2)
    assert [r.ok for r in one] == [r.ok for r in two] == [True, True, False, True]
    for a, b in zip(one, two, strict=True):
        if a.ok:
            assert a.output.read_bytes() == b.output.read_bytes()


def test_walk_and_threads_per_job(tmp_path):
    _tree(tmp_path)
    assert walk([tmp_path / "notes.txt"], lambda p: False) == [(tmp_path / "notes.txt", None)]
    assert [p.name for p, _ in walk([tmp_path], lambda p: p.suffix == ".fz")] == ["old.png.fz"]
    assert threads_per_job(1, None) is None and threads_per_job(4, 3) == 3
    assert threads_per_job(10**6, None) == 1
