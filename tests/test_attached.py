"""Format 4: the metadata an image file carries travels with its pixels (ICC profile, EXIF,
PNG text), and everything that decides the decoded image is under the image CRC, so a
forged header (its own CRC recomputed) fails instead of decoding to another image."""

from __future__ import annotations

import base64
import dataclasses
import io

import numpy as np
import pytest
from PIL import Image, PngImagePlugin

import flowzip
from flowzip import container
from flowzip.errors import ChecksumError, FormatError
from flowzip.image import ImageInfo, save_options

from .conftest import photo_crop

ICC = bytes(range(256)) * 2
EXIF = bytes.fromhex("4d4d002a00000008000101120003000000010006000000000000")  # Orientation 6


def png_with_metadata() -> Image.Image:
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "caf\u00e9")
    info.add_itxt("Title", "\u6771\u4eac", "ja", "Tokyo")
    info.add_text("parameters", "x" * 3000, zip=True)
    buf = io.BytesIO()
    Image.fromarray(photo_crop()[:24, :32]).save(
        buf, "PNG", icc_profile=ICC, exif=b"Exif\x00\x00" + EXIF, pnginfo=info
    )
    return Image.open(io.BytesIO(buf.getvalue()))


def test_png_metadata_travels_and_comes_back(compressor, decompressor):
    source = png_with_metadata()
    data = compressor.compress(source)
    attached = flowzip.read_header(data).attached
    assert attached.icc_profile == ICC and attached.exif == EXIF
    assert [(t.keyword, t.text[:5], t.language, t.translated_keyword) for t in attached.text] == [
        ("Comment", "caf\u00e9", "", ""),
        ("Title", "\u6771\u4eac", "ja", "Tokyo"),
        ("parameters", "xxxxx", "", ""),
    ]
    decoded = decompressor.decode(data)
    assert decoded.attached == attached
    im = decoded.to_pil()
    assert (
        im.info["icc_profile"] == ICC
        and im.info["exif"] == b"Exif\x00\x00" + EXIF
        and im.info["Comment"] == "caf\u00e9"
    )
    # written back as PNG, every chunk is there again (text of 1 KB and more deflated, as zTXt)
    options, kept = save_options(decoded.attached, "PNG")
    buf = io.BytesIO()
    im.save(buf, "PNG", **options)
    back = Image.open(io.BytesIO(buf.getvalue()))
    assert kept == attached and back.info["icc_profile"] == ICC and back.getexif()[274] == 6
    assert back.text == source.text and back.text["Title"].lang == "ja"
    assert np.array_equal(np.asarray(back), np.asarray(source))
    assert b"zTXt" in buf.getvalue() and buf.getvalue().count(b"tEXt") == 1


def test_attached_can_be_dropped_or_given(compressor, decompressor):
    plain = compressor.compress(png_with_metadata(), attached=flowzip.Attached())
    assert not flowzip.read_header(plain).attached
    given = flowzip.Attached(icc_profile=b"p" * 40)
    data = compressor.compress(photo_crop()[:8, :8], attached=given)
    assert decompressor.decode(data).attached == given
    assert len(data) > len(compressor.compress(photo_crop()[:8, :8]))


def test_metadata_the_format_cannot_hold_is_refused_before_the_work(compressor):
    from flowzip.errors import UnsupportedImageError

    with pytest.raises(UnsupportedImageError, match="--strip"):
        compressor.compress(
            np.zeros((4, 4), np.uint8),
            attached=flowzip.Attached(exif=bytes(container.MAX_ATTACHED)),
        )
    with pytest.raises(UnsupportedImageError, match="keyword"):
        compressor.compress(
            np.zeros((4, 4), np.uint8),
            attached=flowzip.Attached(text=(flowzip.TextChunk("a\0b", "x"),)),
        )


def test_tiff_keeps_the_profile_only():
    options, kept = save_options(
        flowzip.Attached(ICC, EXIF, (flowzip.TextChunk("a", "b"),) * 2), "TIFF"
    )
    assert options == {"icc_profile": ICC} and kept == flowzip.Attached(ICC)
    assert save_options(flowzip.Attached(), "PNG") == ({"icc_profile": None}, flowzip.Attached())


def _forged(data: bytes, **changes) -> bytes:
    """The file with header fields rewritten and the header CRC recomputed (the pixel CRC kept)."""
    header, streams = container.read(data)
    return container.write(dataclasses.replace(header, **changes), streams)


def test_forged_metadata_fails_the_image_checksum(compressor, decompressor):
    """Issue 17, item 3: palette, mode, ndim and attached metadata are all checked."""
    p_image = Image.fromarray(np.arange(64, dtype=np.uint8).reshape(8, 8) % 4, "P")
    p_image.putpalette([0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 0, 255])
    p_data = compressor.compress(p_image)
    meta = container.read(p_data)[0].meta
    swapped = dict(meta, palette=base64.b64encode(bytes([255, 0, 0, 0, 0, 0]) + bytes(6)).decode())
    gray = compressor.compress(np.zeros((6, 5), np.uint8))
    rgb = compressor.compress(photo_crop()[:8, :8])
    forgeries = [
        (p_data, {"meta": swapped}),
        (p_data, {"meta": dict(meta, mode="L")}),
        (rgb, {"meta": {"mode": "P"}}),
        (gray, {"ndim": 3}),
        (gray, {"meta": {"mode": "1"}}),
        (rgb, {"attached": flowzip.Attached(icc_profile=b"forged")}),
    ]
    for data, change in forgeries:
        assert decompressor.decode(data)  # the original is fine
        with pytest.raises(ChecksumError):
            decompressor.decode(_forged(data, **change))


def test_older_files_refuse_a_mode_their_samples_cannot_be(decompressor):
    """Format 3's CRC covers only pixels; the mode must at least fit the samples."""
    info = ImageInfo.from_meta({"mode": "I;16B"})
    with pytest.raises(FormatError, match="I;16B"):
        info.check_fits(np.zeros((2, 2, 3), np.uint8))
    with pytest.raises(FormatError, match="above 1"):
        ImageInfo.from_meta({"mode": "1"}).check_fits(np.full((2, 2, 1), 7, np.uint8))
    ImageInfo.from_meta({"mode": "I;16B"}).check_fits(np.zeros((2, 2, 1), np.uint16))
    ImageInfo.from_meta({}).check_fits(np.zeros((2, 2, 3), np.uint16))


@pytest.mark.parametrize(
    "palette_mode,length", [("RGB", 771), ("RGB", 1024), ("RGB", 7), ("RGBA", 1028), ("XYZ", 3)]
)
def test_a_palette_longer_than_its_mode_holds_is_a_format_error(palette_mode, length):
    """Issue 17, item 4: no PIL image that fails only when used."""
    meta = {
        "mode": "P",
        "palette_mode": palette_mode,
        "palette": base64.b64encode(bytes(length)).decode(),
    }
    with pytest.raises(FormatError, match="palette"):
        ImageInfo.from_meta(meta)
    ok = ImageInfo.from_meta(
        {"mode": "PA", "palette_mode": "RGBA", "palette": base64.b64encode(bytes(1024)).decode()}
    )
    assert len(ok.palette) == 1024
