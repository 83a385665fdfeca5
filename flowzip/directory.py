"""The tile directory of a .fz file (format 3 and later): which path coded each tile, and the
byte length of each payload not on the flow's stream. Bytes only, no model or coder, so that
``flowzip info`` reads it without torch or numba.

Example:
    >>> kinds, sizes = [FLOW, PREDICTIVE, PALETTE], [0, 300, 5]
    >>> data = write_directory(kinds, sizes)
    >>> read_directory(data, tiles=3, payload_bytes=305)
    ([0, 3, 2], [0, 0, 300, 305])
    >>> count_paths(kinds)
    {'flow': 1, 'predictive': 1, 'palette': 1}
"""

from __future__ import annotations

from .errors import FormatError

FLOW, STORED, PALETTE, PREDICTIVE, SUBSAMPLED = (
    0,
    1,
    2,
    3,
    4,
)  # tile kinds; flowzip/classic.py codes the middle three, flowzip/subsampled.py the last (format 7)
PATH_NAMES = {
    FLOW: "flow",
    STORED: "stored",
    PALETTE: "palette",
    PREDICTIVE: "predictive",
    SUBSAMPLED: "subsampled",
}


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        out.append((n & 0x7F) | (0x80 if n > 0x7F else 0))
        n >>= 7
        if not n:
            return bytes(out)


def entry_bytes(kind: int, size: int = 0) -> int:
    """What one tile costs in the directory: its kind byte, and a classic payload's length."""
    return 1 if kind == FLOW else 1 + len(_varint(size))


def write_directory(kinds: list[int], sizes: list[int]) -> bytes:
    """Per tile, row by row: its kind (a byte), and for a tile not coded by the flow the
    length of its payload (a varint)."""
    out = bytearray()
    for kind, size in zip(kinds, sizes, strict=True):
        out.append(kind)
        if kind != FLOW:
            out += _varint(size)
    return bytes(out)


def read_directory(data: bytes, tiles: int, payload_bytes: int) -> tuple[list[int], list[int]]:
    """Inverse of :func:`write_directory`; checks that the payloads add up to ``payload_bytes``."""
    kinds, offsets, pos, total = [], [], 0, 0
    for _ in range(tiles):
        if pos >= len(data) or data[pos] not in PATH_NAMES:
            raise FormatError("corrupt flowzip file (tile directory)")
        kind = data[pos]
        pos += 1
        size = 0
        if kind != FLOW:
            shift = 0
            while True:
                if pos >= len(data) or shift > 28:
                    raise FormatError("corrupt flowzip file (tile directory)")
                byte = data[pos]
                pos += 1
                size |= (byte & 0x7F) << shift
                shift += 7
                if not byte & 0x80:
                    break
        kinds.append(kind)
        offsets.append(total)
        total += size
    if pos != len(data) or total != payload_bytes:
        raise FormatError("corrupt flowzip file (tile directory does not match the payloads)")
    return kinds, [*offsets, total]


def count_paths(kinds: list[int]) -> dict[str, int]:
    """``{path name: tiles}`` in the order the paths first occur."""
    counts: dict[str, int] = {}
    for kind in kinds:
        counts[PATH_NAMES[kind]] = counts.get(PATH_NAMES[kind], 0) + 1
    return counts
