"""Pixels in and out: Pillow modes and numpy arrays to coded planes, tiles and back.

Every image becomes a stack of uint8 *planes* (H, W, P) that the flows code:

* uint8 arrays: one plane per channel;
* uint16 arrays: the high bytes of all channels, then the low bytes (P = 2C).

Planes are coded in groups (:func:`plane_groups`): within each byte layer, channels 0-2 of
a 3- or 4-channel image go through the RGB flow together, every other channel through the
grayscale flow on its own (L, alpha, palette indices, bilevel, 16-bit bytes).

How each Pillow mode travels (``ImageInfo`` restores it exactly):

==========  ==============================================================
RGB         RGB flow
L           grayscale flow
RGBA / LA   colour as above, alpha through the grayscale flow
P / PA      palette indices through the grayscale flow; palette kept
1           0/1 values through the grayscale flow
I;16*, I    16-bit: high and low bytes through the grayscale flow
==========  ==============================================================

What the file carries besides its pixels (format 4, :class:`~flowzip.container.Attached`):
the ICC profile (``im.info["icc_profile"]``), the EXIF block (``im.info["exif"]``) and a PNG's
text chunks (``im.text``); :func:`to_pil` puts them back in ``im.info`` and
:func:`save_options` writes them.
"""

from __future__ import annotations

import binascii
import dataclasses
from base64 import b64decode, b64encode
from dataclasses import dataclass
from typing import Any

import numpy as np

from .container import MAX_SUBPIXELS, Attached, TextChunk
from .errors import FormatError, UnsupportedImageError


@dataclass(frozen=True)
class PlaneGroup:
    flow: str  # "rgb" or "gray"
    planes: tuple[int, ...]


@dataclass(frozen=True)
class ImageInfo:
    """What a Pillow image needs besides its pixels; empty mode for plain arrays."""

    mode: str = ""
    palette_mode: str = ""
    palette: bytes = b""
    transparency: Any = None
    # ICC profile, EXIF, PNG text (not in the JSON metadata)
    attached: Attached = dataclasses.field(default_factory=Attached)

    def to_meta(self, default_mode: str = "") -> dict:
        """JSON-able metadata; the mode is left out when Pillow would pick it anyway."""
        meta: dict[str, Any] = {}
        if self.mode and self.mode != default_mode:
            meta["mode"] = self.mode
        if self.palette:
            meta["palette_mode"] = self.palette_mode
            meta["palette"] = b64encode(self.palette).decode("ascii")
        if self.transparency is not None:
            t = self.transparency
            meta["transparency"] = {"bytes": t.hex()} if isinstance(t, bytes) else t
        return meta

    @classmethod
    def from_meta(cls, meta: dict, attached: Attached | None = None) -> ImageInfo:
        try:
            t = meta.get("transparency")
            if isinstance(t, dict):
                t = bytes.fromhex(t["bytes"])
            elif isinstance(t, list):
                t = tuple(int(v) for v in t)
            elif t is not None and not isinstance(t, int):
                raise TypeError("transparency")
            mode, pal_mode = (
                meta.get("mode", ""),
                meta.get("palette_mode", ""),
            )  # index_palette: flowzip.codec
            if not isinstance(mode, str) or not isinstance(pal_mode, str):
                raise TypeError("mode")
            palette = b64decode(meta.get("palette", ""), validate=True)
        except (TypeError, ValueError, KeyError, AttributeError, binascii.Error) as e:
            raise FormatError(f"corrupt flowzip metadata ({e})") from None
        if palette and not (
            pal_mode in _PALETTE_ENTRY
            and mode in _PALETTE_MODES
            and len(palette) % len(pal_mode) == 0
            and len(palette) <= 256 * len(pal_mode)
        ):
            raise FormatError(
                f"corrupt flowzip metadata (a {pal_mode or 'mode-less'} palette of {len(palette)} bytes)"
            )
        return cls(mode, pal_mode, palette, t, Attached() if attached is None else attached)

    def check_fits(self, a: np.ndarray) -> None:
        """Refuse (FormatError) a mode that the decoded (H, W, C) samples cannot be in:
        metadata forged or damaged behind the header CRC's back (format 4's image CRC
        catches that too; older files have only this)."""
        channels, nbytes = a.shape[2], a.dtype.itemsize
        fits = _MODE_LAYOUT.get(self.mode[:4] if self.mode.startswith("I;16") else self.mode)
        if self.mode and fits != (channels, nbytes):
            raise FormatError(
                f"corrupt flowzip metadata (mode {self.mode!r} on {channels} channels of {8 * nbytes} bits)"
            )
        if self.mode == "1" and int(a.max(initial=0)) > 1:
            raise FormatError("corrupt flowzip metadata (mode '1' on samples above 1)")


def pillow_default_mode(a: np.ndarray) -> str:
    """The mode ``Image.fromarray`` gives an (H, W[, C]) array; "" if it has none."""
    channels = 1 if a.ndim == 2 else a.shape[2]
    return default_mode(channels, a.dtype.itemsize) or ""


def default_mode(channels: int, bytes_per_sample: int) -> str | None:
    """The Pillow mode of an array of ``channels`` samples of 1 or 2 bytes without a recorded
    mode (what :func:`pillow_default_mode` gives); None for 16-bit colour, which has none."""
    if bytes_per_sample == 1:
        return {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}[channels]
    return "I;16" if channels == 1 else None


def plane_groups(channels: int, bytes_per_sample: int) -> list[PlaneGroup]:
    """Which planes each flow codes, for an image of ``channels`` and 1 or 2 bytes/sample."""
    groups = []
    for layer in range(bytes_per_sample):
        base = layer * channels
        first_gray = 0
        if channels in (3, 4):
            groups.append(PlaneGroup("rgb", (base, base + 1, base + 2)))
            first_gray = 3
        groups.extend(PlaneGroup("gray", (base + c,)) for c in range(first_gray, channels))
    return groups


MAX_INDEXED_COLORS = 256
MIN_PIXELS_PER_COLOR = 8
_LUMA = np.array([299, 587, 114], dtype=np.int64)


def to_index_plane(a: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """An 8-bit RGB image with at most 256 colours as (index plane (H, W, 1), palette (n, 3)).

    Palette-quantized photos (GIF heritage, some test sets) cost a third of the symbols this
    way; the palette is sorted by integer luma (ties by RGB) so that the indices look like a
    grayscale image to the grayscale flow. None when the image has more colours, or too few
    pixels per colour for the palette (4 header bytes a colour) to pay for itself.
    """
    if a.dtype != np.uint8 or a.shape[2] != 3 or a.shape[0] * a.shape[1] < 2 * MIN_PIXELS_PER_COLOR:
        return None
    packed = (a[:, :, 0].astype(np.uint32) << 16) | (a[:, :, 1].astype(np.uint32) << 8) | a[:, :, 2]
    # a photo shows too many colours in a strided sample already (no need to sort it all)
    if np.unique(packed.ravel()[:: max(1, packed.size // 16384)]).size > MAX_INDEXED_COLORS:
        return None
    colors, index = np.unique(packed, return_inverse=True)
    if colors.size > MAX_INDEXED_COLORS or colors.size * MIN_PIXELS_PER_COLOR > packed.size:
        return None
    palette = np.stack([colors >> 16, (colors >> 8) & 0xFF, colors & 0xFF], axis=1).astype(np.uint8)
    order = np.argsort(palette.astype(np.int64) @ _LUMA, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    plane = rank[index.reshape(a.shape[:2])].astype(np.uint8)[:, :, None]
    return plane, palette[order]


def from_index_plane(plane: np.ndarray, palette: np.ndarray) -> np.ndarray:
    """Inverse of :func:`to_index_plane`."""
    if int(plane.max(initial=0)) >= len(palette):
        raise FormatError("corrupt data: palette index out of range")
    return palette[plane[:, :, 0]]


def check_array(a: np.ndarray) -> np.ndarray:
    """Validate an image array; returns it as (H, W, C) uint8 or uint16, C-contiguous."""
    if not isinstance(a, np.ndarray):
        raise UnsupportedImageError(
            f"expected a numpy array or a PIL image, got {type(a).__name__}"
        )
    if a.dtype == bool:
        a = a.astype(np.uint8)
    if a.dtype.kind == "u" and a.dtype.itemsize == 2:
        a = a.astype(np.uint16)  # big-endian input
    if a.dtype not in (np.uint8, np.uint16):
        raise UnsupportedImageError(
            f"unsupported dtype {a.dtype}: flowzip codes uint8 and uint16 images"
        )
    if a.ndim == 2:
        a = a[:, :, None]
    if a.ndim != 3 or not 1 <= a.shape[2] <= 4:
        raise UnsupportedImageError(
            f"unsupported shape {a.shape}: expected (H, W) or (H, W, C) with C in 1..4"
        )
    if a.shape[0] < 1 or a.shape[1] < 1:
        raise UnsupportedImageError(f"empty image {a.shape[:2]}")
    if a.size > MAX_SUBPIXELS:
        raise UnsupportedImageError(f"image too large: {a.shape}")
    return np.ascontiguousarray(a)


def to_planes(a: np.ndarray) -> np.ndarray:
    """(H, W, C) uint8/uint16 -> (H, W, P) uint8 planes."""
    if a.dtype == np.uint8:
        return a
    return np.concatenate([(a >> 8).astype(np.uint8), (a & 0xFF).astype(np.uint8)], axis=2)


def from_planes(planes: np.ndarray, bytes_per_sample: int) -> np.ndarray:
    if bytes_per_sample == 1:
        return planes
    c = planes.shape[2] // 2
    return (planes[:, :, :c].astype(np.uint16) << 8) | planes[:, :, c:].astype(np.uint16)


_DIRECT_MODES = {"RGB", "L", "RGBA", "LA"}
_PALETTE_ENTRY = {"RGB", "RGBA"}  # a palette's own mode: 3 or 4 bytes an entry
# each mode's (channels, bytes per sample) as coded
_MODE_LAYOUT = {
    "RGB": (3, 1),
    "L": (1, 1),
    "RGBA": (4, 1),
    "LA": (2, 1),
    "P": (1, 1),
    "PA": (2, 1),
    "1": (1, 1),
    "I;16": (1, 2),
    "I": (1, 2),
}
_PALETTE_MODES = {"P", "PA"}
_SIXTEEN_BIT_MODES = {"I;16", "I;16L", "I;16B", "I;16N"}


def check_pil_source(im) -> None:
    """Refuse what Pillow would hand over with pixels lost: deeper-than-8-bit colour
    (Pillow reads 16-bit RGB/RGBA/LA PNGs as 8-bit) and all but the first frame.
    Call it before ``im.load()``, while the decoder's raw mode is still known."""
    if getattr(im, "n_frames", 1) > 1:
        raise UnsupportedImageError(f"multi-frame images are not supported ({im.n_frames} frames)")
    for t in getattr(im, "tile", None) or ():
        args = t.args if hasattr(t, "args") else t[3]
        rawmode = args[0] if isinstance(args, tuple) and args else args
        if (
            isinstance(rawmode, str)
            and ";16" in rawmode
            and im.mode not in _SIXTEEN_BIT_MODES | {"I"}
        ):
            raise UnsupportedImageError(
                f"{rawmode} image: Pillow reads it as 8-bit {im.mode}; 16-bit colour is supported as numpy arrays"
            )


def attached_of(im) -> Attached:
    """The ICC profile, EXIF block and PNG text chunks a Pillow image carries."""
    icc = im.info.get("icc_profile") or b""
    exif = im.info.get("exif") or b""
    if not isinstance(exif, bytes):  # an Image.Exif, as some callers set it
        exif = exif.tobytes() if hasattr(exif, "tobytes") else b""
    exif = exif[len(_EXIF_PREFIX) :] if exif.startswith(_EXIF_PREFIX) else exif
    chunks = getattr(im, "text", None) or {}  # PNG files only (iTXt values carry lang and tkey)
    text = tuple(
        TextChunk(str(k), str(v), getattr(v, "lang", None) or "", getattr(v, "tkey", None) or "")
        for k, v in chunks.items()
    )
    return Attached(bytes(icc), bytes(exif), text)


_EXIF_PREFIX = (
    b"Exif\x00\x00"  # JPEG's APP1 marker; Pillow's im.info["exif"] has it, PNG's eXIf not
)


def save_options(attached: Attached, fmt: str) -> tuple[dict, Attached]:
    """Pillow ``save`` keywords that write ``attached`` into a ``fmt`` ("PNG" or "TIFF") file,
    and what of it they write: PNG holds everything, TIFF the ICC profile only. The ICC key
    is always set, so an image's own ``im.info`` profile is not written when ``attached`` has
    none.

    Example:
        >>> save_options(Attached(icc_profile=b"icc", text=(TextChunk("Comment", "hi"),)), "TIFF")
        ({'icc_profile': b'icc'}, Attached(icc_profile=b'icc', exif=b'', text=()))
    """
    options: dict[str, Any] = {"icc_profile": attached.icc_profile or None}
    if fmt != "PNG":
        return options, Attached(icc_profile=attached.icc_profile)
    if attached.exif:
        options["exif"] = _EXIF_PREFIX + attached.exif
    if attached.text:
        from PIL.PngImagePlugin import PngInfo

        info = PngInfo()
        for t in attached.text:
            deflate = len(t.text) >= 1024  # zTXt (or a compressed iTXt), as a PNG writer would
            if t.language or t.translated_keyword:
                info.add_itxt(t.keyword, t.text, t.language, t.translated_keyword, zip=deflate)
            else:
                info.add_text(t.keyword, t.text, zip=deflate)
        options["pnginfo"] = info
    return options, attached


def from_pil(im) -> tuple[np.ndarray, ImageInfo]:
    """A Pillow image as an (H, W, C) array plus what restores its mode and palette, and
    the metadata it carries (:func:`attached_of`)."""
    check_pil_source(im)
    a, info = _pil_pixels(im)
    return a, dataclasses.replace(info, attached=attached_of(im))


def _pil_pixels(im) -> tuple[np.ndarray, ImageInfo]:
    mode = im.mode
    transparency = im.info.get("transparency")
    if mode in _DIRECT_MODES:
        return np.asarray(im), ImageInfo(mode, transparency=transparency)
    if mode in _PALETTE_MODES:
        pal_mode = im.palette.mode if im.palette else "RGB"
        palette = bytes(im.getpalette(pal_mode) or b"")
        return np.asarray(im), ImageInfo(mode, pal_mode, palette, transparency)
    if mode == "1":
        return np.asarray(im).astype(np.uint8), ImageInfo(mode)
    if mode in _SIXTEEN_BIT_MODES:
        return np.asarray(im).astype(np.uint16), ImageInfo(mode, transparency=transparency)
    if mode == "I":
        a = np.asarray(im)
        if a.size and (a.min() < 0 or a.max() > 65535):
            raise UnsupportedImageError(
                "mode I image with values outside 0..65535 is not supported"
            )
        return a.astype(np.uint16), ImageInfo(mode, transparency=transparency)
    raise UnsupportedImageError(
        f"unsupported image mode {mode!r} (supported: RGB, L, RGBA, LA, P, PA, 1, I;16, I)"
    )


def to_pil(a: np.ndarray, info: ImageInfo):
    """Inverse of :func:`from_pil`; arrays without a recorded mode get Pillow's default."""
    from PIL import Image

    mode = info.mode
    arr = a[:, :, 0] if a.ndim == 3 and a.shape[2] == 1 else a
    if mode == "1":
        im = Image.fromarray(arr.astype(bool))
    elif mode in _SIXTEEN_BIT_MODES:
        im = Image.frombytes(mode, (arr.shape[1], arr.shape[0]), _sixteen_bit_bytes(arr, mode))
    elif mode == "I":
        im = Image.fromarray(arr.astype(np.int32), "I")
    elif mode in _PALETTE_MODES:
        im = Image.frombytes(
            mode, (arr.shape[1], arr.shape[0]), np.ascontiguousarray(arr).tobytes()
        )
        if info.palette:
            im.putpalette(info.palette, info.palette_mode or "RGB")
    elif mode:
        im = Image.fromarray(arr, mode)
    else:
        im = Image.fromarray(arr)
    if info.transparency is not None:
        im.info["transparency"] = info.transparency
    attached = info.attached
    if attached.icc_profile:
        im.info["icc_profile"] = attached.icc_profile
    if attached.exif:
        im.info["exif"] = _EXIF_PREFIX + attached.exif
    for t in attached.text:  # where Pillow's PNG reader puts them
        im.info.setdefault(t.keyword, t.text)
    return im


def _sixteen_bit_bytes(arr: np.ndarray, mode: str) -> bytes:
    order = ">u2" if mode == "I;16B" else "<u2" if mode in ("I;16", "I;16L") else "=u2"
    return np.ascontiguousarray(arr, dtype=order).tobytes()


def tile_grid(height: int, width: int, tile: int) -> list[tuple[int, int, int, int]]:
    """(y, x, h, w) of each tile, row by row."""
    return [
        (y, x, min(tile, height - y), min(tile, width - x))
        for y in range(0, height, tile)
        for x in range(0, width, tile)
    ]


def padded(n: int, m: int) -> int:
    """``n`` rounded up to a multiple of ``m``."""
    return n + (-n % m)


def pad_to_multiple(a: np.ndarray, m: int) -> np.ndarray:
    """Pad (H, W, P) by repeating the last row/column up to multiples of ``m``."""
    ph, pw = padded(a.shape[0], m) - a.shape[0], padded(a.shape[1], m) - a.shape[1]
    if ph or pw:
        a = np.pad(a, ((0, ph), (0, pw), (0, 0)), mode="edge")
    return a
