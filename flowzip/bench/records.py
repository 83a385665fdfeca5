"""The typed rows of a benchmark: what results.json holds and the cache stores, and what
the other modules hand each other.

Example:
    >>> r = Record("s/a.png", "s", "png", 8, 8, 3, "RGB", 96, 4.0, 1.0, 2.0, True)
    >>> r.subpixels, "model_bpsp" in r.to_json(), Record.from_json(r.to_json()) == r
    (192, False, True)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

    from flowzip.api import CompressionStats

FLOWZIP = "flowzip"
FLOWZIP_FIELDS = ("model_bpsp", "header_bytes", "escapes", "padding_bytes", "tile_paths")


@dataclass(frozen=True)
class Record:
    """One image coded by one codec.

    Speeds are megapixels (H x W, not sub-pixels) per second of encoding or decoding
    alone: reading the image and loading a model are not in them.
    """

    image: str  # "<folder>/<path inside it>"
    dataset: str  # the set: one table of the report (folder, or folder/prefix)
    codec: str
    H: int
    W: int
    C: int
    mode: str  # the Pillow mode of the file (P and 1 are coded as RGB and L)
    bytes: int | None
    bpsp: float | None
    enc_mpps: float | None
    dec_mpps: float | None
    verified: bool
    error: str | None = None  # why there is no result, or how the decoded pixels differ
    # flowzip only: the model's own code length and where the rest of the file goes
    model_bpsp: float | None = None
    header_bytes: int | None = None
    escapes: int | None = None
    padding_bytes: float | None = None  # stream bytes beyond bits_theoretical / 8
    # tiles per coding path ("flow", "palette", "predictive", "stored"); None when this
    # flowzip does not say (older versions, and results cached before it did)
    tile_paths: dict[str, int] | None = field(default=None, hash=False)

    @property
    def subpixels(self) -> int:
        return self.H * self.W * self.C

    def to_json(self) -> dict:
        """A flat dict; baselines leave out the flowzip-only fields rather than carry nulls."""
        d = asdict(self)
        if not self.codec.startswith(FLOWZIP):
            for name in FLOWZIP_FIELDS:
                del d[name]
        return d

    @classmethod
    def from_json(cls, d: dict) -> Record:
        """The record ``to_json`` wrote; fields it does not know are ignored, so results
        cached by older versions (with a ``seed_bytes`` field, or without ``tile_paths``)
        still load."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})


def flowzip_fields(stats: CompressionStats) -> dict:
    """A flowzip record's own fields from its statistics: the model's code length, the
    file's overhead and the tiles' coding paths."""
    stream_bytes = stats.nbytes - stats.header_bytes
    return {
        "model_bpsp": stats.model_bpsp,
        "header_bytes": stats.header_bytes,
        "escapes": stats.escapes,
        "padding_bytes": stream_bytes - stats.bits_theoretical / 8.0,
        "tile_paths": _tile_paths(stats),
    }


def _tile_paths(stats: object) -> dict[str, int] | None:
    """``stats.tile_paths`` (coding path name -> tiles) as a plain dict, or None where this
    flowzip's statistics have no such field (or it is empty, or not a mapping of counts)."""
    paths = getattr(stats, "tile_paths", None)
    if not paths:  # missing, or empty: an image has at least one tile, so nothing was recorded
        return None
    try:
        return {str(name): int(n) for name, n in dict(paths).items()}
    except (TypeError, ValueError):
        return None


@dataclass(frozen=True)
class CodecOutput:
    """What an encoder hands back: the file, and flowzip's statistics when it is flowzip."""

    data: bytes
    stats: CompressionStats | None = None


@dataclass(frozen=True)
class BenchCodec:
    """A codec under test: an encoder/decoder pair with a ``version`` that names everything
    that decides its output (library versions, settings), so cached results go stale when
    any of it changes."""

    name: str
    version: str
    encode: Callable[[np.ndarray], CodecOutput]
    decode: Callable[[bytes], np.ndarray]
    load_seconds: dict[str, float] = field(default_factory=dict)  # flowzip: encoder/decoder load


@dataclass(frozen=True)
class Unavailable:
    """A codec asked for that cannot run here, with the reason."""

    name: str
    reason: str


@dataclass(frozen=True)
class ImageFile:
    """An image found in a folder, as the run and the cache name it."""

    dataset: str  # the set it is reported in (see runner.set_name)
    path: Path
    key: str  # "<folder name>/<relative path>": names it in records and in the cache
    size: int
    mtime_ns: int


@dataclass(frozen=True)
class Problem:
    """A file, folder or codec left out, with the reason; listed in the report."""

    what: str
    reason: str


@dataclass
class RunResult:
    """Everything the report is written from."""

    records: list[Record]
    codecs: list[BenchCodec]
    unavailable: list[Unavailable]
    problems: list[Problem]
    computed: int
    cached: int
    folders: dict[str, str] = field(default_factory=dict)  # folder name -> the path as given


@dataclass(frozen=True)
class CodecSummary:
    """One row of a report table: totals over the images every codec coded."""

    codec: str
    images: int
    bpsp: float
    enc_mpps: float
    dec_mpps: float
    verified: int
    model_bpsp: float | None = None
    header_bpsp: float | None = None
    padding_bpsp: float | None = None
    escapes: int | None = None
    # flowzip only: tiles per coding path, summed over the images that recorded them
    tile_paths: dict[str, int] | None = field(default=None, hash=False)
    tile_path_images: int = 0  # how many of the images recorded their tiles' paths
    worst_vs_png: tuple[str, float] | None = None  # (image, file bytes / PNG's), the largest
