"""Container v1: parse what we write; refuse everything else with a FormatError."""
from __future__ import annotations

import pytest

from flowzip import container
from flowzip.errors import FormatError

HEADER = container.Header(
    width=300, height=7, channels=4, bytes_per_sample=2, ndim=3, tile=256, model_id="idf-base-v1",
    model_hash=bytes(range(8)), pixel_crc=0xDEADBEEF, meta={"mode": "RGBA", "transparency": 3},
    stream_sizes=(8, 4),
)
STREAMS = [b"\x01" * 8, b"\x02" * 4]


def test_roundtrip():
    data = container.write(HEADER, STREAMS)
    assert data[:8] == container.MAGIC and data[8] == container.FORMAT_VERSION
    header, streams = container.read(data)
    assert header == HEADER and streams == STREAMS


def test_every_truncation_is_refused():
    data = container.write(HEADER, STREAMS)
    for n in range(len(data)):
        with pytest.raises(FormatError):
            container.read(data[:n])


def test_every_header_bitflip_is_refused():
    data = bytearray(container.write(HEADER, STREAMS))
    header_end = len(data) - sum(HEADER.stream_sizes)
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
    data[8] = 2
    with pytest.raises(FormatError, match="version 2"):
        container.read(bytes(data))
    with pytest.raises(FormatError, match="trailing"):
        container.read(container.write(HEADER, STREAMS) + b"x")
