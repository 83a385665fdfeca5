"""Forged headers (fields rewritten, the header CRC recomputed) must fail promptly and cleanly:
what a decoder spends before it refuses a file follows the file's bytes, not the header's
claims (docs/format.md, "Resource bounds")."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from flowzip import classic, container
from flowzip.directory import FLOW, PALETTE, write_directory
from flowzip.entropy.coder import LatentDecoder, LatentEncoder
from flowzip.entropy.stack import AnsStack, uniform
from flowzip.errors import FormatError, StackUnderflowError

from .conftest import FIXTURES, TINY_BB_MODEL, TINY_MODEL

ROOT = Path(__file__).resolve().parent.parent
CPU_SECONDS = (
    8  # the child's CPU limit: a fixed decoder refuses these in about 2.5 s, imports included
)
HEADROOM = 512 << 20  # address space the child may map beyond a decode of a 1x1 file


def forged(path: Path, *, kinds: list[int] | None = None, payload: bytes = b"", **fields) -> bytes:
    """The file at ``path`` with header ``fields`` rewritten and its header CRC recomputed.
    The tile directory is rebuilt for the new tiling: every tile ``FLOW`` (the file's flow
    stream kept), or ``kinds`` with ``payload`` as each classic tile's; version 1 keeps its
    one stream for tile 0 and gives the others empty ones."""
    header, streams = container.read(path.read_bytes())
    header = dataclasses.replace(header, first_tile=0, **fields)
    tiles = container.tile_count(header.width, header.height, header.tile)
    if header.version >= 3:
        kinds = kinds or [FLOW] * tiles
        directory = write_directory(kinds, [0 if k == FLOW else len(payload) for k in kinds])
        streams = [
            directory,
            streams[1] if FLOW in kinds else b"",
            payload * (len(kinds) - kinds.count(FLOW)),
        ]
    elif header.version == 1:
        streams = [streams[0]] + [b""] * (tiles - 1)
    header = dataclasses.replace(header, stream_sizes=tuple(len(s) for s in streams))
    return container.write(header, streams)


CHILD = """
import resource, sys
limit, cpu = int(sys.argv[1]), int(sys.argv[2])
resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))
if limit:
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
from flowzip.cli import main
code = main(sys.argv[3:])
print("VmPeak", open("/proc/self/status").read().split("VmPeak:")[1].split()[0])
sys.exit(code)
"""


def _decompress(
    tmp_path: Path, data: bytes, model: Path, address_space: int = 0
) -> subprocess.CompletedProcess:
    """``flowzip decompress`` of ``data`` in a child under a CPU-time and an address-space limit."""
    src = tmp_path / "in.fz"
    src.write_bytes(data)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    argv = [
        sys.executable,
        "-c",
        CHILD,
        str(address_space),
        str(CPU_SECONDS),
        "decompress",
        "-q",
        "-f",
        "-T",
        "1",
        "-m",
        str(model),
        "-o",
        str(tmp_path / "out.tif"),
        str(src),
    ]
    return subprocess.run(argv, capture_output=True, text=True, env=env, timeout=120)


@pytest.fixture(scope="module")
def address_space(tmp_path_factory) -> int:
    """What the child may map: a real decode's peak plus HEADROOM (torch alone maps hundreds of MB)."""
    if not Path("/proc/self/status").exists():
        pytest.skip("needs /proc to measure the address space")
    done = _decompress(
        tmp_path_factory.mktemp("base"),
        (FIXTURES / "v4" / "tiny-bb-1x1.fz").read_bytes(),
        TINY_BB_MODEL,
    )
    assert done.returncode == 0, done.stderr
    return int(done.stdout.split("VmPeak")[1].split()[0]) * 1024 + HEADROOM


@pytest.mark.parametrize(
    "source,model,fields",
    [
        # issue 17 item 1: a 1x1 bits-back file claiming 16384x16384 in 1024 tiles
        ("v4/tiny-bb-1x1.fz", TINY_BB_MODEL, {"width": 16384, "height": 16384, "tile": 512}),
        ("v2/tiny-bb-1x1.fz", TINY_BB_MODEL, {"width": 16384, "height": 16384, "tile": 512}),
        ("v1/tiny-1x1.fz", TINY_MODEL, {"width": 4096, "height": 4096, "tile": 512}),
        # item 2: a gray16 header claiming 32768x32768 (2 GiB of planes)
        ("v4/tiny-u16.fz", TINY_MODEL, {"width": 32768, "height": 32768, "tile": 1024}),
        ("v4/tiny-noise.fz", TINY_MODEL, {"width": 8192, "height": 16384, "tile": 256}),
    ],
    ids=["bb-v4", "bb-v2", "v1", "u16-32768", "noise"],
)
@pytest.mark.slow
def test_a_forged_giant_fails_fast_in_one_line(tmp_path, address_space, source, model, fields):
    done = _decompress(tmp_path, forged(FIXTURES / source, **fields), model, address_space)
    assert done.returncode == 1, (done.returncode, done.stderr)  # not killed by either limit
    assert done.stderr.count("\n") == 1 and "corrupt stream" in done.stderr, done.stderr
    assert not (tmp_path / "out.tif").exists()


@pytest.mark.slow
def test_a_large_image_beyond_the_memory_limit_is_a_clean_error(tmp_path, address_space):
    """Flat 512x512 palette tiles make a small, well-formed file of a 32768x32768 image: its
    planes (1 GiB) are more than the limit allows, which must say so in one line."""
    tile = np.zeros((1024, 1024, 1), np.uint8)
    payload = classic.encode_palette(tile)[0]
    data = forged(
        FIXTURES / "v4" / "tiny-l.fz",
        kinds=[PALETTE] * 1024,
        payload=payload,
        width=32768,
        height=32768,
        tile=1024,
    )
    assert len(data) < 20_000
    done = _decompress(tmp_path, data, TINY_MODEL, address_space)
    assert done.returncode == 1, (done.returncode, done.stderr)
    assert (
        done.stderr.count("\n") == 1
        and "not enough memory to decode a 32768x32768 image" in done.stderr
    )


def test_forged_files_stay_fast_without_limits():
    """In process, no limits: the item 1 file took about 20 s before it was refused."""
    import time

    import flowzip

    valid = (FIXTURES / "v4" / "tiny-bb-1x1.fz").read_bytes()
    data = forged(FIXTURES / "v4" / "tiny-bb-1x1.fz", width=16384, height=16384, tile=512)
    decoder = flowzip.Decompressor(models=[TINY_BB_MODEL], threads=1)
    decoder.decompress(valid)  # the model loaded, so that only the decoding is timed
    start = time.process_time()
    with pytest.raises(FormatError, match="ends before the image does"):
        decoder.decompress(data)
    assert time.process_time() - start < 0.5  # about 0.01 s


def test_a_pop_from_an_empty_stack_is_refused():
    stack = AnsStack()
    stack.push(uniform(256), np.array([7, 200]))
    assert stack.pop(uniform(256), 2).tolist() == [7, 200]
    assert stack.pop(uniform(256), 0).size == 0  # nothing asked: nothing refused
    for pop in (lambda: stack.pop(uniform(256), 1), lambda: stack.pop_uniform(np.array([5, 9]))):
        with pytest.raises(StackUnderflowError, match="ends before the image does"):
            pop()


def test_a_latent_decoder_stops_where_its_stream_ends():
    enc = LatentEncoder()
    mu, sidx = np.zeros(64, np.int64), np.full(64, 30)
    enc.encode(np.arange(64) % 7 - 3, mu, sidx)
    dec = LatentDecoder(enc.finish())
    assert dec.decode(mu, sidx).tolist() == (np.arange(64) % 7 - 3).tolist()
    with pytest.raises(FormatError, match="ends before the image does"):
        dec.decode(mu, sidx)


def test_a_stream_stuck_on_its_last_bits_is_refused():
    """Past its end a stream's state can settle on a small value that decodes the same free
    symbol forever without ever being empty: the decoder must notice within a few latents."""
    dec = LatentDecoder(np.array([5, 7], "<u4").tobytes())
    mu, sidx = np.zeros(10_000, np.int64), np.zeros(10_000, np.int64)
    with pytest.raises(FormatError, match="ends before the image does"):
        for _ in range(20):
            dec.decode(mu, sidx)


def test_valid_files_still_decode_under_the_checks(decompressor):
    """The checks refuse nothing a real encoder writes: the 1x1 files end on a nearly empty stack."""
    for name in ("tiny-1x1", "tiny-u16"):
        data = (FIXTURES / "v4" / f"{name}.fz").read_bytes()
        assert np.array_equal(
            decompressor.decompress(data), np.load(FIXTURES / "v4" / f"{name}.npy")
        )
