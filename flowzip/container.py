"""The .fz container, format version 7 (and versions 1 to 6, read): bytes only, no model or
coder logic.

Layout (little-endian; the full description is docs/format.md)::

    offset  size  field
    0       8     MAGIC  b"\\x89FZP\\r\\n\\x1a\\n"
    8       1     format version (7; 1 to 6 are still read: 4 to 7 differ only inside
                  the classic tiles, and 7 adds the subsampled tile kind)
    9       1     flags (0; version 4: bit 0, attached metadata follows the header)
    10      2     header length L
    12      L     header: width u32, height u32, channels u8, bytes/sample u8, ndim u8,
                  tile size u16, model id (u8 length + UTF-8), weights sha256 prefix (8),
                  pixel CRC32 u32, metadata (u16 length + JSON, empty for {}),
                  v4 to v7: the first tile coded u32, with flag bit 0 the attached metadata's
                  length and CRC32 u32, then as v3;
                  v3: the first tile coded u32, three stream lengths u32 (the tile
                  directory, the flow stream of all flow tiles, the other tiles' payloads);
                  v2: the first tile coded u32, the stream's length u32 (one stream for
                  all tiles); v1: stream lengths u32 each (one per tile)
    12+L    4     CRC32 of bytes 0 .. 12+L
    16+L    A     v4: the attached metadata (ICC profile, EXIF, PNG text), deflated
    16+L+A  ...   the streams, back to back (rANS words, little-endian u32)

Example:
    >>> h = Header(width=5, height=7, channels=3, bytes_per_sample=1, ndim=3, tile=512,
    ...            model_id="m", model_hash=bytes(8), pixel_crc=0, meta={}, stream_sizes=(1, 8, 0),
    ...            attached=Attached(icc_profile=b"icc", text=(TextChunk("Comment", "hi"),)))
    >>> data = write(h, [bytes(1), bytes(8), b""])
    >>> read(data)[0] == h
    True
"""

from __future__ import annotations

import json
import struct
import zlib
from dataclasses import dataclass, field

from .errors import FormatError

MAGIC = b"\x89FZP\r\n\x1a\n"
FORMAT_VERSION = 7  # what this flowzip writes
READABLE_VERSIONS = (1, 2, 3, 4, 5, 6, 7)
_PREFIX = struct.Struct("<8sBBH")
_FIXED = struct.Struct("<IIBBBH")
_SHAPE = struct.Struct(
    "<IIBBB"
)  # width, height, channels, bytes/sample, ndim: the image checksum's
MAX_SUBPIXELS = 2**30  # decompression-bomb guard (an 8000x8000 RGB image is 2**27.5)
MIN_TILE, MAX_TILE = 8, 1024  # bounds a tile's memory on the decoder
# bounds the decoder's tile bookkeeping: a version-2 header no longer grows with its tiles,
# so a 60-byte file could otherwise claim 2**24 of them (version 1's u16 header length
# allowed about 16,000). A 2**30-sample image in tiles of 512 has 4,096.
MAX_TILES = 1 << 16
# attached metadata, inflated: ICC profiles are kilobytes, EXIF at most 64 KB in a JPEG,
# PNG text (XMP, a generator's settings) rarely a megabyte; a bound keeps a small file from
# inflating to gigabytes
MAX_ATTACHED = 1 << 24
ATTACHED_FLAG = 0x01  # version 4: the header has the attached metadata's length and CRC


@dataclass(frozen=True)
class TextChunk:
    """A PNG text chunk (tEXt, zTXt or iTXt): keyword and text, and iTXt's language tag and
    translated keyword."""

    keyword: str
    text: str
    language: str = ""
    translated_keyword: str = ""


@dataclass(frozen=True)
class Attached:
    """What an image file carries besides its pixels and mode, kept by version 4: the ICC
    profile, the EXIF block (TIFF-structured, without JPEG's ``Exif\\0\\0`` prefix) and PNG text
    chunks in file order."""

    icc_profile: bytes = b""
    exif: bytes = b""
    text: tuple[TextChunk, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.icc_profile or self.exif or self.text)

    def summary(self) -> dict:
        """What is carried, JSON-able: ``{"icc_profile": bytes, "exif": bytes, "text": [keywords]}``,
        the empty ones left out."""
        out: dict = {}
        if self.icc_profile:
            out["icc_profile"] = len(self.icc_profile)
        if self.exif:
            out["exif"] = len(self.exif)
        if self.text:
            out["text"] = [t.keyword for t in self.text]
        return out


# entry tags of the attached section (docs/format.md): 4 bytes each
_ICC, _EXIF, _TEXT = b"ICCP", b"EXIF", b"TEXT"


def attached_entries(attached: Attached) -> bytes:
    """The attached metadata as entries (tag, u32 length, bytes): ICC, EXIF, then the texts
    (what the section inflates to; a ValueError for a text chunk no reader could parse)."""
    entries = []
    if attached.icc_profile:
        entries.append((_ICC, bytes(attached.icc_profile)))
    if attached.exif:
        entries.append((_EXIF, bytes(attached.exif)))
    for t in attached.text:
        fields = (t.keyword, t.language, t.translated_keyword, t.text)
        if any("\0" in f for f in fields[:3]) or not t.keyword:
            raise ValueError(f"text chunk keyword {t.keyword!r}: empty, or a NUL in a name")
        entries.append((_TEXT, "\0".join(fields).encode("utf-8")))
    return b"".join(tag + struct.pack("<I", len(body)) + body for tag, body in entries)


def _parse_attached(section: bytes) -> Attached:
    """Inverse of :func:`_pack_attached`; every failure is a FormatError, and the work is
    bounded by :data:`MAX_ATTACHED`."""
    if not section:
        return Attached()
    inflater = zlib.decompressobj()
    try:
        raw = inflater.decompress(section, MAX_ATTACHED)
    except zlib.error:
        raise FormatError("corrupt flowzip file (attached metadata does not inflate)") from None
    if not inflater.eof or inflater.unused_data or inflater.unconsumed_tail:
        raise FormatError("corrupt flowzip file (attached metadata: bad length or too large)")
    icc = exif = None
    text = []
    pos = 0
    while pos < len(raw):
        if pos + 8 > len(raw):
            raise FormatError("corrupt flowzip file (attached metadata entry)")
        tag, size = raw[pos : pos + 4], struct.unpack_from("<I", raw, pos + 4)[0]
        body, pos = raw[pos + 8 : pos + 8 + size], pos + 8 + size
        if pos > len(raw) or not body:
            raise FormatError("corrupt flowzip file (attached metadata entry)")
        if tag == _ICC and icc is None:
            icc = body
        elif tag == _EXIF and exif is None:
            exif = body
        elif tag == _TEXT:
            try:
                fields = body.decode("utf-8").split("\0", 3)
            except UnicodeDecodeError:
                raise FormatError("corrupt flowzip file (attached text is not UTF-8)") from None
            if len(fields) != 4 or not fields[0]:
                raise FormatError("corrupt flowzip file (attached text entry)")
            text.append(TextChunk(fields[0], fields[3], fields[1], fields[2]))
        else:  # an unknown tag, or ICC / EXIF twice: a later format, or damage
            raise FormatError(f"corrupt flowzip file (attached metadata entry {tag!r})")
    return Attached(icc or b"", exif or b"", tuple(text))


def _pack_attached(attached: Attached) -> bytes:
    entries = attached_entries(attached)
    if len(entries) > MAX_ATTACHED:
        raise ValueError(f"attached metadata of {len(entries):,} bytes: at most {MAX_ATTACHED:,}")
    return zlib.compress(entries, 9) if entries else b""


def image_checksum(header: Header, pixel_crc: int) -> int:
    """The CRC32 a header stores, given the CRC32 of the decoded pixels (C-order little-endian
    (H, W, C) bytes). Versions 1-3 store the pixels' own; version 4 continues it over
    everything else that decides the decoded image: the shape fields, the metadata JSON and
    the attached metadata, so a forged header (its CRC recomputed) fails the check too."""
    if header.version < 4:
        return pixel_crc
    shape = _SHAPE.pack(
        header.width, header.height, header.channels, header.bytes_per_sample, header.ndim
    )
    crc = zlib.crc32(shape, pixel_crc)
    crc = zlib.crc32(_meta_json(header.meta), crc)
    return zlib.crc32(attached_entries(header.attached), crc)


def _meta_json(meta: dict) -> bytes:
    # no metadata is the common case: an empty field rather than "{}"
    return json.dumps(meta, sort_keys=True, separators=(",", ":")).encode("utf-8") if meta else b""


def tile_count(width: int, height: int, tile: int) -> int:
    """Tiles of an image: ceil(H/T) x ceil(W/T)."""
    return -(-width // tile) * -(-height // tile)


def stream_count(version: int, width: int, height: int, tile: int) -> int:
    """Streams of a file: version 1 has one per tile, version 2 one for all tiles, versions 3
    and 4 three (the tile directory, the flow stream, the payloads of the tiles coded
    otherwise; 4 differs from 3 in the header and inside the predictive tiles' payloads)."""
    return tile_count(width, height, tile) if version == 1 else 1 if version == 2 else 3


@dataclass(frozen=True, kw_only=True)
class Header:
    """The parsed header of a .fz file (keyword arguments only: twelve fields of which
    several are ints, easily swapped by position)."""

    width: int
    height: int
    channels: int
    bytes_per_sample: int  # 1 (uint8) or 2 (uint16)
    ndim: int  # 2 or 3: the shape decompress returns
    tile: int
    model_id: str
    model_hash: bytes  # first 8 bytes of the weights' sha256
    # CRC32 of the pixels as a C-order little-endian (H, W, C) array; version 4: continued
    # over the image's description (see image_checksum)
    pixel_crc: int
    meta: dict = field(default_factory=dict, compare=True)  # Pillow mode, palette, ...
    stream_sizes: tuple[int, ...] = ()
    # versions 2 to 4: the tile (row by row) coded first, so decoded last; the others follow
    # it in row order, wrapping around (the codec picks the tile that best seeds bits-back)
    first_tile: int = 0
    version: int = FORMAT_VERSION
    attached: Attached = Attached()  # version 4: ICC profile, EXIF, PNG text

    @property
    def subpixels(self) -> int:
        return self.width * self.height * self.channels


class _Reader:
    def __init__(self, data: bytes, end: int):
        self.data, self.pos, self.end = data, 0, end

    def take(self, n: int) -> bytes:
        if self.pos + n > self.end:
            raise FormatError("truncated flowzip header")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def unpack(self, fmt: str):
        s = struct.Struct("<" + fmt)
        return s.unpack(self.take(s.size))


def is_flowzip(prefix: bytes) -> bool:
    """True if ``prefix`` (at least 8 bytes) starts a flowzip file."""
    return bytes(prefix[:8]) == MAGIC


def write(header: Header, streams: list[bytes]) -> bytes:
    """Serialize a header and its streams into one .fz file."""
    model_id = header.model_id.encode("utf-8")
    meta = _meta_json(header.meta)
    if len(model_id) > 255 or len(header.model_hash) != 8 or len(meta) > 65535:
        raise ValueError("model id, hash or metadata too long for the container")
    if tuple(len(s) for s in streams) != tuple(header.stream_sizes):
        raise ValueError("stream sizes do not match the header")
    if header.version not in READABLE_VERSIONS:
        raise ValueError(f"cannot write format version {header.version}")
    if len(streams) != stream_count(header.version, header.width, header.height, header.tile):
        raise ValueError(
            "version 1 has one stream per tile, version 2 one stream, versions 3 and 4 three"
        )
    if header.attached and header.version < 4:
        raise ValueError("attached metadata needs format version 4")
    tiles = tile_count(header.width, header.height, header.tile)
    if tiles > MAX_TILES:
        raise ValueError(f"{tiles} tiles: at most {MAX_TILES}")
    if not 0 <= header.first_tile < tiles or (header.version == 1 and header.first_tile):
        raise ValueError("the first tile must be one of the image's (0 in version 1)")
    first = struct.pack("<I", header.first_tile) if header.version >= 2 else b""
    attached = _pack_attached(header.attached)
    flags = ATTACHED_FLAG if attached else 0  # no metadata costs no header bytes
    if attached:
        first += struct.pack("<II", len(attached), zlib.crc32(attached))
    body = b"".join(
        [
            _FIXED.pack(
                header.width,
                header.height,
                header.channels,
                header.bytes_per_sample,
                header.ndim,
                header.tile,
            ),
            struct.pack("<B", len(model_id)),
            model_id,
            header.model_hash,
            struct.pack("<I", header.pixel_crc),
            struct.pack("<H", len(meta)),
            meta,
            first,
            struct.pack(f"<{len(streams)}I", *header.stream_sizes),  # count implied by the version
        ]
    )
    head = _PREFIX.pack(MAGIC, header.version, flags, len(body)) + body
    return b"".join([head, struct.pack("<I", zlib.crc32(head)), attached, *streams])


def read_header(data: bytes) -> tuple[Header, int]:
    """Parse and check the header (and version 4's attached metadata, which follows it);
    returns it and the offset of the first stream."""
    whole = data
    data = bytes(data[: 12 + 65535 + 4])
    if len(data) < _PREFIX.size or not is_flowzip(data):
        raise FormatError("not a flowzip file (bad magic)")
    _, version, flags, length = _PREFIX.unpack_from(data)
    if version not in READABLE_VERSIONS:
        raise FormatError(
            f"unsupported flowzip format version {version} "
            f"(this flowzip reads versions {', '.join(map(str, READABLE_VERSIONS))})"
        )
    end = _PREFIX.size + length
    if len(data) < end + 4:
        raise FormatError("truncated flowzip header")
    (crc,) = struct.unpack_from("<I", data, end)
    if crc != zlib.crc32(data[:end]):
        raise FormatError("corrupt flowzip header (CRC mismatch)")
    known = ATTACHED_FLAG if version >= 4 else 0
    if flags & ~known:  # reserved: a later flowzip that sets one changes what the file means
        raise FormatError(
            f"unsupported flowzip flags {flags:#04x} (this flowzip reads {known:#04x} in version {version})"
        )
    r = _Reader(data, end)
    r.pos = _PREFIX.size
    try:
        width, height, channels, bps, ndim, tile = r.unpack("IIBBBH")
        model_id = r.take(r.unpack("B")[0]).decode("utf-8")
        model_hash = r.take(8)
        (pixel_crc,) = r.unpack("I")
        meta_text = r.take(r.unpack("H")[0])
        meta = json.loads(meta_text.decode("utf-8")) if meta_text else {}
        count = stream_count(version, width, height, tile) if tile else 0
        (first_tile,) = r.unpack("I") if version >= 2 else (0,)
        attached_size, attached_crc = r.unpack("II") if flags & ATTACHED_FLAG else (0, 0)
        if count * 4 != end - r.pos:
            raise FormatError("corrupt flowzip header (length mismatch)")
        sizes = r.unpack(f"{count}I")
    except (ValueError, RecursionError) as e:  # bad UTF-8, bad or absurdly nested JSON
        raise FormatError(f"corrupt flowzip header ({e.__class__.__name__})") from None
    if r.pos != end:
        raise FormatError("corrupt flowzip header (length mismatch)")
    if not (
        width >= 1
        and height >= 1
        and 1 <= channels <= 4
        and bps in (1, 2)
        and ndim in (2, 3)
        and MIN_TILE <= tile <= MAX_TILE
        and width * height * channels <= MAX_SUBPIXELS
        and isinstance(meta, dict)
        and (ndim == 3 or channels == 1)
        and first_tile < tile_count(width, height, tile) <= MAX_TILES
        and (0 < attached_size <= MAX_ATTACHED or not flags & ATTACHED_FLAG)
    ):
        raise FormatError("corrupt flowzip header (impossible image parameters)")
    section = bytes(whole[end + 4 : end + 4 + attached_size])
    if len(section) < attached_size:
        raise FormatError("truncated flowzip file (attached metadata)")
    if zlib.crc32(section) != attached_crc:
        raise FormatError("corrupt flowzip file (attached metadata CRC mismatch)")
    header = Header(
        width=width,
        height=height,
        channels=channels,
        bytes_per_sample=bps,
        ndim=ndim,
        tile=tile,
        model_id=model_id,
        model_hash=model_hash,
        pixel_crc=pixel_crc,
        meta=meta,
        stream_sizes=tuple(sizes),
        first_tile=first_tile,
        version=version,
        attached=_parse_attached(section),
    )
    return header, end + 4 + attached_size


def read(data: bytes) -> tuple[Header, list[bytes]]:
    """Parse a whole .fz file into its header and streams."""
    header, offset = read_header(data)
    total = offset + sum(header.stream_sizes)
    if len(data) < total:
        raise FormatError(f"truncated flowzip file ({len(data)} of {total} bytes)")
    if len(data) > total:
        if is_flowzip(data[total : total + 8]):
            raise FormatError(
                f"two flowzip files back to back ({len(data) - total} bytes after the first): "
                "flowzip files do not concatenate"
            )
        raise FormatError(f"corrupt flowzip file ({len(data) - total} unexpected trailing bytes)")
    streams = []
    for size in header.stream_sizes:
        streams.append(data[offset : offset + size])
        offset += size
    return header, streams
