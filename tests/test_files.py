"""Paths and binary file objects through compress/decompress, and imread/imwrite."""

from __future__ import annotations

import io
import os

import numpy as np
import pytest
from PIL import Image

import flowzip
from flowzip.errors import UnsupportedImageError
from flowzip.files import find_images, image_suffixes, write_atomic

from .conftest import FIXTURES, TINY_MODEL, photo_crop

PHOTO = FIXTURES / "images" / "lenna-96x80.png"


def test_compress_reads_image_paths_and_file_objects(compressor, decompressor):
    from_array = compressor.compress(photo_crop())
    assert compressor.compress(PHOTO) == from_array
    assert compressor.compress(str(PHOTO)) == from_array
    with open(PHOTO, "rb") as fh:
        assert compressor.compress(fh) == from_array
    assert compressor.compress(io.BytesIO(PHOTO.read_bytes())) == from_array


def test_compress_keeps_the_mode_of_an_image_file(tmp_path, compressor, decompressor):
    src = tmp_path / "p.png"
    Image.open(PHOTO).convert("P", palette=Image.Palette.ADAPTIVE, colors=20).save(src)
    im = decompressor.decompress_image(compressor.compress(src))
    with Image.open(src) as original:
        assert im.mode == "P" and im.getpalette() == original.getpalette()
        assert np.array_equal(np.asarray(im), np.asarray(original))


def test_decompress_reads_paths_and_file_objects(tmp_path, compressor, decompressor):
    data = compressor.compress(photo_crop())
    path = tmp_path / "x.fz"
    path.write_bytes(data)
    for source in (path, str(path), io.BytesIO(data), memoryview(data), bytearray(data)):
        assert np.array_equal(decompressor.decompress(source), photo_crop())
    with open(path, "rb") as fh:
        assert np.array_equal(flowzip.decompress(fh, models=[TINY_MODEL]), photo_crop())


def test_bad_sources_are_refused_in_one_line(tmp_path, compressor, decompressor):
    text = tmp_path / "notes.txt"
    text.write_text("not an image")
    fz = tmp_path / "x.fz"
    fz.write_bytes(compressor.compress(photo_crop()))
    with pytest.raises(UnsupportedImageError, match="not a readable image"):
        compressor.compress(text)
    with pytest.raises(UnsupportedImageError, match="already a flowzip file"):
        compressor.compress(fz)
    with pytest.raises(FileNotFoundError):
        compressor.compress(tmp_path / "missing.png")
    with pytest.raises(TypeError, match="binary file object"):
        decompressor.decompress(io.StringIO("text"))
    with pytest.raises(flowzip.FormatError):
        decompressor.decompress(text)


def test_imwrite_imread_roundtrip_and_no_silent_overwrite(tmp_path):
    img = np.random.default_rng(3).integers(0, 65536, (9, 14, 2)).astype(np.uint16)
    path = tmp_path / "a.fz"
    stats = flowzip.imwrite(path, img, model=TINY_MODEL)
    assert stats.width == 14 and path.stat().st_size == stats.nbytes
    back = flowzip.imread(path, models=[TINY_MODEL])
    assert back.dtype == np.uint16 and np.array_equal(back, img)
    with pytest.raises(FileExistsError):
        flowzip.imwrite(path, img[:4], model=TINY_MODEL)
    assert np.array_equal(flowzip.imread(path, models=[TINY_MODEL]), img)  # untouched
    flowzip.imwrite(path, img[:4], model=TINY_MODEL, overwrite=True)
    assert flowzip.imread(path, models=[TINY_MODEL]).shape == (4, 14, 2)


def test_write_atomic_leaves_nothing_on_failure(tmp_path):
    def fail(fh):
        fh.write(b"half")
        raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError):
        write_atomic(tmp_path / "out.fz", fail)
    assert list(tmp_path.iterdir()) == []


def test_find_images_is_the_one_rule_for_a_folder(tmp_path):
    """Recursive, in path order, by the suffixes Pillow opens (any case), hidden entries,
    flowzip's own files, save-only formats, other files and broken links left out."""
    for rel in ("b.png", "a/z.JPG", "a/y.webp", "c.tif", ".hidden.png", ".git/x.png", "x.png.fz"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b"")
    (tmp_path / "notes.txt").write_text("no")
    (tmp_path / "doc.pdf").write_bytes(b"")  # Pillow writes PDF but cannot open it
    (tmp_path / "gone.png").symlink_to(tmp_path / "missing.png")
    assert [p.relative_to(tmp_path).as_posix() for p in find_images(tmp_path)] == [
        "a/y.webp",
        "a/z.JPG",
        "b.png",
        "c.tif",
    ]
    assert ".fz" not in image_suffixes() and ".pdf" not in image_suffixes()
    assert {".png", ".jpg", ".webp", ".tiff", ".gif", ".bmp", ".ppm"} <= image_suffixes()


def test_write_atomic_replaces_only_when_told_and_copies_a_source_s_attributes(tmp_path):
    out = tmp_path / "out.bin"
    write_atomic(out, b"first")
    with pytest.raises(FileExistsError, match="not overwritten"):
        write_atomic(out, b"second")
    assert out.read_bytes() == b"first"
    source = tmp_path / "src.png"
    source.write_bytes(b"x")
    os.chmod(source, 0o640)
    os.utime(source, ns=(1_000_000_000, 2_000_000_000))
    modes = []
    write_atomic(
        out,
        lambda fh: modes.append(os.fstat(fh.fileno()).st_mode & 0o777),
        overwrite=True,
        like=source,
    )
    assert modes == [0o600]  # private while it is written
    st = out.stat()
    assert (st.st_mode & 0o777, st.st_mtime_ns, out.read_bytes()) == (0o640, 2_000_000_000, b"")
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []
