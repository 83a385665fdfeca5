"""Container v7 (and v1 to v6, still read): parse what we write; refuse everything else with a
FormatError."""

from __future__ import annotations

import dataclasses

import pytest

from flowzip import container
from flowzip.errors import FormatError

HEADER = container.Header(
    width=300,
    height=7,
    channels=4,
    bytes_per_sample=2,
    ndim=3,
    tile=256,
    model_id="idf-base-v1",
    model_hash=bytes(range(8)),
    pixel_crc=0xDEADBEEF,
    meta={"mode": "RGBA", "transparency": 3},
    stream_sizes=(2, 12, 5),
    first_tile=1,
    attached=container.Attached(
        b"profile" * 9,
        b"II*\x00exif",
        (
            container.TextChunk("Comment", "h\u00e9"),
            container.TextChunk("Title", "\u65e5", "ja", "T"),
        ),
    ),
)
STREAMS = [b"\x00\x00", b"\x01" * 12, b"\x02" * 5]  # tile directory, flow stream, classic payloads
# version 3: the same streams, no attached metadata
HEADER_V3 = dataclasses.replace(HEADER, attached=container.Attached(), version=3)
# version 2: one stream for all tiles
HEADER_V2 = dataclasses.replace(HEADER_V3, stream_sizes=(12,), version=2)
STREAMS_V2 = [b"\x01" * 12]
# version 1: one stream per tile (300 x 7 in tiles of 256: two)
HEADER_V1 = dataclasses.replace(HEADER_V3, stream_sizes=(8, 4), first_tile=0, version=1)
STREAMS_V1 = [b"\x01" * 8, b"\x02" * 4]


def _gray(**fields) -> container.Header:
    """A header of an 8-bit grayscale image, model "m", with ``fields``."""
    return container.Header(
        channels=1,
        bytes_per_sample=1,
        ndim=2,
        model_id="m",
        model_hash=bytes(8),
        pixel_crc=0,
        **fields,
    )


def test_header_takes_keywords_only():
    with pytest.raises(TypeError):
        container.Header(5, 7, 3, 1, 3, 512, "m", bytes(8), 0)


BOTH = pytest.mark.parametrize(
    "header,streams",
    [(HEADER, STREAMS), (HEADER_V3, STREAMS), (HEADER_V2, STREAMS_V2), (HEADER_V1, STREAMS_V1)],
    ids=["v4", "v3", "v2", "v1"],
)


@BOTH
def test_roundtrip(header, streams):
    data = container.write(header, streams)
    assert data[:8] == container.MAGIC and data[8] == header.version
    assert container.read(data) == (header, streams)


def test_this_flowzip_writes_version_7():
    assert container.FORMAT_VERSION == HEADER.version == 7


@BOTH
def test_every_truncation_is_refused(header, streams):
    data = container.write(header, streams)
    for n in range(len(data)):
        with pytest.raises(FormatError):
            container.read(data[:n])


@BOTH
def test_every_header_bitflip_is_refused(header, streams):
    data = bytearray(container.write(header, streams))
    header_end = len(data) - sum(header.stream_sizes)
    for i in range(header_end):
        for bit in (0, 7):
            bad = bytearray(data)
            bad[i] ^= 1 << bit
            with pytest.raises(FormatError):
                container.read(bytes(bad))


def test_foreign_and_future_files():
    with pytest.raises(FormatError, match="not a flowzip file"):
        container.read(b"\x89PNG\r\n\x1a\n" + bytes(100))
    data = bytearray(container.write(HEADER, STREAMS))
    data[8] = container.FORMAT_VERSION + 1
    with pytest.raises(FormatError, match=f"version {container.FORMAT_VERSION + 1}"):
        container.read(bytes(data))
    with pytest.raises(FormatError, match="trailing"):
        container.read(container.write(HEADER, STREAMS) + b"x")


def _resealed(data: bytearray) -> bytes:
    """Recompute the header CRC so that the field checks themselves are exercised."""
    import struct
    import zlib

    end = 12 + struct.unpack_from("<H", data, 10)[0]
    struct.pack_into("<I", data, end, zlib.crc32(bytes(data[:end])))
    return bytes(data)


@pytest.mark.parametrize(
    "field,value",
    [
        ("width", 0),
        ("height", 0),
        ("channels", 5),
        ("bytes_per_sample", 3),
        ("ndim", 4),
        ("tile", 4),
        ("tile", 4096),
        ("width", 2**31 - 1),
    ],
)
def test_impossible_fields_are_refused(field, value):
    # write with consistent stream sizes, then patch the fixed fields behind the CRC's back
    data = bytearray(container.write(HEADER, STREAMS))
    offsets = {
        "width": (12, "<I"),
        "height": (16, "<I"),
        "channels": (20, "<B"),
        "bytes_per_sample": (21, "<B"),
        "ndim": (22, "<B"),
        "tile": (23, "<H"),
    }
    import struct

    off, fmt = offsets[field]
    struct.pack_into(fmt, data, off, value)
    with pytest.raises(FormatError, match="corrupt flowzip header"):
        container.read(_resealed(data))


def test_bomb_headers_are_refused_cheaply():
    """A tiny file that claims a huge image, or a stream count its tiles don't need, fails fast."""
    big = _gray(width=46000, height=46000, tile=1024, stream_sizes=(4,) * 2025, version=1)
    with pytest.raises(FormatError):
        container.read(container.write(big, [bytes(4)] * 2025))
    with pytest.raises(FormatError):
        container.read(
            container.write(dataclasses.replace(big, stream_sizes=(4,), version=2), [bytes(4)])
        )
    # the writer refuses a stream count that does not match the version and tiles
    with pytest.raises(ValueError):
        container.write(dataclasses.replace(HEADER_V1, stream_sizes=(8,)), [b"\x01" * 8])
    with pytest.raises(ValueError):
        container.write(dataclasses.replace(HEADER, stream_sizes=(8, 4)), STREAMS_V1)


def test_first_tile_must_be_a_tile():
    with pytest.raises(ValueError):
        container.write(dataclasses.replace(HEADER, first_tile=2), STREAMS)
    with pytest.raises(ValueError):  # version 1 codes tiles row by row, each in its own stream
        container.write(dataclasses.replace(HEADER_V1, first_tile=1), STREAMS_V1)
    import struct

    data = bytearray(container.write(HEADER, STREAMS))
    end = 12 + struct.unpack_from("<H", data, 10)[0]
    struct.pack_into(
        "<I", data, end - 24, 2
    )  # the first-tile field, before the attached and stream lengths
    with pytest.raises(FormatError, match="corrupt flowzip header"):
        container.read(_resealed(data))


def test_nested_or_bad_metadata_is_a_format_error():
    for meta in ({"x": [[[[1]]]]}, {}):
        data = container.write(dataclasses.replace(HEADER, meta=meta), STREAMS)
        assert container.read(data)[0].meta == meta
    deep = bytearray(container.write(dataclasses.replace(HEADER, meta={"k": "v" * 60000}), STREAMS))
    start = deep.index(b'{"k":"')
    deep[start : start + 60008] = b"[" * 60008
    with pytest.raises(FormatError):
        container.read(_resealed(deep))


def test_a_small_file_cannot_claim_millions_of_tiles():
    """Version 2's header does not grow with the tiles: their count is capped instead."""
    many = _gray(width=32768, height=32768, tile=8, stream_sizes=(4,), version=2)  # 2**24 tiles
    with pytest.raises(ValueError, match="tiles"):
        container.write(many, [bytes(4)])
    ok = dataclasses.replace(many, tile=128)  # 65,536 tiles: the most there may be
    data = bytearray(container.write(ok, [bytes(4)]))
    assert container.read(bytes(data))[0] == ok
    data[23:25] = (8).to_bytes(2, "little")  # the tile size, behind the CRC's back
    with pytest.raises(FormatError, match="impossible image parameters"):
        container.read(_resealed(data))


def test_reserved_flags_are_refused():
    for header, flag in ((HEADER, 2), (HEADER_V3, 1), (HEADER_V3, 2)):
        data = bytearray(container.write(header, STREAMS))
        data[9] |= flag
        with pytest.raises(FormatError, match="flags"):
            container.read(_resealed(data))


def test_no_metadata_costs_no_header_bytes():
    bare = dataclasses.replace(HEADER, attached=container.Attached())
    assert len(container.write(bare, STREAMS)) == len(container.write(HEADER_V3, STREAMS))
    assert (
        container.write(bare, STREAMS)[9] == 0
        and container.write(HEADER, STREAMS)[9] == container.ATTACHED_FLAG
    )


def test_attached_metadata_needs_version_4_and_is_bounded():
    with pytest.raises(ValueError, match="version 4"):
        container.write(dataclasses.replace(HEADER_V3, attached=HEADER.attached), STREAMS)
    with pytest.raises(ValueError, match="keyword"):
        container.write(
            dataclasses.replace(
                HEADER, attached=container.Attached(text=(container.TextChunk("", "x"),))
            ),
            STREAMS,
        )
    # a deflate bomb in the section (its CRCs fixed) is refused without inflating it all
    import struct
    import zlib

    data = bytearray(container.write(HEADER, STREAMS))
    end = 12 + struct.unpack_from("<H", data, 10)[0]
    bomb = zlib.compress(b"ICCP" + struct.pack("<I", 1 << 30) + bytes(1 << 25), 9)
    size, _ = struct.unpack_from("<II", data, end - 20)
    struct.pack_into("<II", data, end - 20, len(bomb), zlib.crc32(bomb))
    data[end + 4 : end + 4 + size] = bomb
    data = bytearray(_resealed(data))
    with pytest.raises(FormatError, match="attached metadata"):
        container.read(bytes(data))


@pytest.mark.parametrize(
    "entries",
    [
        b"ICCP\x03\x00\x00\x00ab",
        b"XMP_\x01\x00\x00\x00x",
        b"TEXT\x01\x00\x00\x00k",
        b"EXIF\x01\x00\x00\x00xEXIF\x01\x00\x00\x00x",
        b"TEXT\x05\x00\x00\x00\xff\x00\x00\x00x",
    ],
)
def test_bad_attached_entries_are_format_errors(entries):
    import struct
    import zlib

    section = zlib.compress(entries)
    data = bytearray(
        container.write(dataclasses.replace(HEADER, attached=container.Attached(b"x")), STREAMS)
    )
    end = 12 + struct.unpack_from("<H", data, 10)[0]
    old, _ = struct.unpack_from("<II", data, end - 20)
    struct.pack_into("<II", data, end - 20, len(section), zlib.crc32(section))
    data[end + 4 : end + 4 + old] = section
    with pytest.raises(FormatError, match="attached"):
        container.read(_resealed(data))


def test_the_image_checksum_covers_what_decides_the_image():
    """Version 4's CRC continues over shape, mode metadata and attached metadata; older ones
    cover the pixels only."""
    base = container.image_checksum(HEADER, 1234)
    for change in (
        {"ndim": 2, "channels": 1},
        {"meta": {"mode": "RGBa"}},
        {"width": 301},
        {"attached": container.Attached(b"other")},
        {"bytes_per_sample": 1},
    ):
        assert container.image_checksum(dataclasses.replace(HEADER, **change), 1234) != base, change
    assert (
        container.image_checksum(dataclasses.replace(HEADER, tile=64, model_id="x"), 1234) == base
    )
    assert container.image_checksum(HEADER_V3, 1234) == 1234
