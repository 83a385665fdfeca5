"""The image codec: an image to the bytes of a .fz file and back.

::

    image -> planes (uint8) -> tiles padded to the model stride, coded in tile order
          -> each tile by the flow (one rANS stack for all flow tiles) or a classic path
          -> tile directory + streams -> container, with the image's CRC32

This module owns every decision between the pixels and the container: the plane groups
and the index-palette metadata of few-colour images, the tiling, the order in which tiles
are coded (and the seed tile of a bits-back model), how the streams of each format version
(1 to 6) hold the tiles, and the image checksum. :mod:`flowzip.api` is its public front;
:mod:`flowzip.container` its bytes.

The tile coders (torch, the entropy coder) and the classic paths (numba) are imported
where they are used, so that what a header says (:func:`pillow_mode`,
:func:`index_colours`) is answered without them (``flowzip info``).

Example:
    >>> tile_grid(100, 150, 64)[:3]
    [(0, 0, 64, 64), (0, 64, 64, 64), (0, 128, 64, 22)]
    >>> coding_order(6, first=4)
    [4, 5, 0, 1, 2, 3]
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

import numpy as np

from . import container
from .directory import FLOW, SUBSAMPLED, count_paths, entry_bytes, read_directory, write_directory
from .errors import ChecksumError, FlowzipError, FormatError, UnsupportedImageError
from .image import (
    ImageInfo,
    PlaneGroup,
    default_mode,
    from_index_plane,
    from_planes,
    pad_to_multiple,
    padded,
    pillow_default_mode,
    plane_groups,
    tile_grid,
    to_index_plane,
    to_pil,
    to_planes,
)

if TYPE_CHECKING:
    import torch

    from .entropy.coder import LatentEncoder
    from .model import IntFlowModel, Latent

Progress = Callable[[int, int], None]  # (tiles done, tiles in all)

T = TypeVar("T")


@dataclass
class CodecModel:
    """A loaded model: one integer flow per plane kind, with its id and weights hash
    (:func:`flowzip.registry.load_model` makes one)."""

    model_id: str
    sha256: str
    flows: dict[str, IntFlowModel]
    backend_name: str

    @property
    def hash_prefix(self) -> bytes:
        return bytes.fromhex(self.sha256)[:8]

    @property
    def stride(self) -> int:
        return max(f.config.stride for f in self.flows.values())

    @property
    def bits_back(self) -> bool:
        """True if a flow has scale layers (coded with bits-back)."""
        return any(f.config.bits_back for f in self.flows.values())


# ------------------------------------------------------------------ what coding an image gives


@dataclass(frozen=True)
class CompressionStats:
    """Sizes of one compressed image; bpsp counts every byte of the file."""

    width: int
    height: int
    channels: int
    bytes_per_sample: int
    nbytes: int  # the whole file
    header_bytes: int
    bits_theoretical: float  # the model's exact code length, -log2 p, under the integer tables
    escapes: int  # latents coded outside their prior's window
    tiles: int
    tile_paths: dict = field(default_factory=dict)  # path name ("flow", "palette", ...) -> tiles

    @property
    def subpixels(self) -> int:
        return self.width * self.height * self.channels

    @property
    def bpsp(self) -> float:
        """File bits per sub-pixel."""
        return 8.0 * self.nbytes / self.subpixels

    @property
    def model_bpsp(self) -> float:
        """The model's own bits per sub-pixel."""
        return self.bits_theoretical / self.subpixels

    @property
    def overhead_bytes(self) -> float:
        """File bytes beyond the model's code length: header, stream ends."""
        return self.nbytes - self.bits_theoretical / 8.0


@dataclass(frozen=True)
class Encoded:
    data: bytes
    stats: CompressionStats


@dataclass(frozen=True)
class Decoded:
    array: np.ndarray  # (H, W) or (H, W, C), uint8 or uint16
    info: ImageInfo
    header: container.Header

    @property
    def attached(self) -> container.Attached:
        """The ICC profile, EXIF block and PNG text chunks the file carries (format 4)."""
        return self.header.attached

    def to_pil(self):
        """The image as Pillow would have opened the original (mode and palette restored; ICC
        profile, EXIF and PNG text in ``im.info``)."""
        try:
            return to_pil(self.array, self.info)
        except (TypeError, ValueError, KeyError) as e:
            raise UnsupportedImageError(
                f"cannot make a Pillow image of this {self.array.dtype} array of shape {self.array.shape}"
                f"{' in mode ' + self.info.mode if self.info.mode else ''} ({e}); use the numpy array"
            ) from None


# ------------------------------------------------------------------ the image


def check_tile(tile: int, stride: int) -> None:
    """Refuse a tile size that the format or the model's stride cannot code."""
    if tile % stride or not container.MIN_TILE <= tile <= container.MAX_TILE:
        raise UnsupportedImageError(
            f"tile size must be a multiple of {stride} up to {container.MAX_TILE} (not {tile})"
        )


def encode_image(
    model: CodecModel,
    arr: np.ndarray,
    info: ImageInfo,
    *,
    ndim: int,
    tile: int,
    attached: container.Attached,
    flow_only: bool = False,
    progress: Progress | None = None,
) -> Encoded:
    """Code a checked (H, W, C) array (:func:`flowzip.image.check_array`) that the caller
    gave with ``ndim`` dimensions, with what restores its Pillow mode (``info``) and the
    metadata to carry (``attached``), as one .fz file of the current format version."""
    _check_attached(attached)
    height, width, channels = arr.shape
    bps = arr.dtype.itemsize
    meta = info.to_meta(pillow_default_mode(arr))
    indexed = to_index_plane(arr)
    if indexed is None:
        planes, groups = to_planes(arr), plane_groups(channels, bps)
    else:
        planes, palette = indexed
        groups = [INDEX_GROUP]
        meta[_INDEX_PALETTE] = base64.b64encode(palette.tobytes()).decode("ascii")
    count = container.tile_count(width, height, tile)
    if count > container.MAX_TILES:
        raise UnsupportedImageError(
            f"{count} tiles of {tile}x{tile}: the format holds at most "
            f"{container.MAX_TILES}; use a larger tile"
        )
    tiles = tile_grid(height, width, tile)
    coded = encode_tiles(model, planes, groups, tiles, flow_only=flow_only, progress=progress)
    header = container.Header(
        width=width,
        height=height,
        channels=channels,
        bytes_per_sample=bps,
        ndim=2 if ndim == 2 else 3,
        tile=tile,
        model_id=model.model_id,
        model_hash=model.hash_prefix,
        pixel_crc=0,  # set below: version 4's checksum covers the header's other fields
        meta=meta,
        stream_sizes=tuple(len(s) for s in coded.streams),
        first_tile=coded.first_tile,
        attached=attached,
    )
    header = dataclasses.replace(header, pixel_crc=container.image_checksum(header, pixel_crc(arr)))
    data = container.write(header, coded.streams)
    stats = CompressionStats(
        width=width,
        height=height,
        channels=channels,
        bytes_per_sample=bps,
        nbytes=len(data),
        header_bytes=len(data) - sum(len(s) for s in coded.streams),
        bits_theoretical=coded.bits,
        escapes=coded.escapes,
        tiles=len(tiles),
        tile_paths=coded.tile_paths,
    )
    return Encoded(data, stats)


def _check_attached(attached: container.Attached) -> None:
    try:
        attached_bytes = len(container.attached_entries(attached))
    except ValueError as e:
        raise UnsupportedImageError(f"metadata that cannot be stored: {e}") from None
    if attached_bytes > container.MAX_ATTACHED:
        raise UnsupportedImageError(
            f"{attached_bytes:,} bytes of metadata (ICC, EXIF, text): the format holds at "
            f"most {container.MAX_ATTACHED:,}; drop it (--strip, attached=flowzip.Attached())"
        )


def decode_image(
    data: bytes,
    model_for: Callable[[container.Header], CodecModel],
    progress: Progress | None = None,
) -> Decoded:
    """Decode a whole .fz file of any version; ``model_for`` gives the model its header
    names (asked only when a tile needs the flow). Checks the CRC32."""
    header, streams = container.read(data)
    if header.tile < container.MIN_TILE:
        raise FormatError("corrupt flowzip file (tiling does not match the header)")
    model = model_for(header) if needs_flow(header, streams) else None
    if model is not None and header.tile % model.stride:
        raise FormatError("corrupt flowzip file (tiling does not match the header)")
    palette = index_palette(header)
    groups = (
        plane_groups(header.channels, header.bytes_per_sample) if palette is None else [INDEX_GROUP]
    )
    n_planes = sum(len(g.planes) for g in groups)
    planes = decode_tiles(model, header, streams, groups, n_planes, progress)
    if palette is None:
        arr = from_planes(planes, header.bytes_per_sample)
    else:
        arr = from_index_plane(planes, palette)
    if container.image_checksum(header, pixel_crc(arr)) != header.pixel_crc:
        raise ChecksumError("decoded image does not match the stored CRC32 (corrupt file)")
    info = ImageInfo.from_meta(header.meta, header.attached)
    info.check_fits(arr)
    if header.ndim == 2:
        arr = arr[:, :, 0]
    return Decoded(arr, info, header)


def pixel_crc(arr: np.ndarray) -> int:
    """CRC32 of the pixels as C-order little-endian (H, W, C) bytes (what a header of
    version 1-3 stores, and version 4 continues: :func:`flowzip.container.image_checksum`)."""
    return zlib.crc32(np.ascontiguousarray(arr, dtype=arr.dtype.newbyteorder("<")).tobytes())


# ------------------------------------------------------------------ what a header says

INDEX_GROUP = PlaneGroup("gray", (0,))  # the palette-index plane of an indexed RGB image
_INDEX_PALETTE = "index_palette"  # metadata key: the (n, 3) palette of an indexed RGB image


def index_palette(header: container.Header) -> np.ndarray | None:
    """The (n, 3) uint8 palette of a file coded as palette indices (an RGB image of at most
    256 colours), or None."""
    text = header.meta.get(_INDEX_PALETTE)
    if text is None:
        return None
    try:
        raw = base64.b64decode(text, validate=True)
        palette = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 3)
    except (TypeError, ValueError, binascii.Error):
        raise FormatError("corrupt flowzip metadata (index palette)") from None
    if not 1 <= len(palette) <= 256 or header.channels != 3 or header.bytes_per_sample != 1:
        raise FormatError("corrupt flowzip metadata (index palette)")
    return palette


def index_colours(header: container.Header) -> int | None:
    """How many colours the palette of a file coded as palette indices has (None if it is
    not coded so)."""
    palette = index_palette(header)
    return None if palette is None else len(palette)


def pillow_mode(header: container.Header) -> str | None:
    """The Pillow mode a file decodes to, from its header alone: the recorded one, else
    Pillow's default for its samples; None for 16-bit colour, which has none."""
    mode = header.meta.get("mode")
    if isinstance(mode, str) and mode:
        return mode
    return default_mode(header.channels, header.bytes_per_sample)


# ------------------------------------------------------------------ one tile through the flow


def _at(t: torch.Tensor, positions: torch.Tensor | None) -> np.ndarray:
    """The values of one coding pass, as numpy (all of ``t``, or those at ``positions``)."""
    return (t if positions is None else t[positions]).numpy()


def encode_latent(flow: IntFlowModel, latent: Latent) -> LatentEncoder:
    """One latent coded pass by pass (:func:`flowzip.architecture.prior_passes`) on a fresh
    encoder, to push onto a stack (or to count its bits)."""
    from .entropy.coder import LatentEncoder

    enc = LatentEncoder()
    for positions, mu_q, scale_idx in flow.prior_passes(latent.name, latent.context, latent.z):
        enc.encode(*(_at(t, positions) for t in (latent.z, mu_q, scale_idx)))
    return enc


@dataclass(frozen=True)
class _Mark:
    stack: object
    stack_bits: int
    latent_bits: float
    escapes: int
    model_bits: float
    seed_bits: float
    seed_elements: int


class TileEncoder:
    """Codes padded (h, w, P) uint8 tiles, one after another, onto one ANS stack.

    Pushed in the reverse of the decoder's order: the last plane group first, each latent as
    soon as the flow factors it out, so that a bits-back model's scale layers (which pop and
    push on the same stack, :mod:`flowzip.entropy.bitsback`) borrow from the latents coded
    before them, the earlier tiles' included: only the first tile's scale layers can find the
    stack short (and code some elements without bits-back). ``bits`` counts each scale
    element's ideal ``log2 S - log2 R``; seed chunks and the stream's ends are what the file adds.
    """

    def __init__(self, model: CodecModel):
        from .entropy.bitsback import ScaleCoder
        from .entropy.stack import AnsStack

        self.model = model
        self.stack = AnsStack()
        self.scales = ScaleCoder(self.stack)
        self.latent_bits = 0.0
        self.escapes = 0

    @property
    def bits(self) -> float:
        """The exact code length so far (each scale element at its ideal cost)."""
        return self.latent_bits + self.scales.model_bits

    def mark(self) -> _Mark:
        """The encoder's state now, for :meth:`rollback`."""
        s = self.scales
        return _Mark(
            self.stack.clone(),
            self.stack.bits,
            self.latent_bits,
            self.escapes,
            s.model_bits,
            s.seed_bits,
            s.seed_elements,
        )

    def rollback(self, mark: _Mark) -> None:
        """Undo what was coded since ``mark`` (a tile that another path codes smaller)."""
        self.stack.restore(mark.stack)
        self.latent_bits, self.escapes = mark.latent_bits, mark.escapes
        self.scales.model_bits, self.scales.seed_bits, self.scales.seed_elements = (
            mark.model_bits,
            mark.seed_bits,
            mark.seed_elements,
        )

    def encode(self, planes: np.ndarray, groups: list[PlaneGroup]) -> None:
        import torch

        with torch.inference_mode():
            for group in reversed(groups):
                flow = self.model.flows[group.flow]

                def push_latent(latent: Latent, flow: IntFlowModel = flow) -> None:
                    enc = encode_latent(flow, latent)
                    enc.push_onto(self.stack)
                    self.latent_bits += enc.bits
                    self.escapes += enc.escapes

                x = torch.from_numpy(
                    np.ascontiguousarray(planes[:, :, list(group.planes)])
                ).permute(2, 0, 1)[None]
                flow.forward(x, stack=self.scales, emit=push_latent)

    def finish(self) -> bytes:
        return self.stack.to_bytes()


class TileDecoder:
    """Inverse of :class:`TileEncoder`: each :meth:`decode` returns the tile coded last among
    those not yet decoded; :meth:`finish` checks that the stream is used up exactly."""

    def __init__(self, model: CodecModel, stream: bytes):
        from .entropy.bitsback import ScaleCoder
        from .entropy.coder import LatentDecoder

        self.model = model
        self.latents = LatentDecoder(stream)
        self.scales = ScaleCoder(self.latents.stack)

    def decode(self, shape: tuple[int, int, int], groups: list[PlaneGroup]) -> np.ndarray:
        """The tile of padded ``shape`` (h, w, P)."""
        import torch

        out = np.empty(shape, dtype=np.uint8)
        dec = self.latents
        with torch.inference_mode():
            for group in groups:
                flow = self.model.flows[group.flow]

                def pop(name, context, latent_shape):
                    z = torch.zeros(latent_shape, dtype=torch.int64)
                    passes = flow.prior_passes(name, context, z)  # noqa: B023  called in this iteration only
                    for positions, mu_q, scale_idx in passes:
                        values = torch.from_numpy(
                            dec.decode(_at(mu_q, positions), _at(scale_idx, positions))
                        )
                        if positions is None:
                            z = values.view(latent_shape)
                        else:
                            z[positions] = values
                    return z

                x = flow.inverse(pop, (1, len(group.planes), shape[0], shape[1]), stack=self.scales)
                if int(x.min()) < 0 or int(x.max()) > 255:
                    raise FormatError("corrupt data: decoded pixels out of range")
                out[:, :, list(group.planes)] = x[0].permute(1, 2, 0).numpy().astype(np.uint8)
        return out

    def finish(self) -> None:
        self.latents.finish()


# ------------------------------------------------------------------ the image's tiles


def coding_order(tiles: int, first: int) -> list[int]:
    """The order in which the encoder codes the tiles (row by row from ``first``, wrapping
    around); the decoder meets the flow tiles in the reverse order."""
    return [(first + k) % tiles for k in range(tiles)]


def seed_tile(planes: np.ndarray, tiles: list[tuple[int, int, int, int]]) -> int:
    """The tile to code first with a bits-back model: the busiest (the sum of the absolute
    differences between neighbouring samples, per sample of its planes). Its scale layers
    are the only ones that can find the stack short, and a busy tile's level-0 latent costs
    the most bits, so it funds them best (docs/experiments.md row 15: on urban_057 it cuts
    the overhead from 11.2 KB with tile 0 first to 0.2 KB; not always the best tile)."""

    def busyness(tile):
        y, x, h, w = tile
        p = planes[y : y + h, x : x + w].astype(np.int16)
        return (np.abs(np.diff(p, axis=0)).sum() + np.abs(np.diff(p, axis=1)).sum()) / p.size

    return max(range(len(tiles)), key=lambda i: (busyness(tiles[i]), -i))


@dataclass
class TiledEncoding:
    """What :func:`encode_tiles` returns: the three streams of a file of version 3 or later, and counts."""

    streams: list[bytes]
    first_tile: int
    bits: float  # exact code length: the flow's, and each classic tile's under its adaptive model
    escapes: int
    kinds: list[int]

    @property
    def tile_paths(self) -> dict[str, int]:
        return count_paths(self.kinds)


# a tile whose best classic path is below this many bits a sample is not tried with the flow:
# of the 106 such tiles of dev-graphics and every third generated image, idf-base-v4 coded
# none in fewer bytes than the classic path, and none in under twice its bytes
FLOW_PRUNE_BPSP = 1.0
# nor a tile where the flow codes its centre crop in more bits than the predictive coder
# does there, scaled by the tile's best classic bytes over its RGB classic bytes (below 1
# where a subsampled tile is smaller): over the 136 photo tiles of at least 4 crops of dev
# and the every4 variants (docs/experiments.md M41) idf-base-v4 won no tile, came within
# 1.5% once (crop ratio 0.999) and within 10% on 23 (crop ratios 0.999-1.13); 1.15 (M17,
# against format 4's coder) left 42 of them to a whole-tile trial, 1.0 leaves 1; the crop
# costs about a fifth of the tile
FLOW_PRUNE_RATIO, FLOW_PRUNE_CROP = 1.0, 128
# and once one tile's ratio is above this, the image's later tiles are pruned without a
# crop of their own: in those 136 tiles, 64 tiles of 23 images would have been, with crop
# ratios of 1.05 and up and whole-tile flow ratios of 1.07 and up (docs/experiments.md M41)
FLOW_FAR_RATIO = 1.15
# an image whose subsampled window (subsampled.share_of_rgb) codes in under this share of
# the RGB classic paths' bytes codes its tiles by the subsampled path without trying those:
# of the 372 tiles of the variants' 108 images they won 6, all set14 ppt3's (a slide), and
# skipping them at this share costs +0.001% of each set's bytes (docs/experiments.md M43)
RGB_SKIP_SHARE = 0.85


def flow_crop_ratio(
    model: CodecModel, region: np.ndarray, groups: list[PlaneGroup], best_share: float = 1.0
) -> float | None:
    """The flow's exact bits on the tile's centre crop over the predictive coder's there
    times ``best_share`` (the tile's best classic payload over its RGB one); None on a tile
    under 4 crops, where trying the flow on all of it costs little more."""
    from . import classic

    if not _has_crops(region):
        return None
    h, w = region.shape[:2]
    s = model.stride
    top = (h - FLOW_PRUNE_CROP) // 2 // s * s
    left = (w - FLOW_PRUNE_CROP) // 2 // s * s
    crop = np.ascontiguousarray(region[top : top + FLOW_PRUNE_CROP, left : left + FLOW_PRUNE_CROP])
    probe = TileEncoder(model)
    probe.encode(pad_to_multiple(crop, s), groups)
    rgb = bool(groups) and groups[0].flow == "rgb"
    return probe.bits / (best_share * classic.predictive_bits(crop, rgb))


def _has_crops(region: np.ndarray) -> bool:
    """Whether a tile is large enough (4 crops) for the flow's crop to stand for it."""
    return region.shape[0] * region.shape[1] >= 4 * FLOW_PRUNE_CROP**2


def encode_tiles(
    model: CodecModel,
    planes: np.ndarray,
    groups: list[PlaneGroup],
    tiles: list[tuple[int, int, int, int]],
    *,
    flow_only: bool = False,
    progress: Progress | None = None,
) -> TiledEncoding:
    """Code every tile by the path with the fewest bits: the flow (measured exactly, as what
    it adds to the shared stack, and undone when another path is smaller), a palette or
    predictive context coder, the stored floor (:mod:`flowzip.classic`), or on an RGB image
    made by upsampling (4:2:0 chroma, or an upscaled image), its planes at half resolution
    (:mod:`flowzip.subsampled`)."""
    from . import classic, subsampled

    rgb = bool(groups) and groups[0].flow == "rgb"
    halved, subsampled_share = None, 1.0
    if rgb and planes.shape[2] == 3 and not flow_only:
        halved = subsampled.recover(planes)
        if halved is not None:
            subsampled_share = subsampled.share_of_rgb(halved)
    first = seed_tile(planes, tiles) if model.bits_back else 0
    enc = TileEncoder(model)
    kinds = [FLOW] * len(tiles)
    payloads: list[bytes] = [b""] * len(tiles)
    classic_bits = 0.0

    def region_of(i: int) -> np.ndarray:
        y, x, h, w = tiles[i]
        return np.ascontiguousarray(planes[y : y + h, x : x + w])

    def classic_best(i: int) -> tuple[tuple[int, bytes, float], float]:
        """The tile's best classic path, and its payload's share of the RGB paths' best."""
        if halved is not None and subsampled_share < RGB_SKIP_SHARE:
            return subsampled.encode_tile(halved, tiles[i]), subsampled_share
        best = classic.encode_best(region_of(i), rgb)
        if halved is not None:
            found = subsampled.encode_tile(halved, tiles[i])
            if len(found[1]) < len(best[1]):
                return found, len(found[1]) / len(best[1])
        return best, 1.0

    order = coding_order(len(tiles), first)
    coded = (
        ((i, None) for i in order)
        if flow_only
        else _each_in_parallel(classic_best, order, first_alone=False)
    )
    flow_far = False  # a tile's crop showed the flow far behind: prune the others unseen

    def pruned(region: np.ndarray, best: tuple[int, bytes, float], best_share: float) -> bool:
        nonlocal flow_far
        if 8 * len(best[1]) < FLOW_PRUNE_BPSP * region.size:
            return True
        if flow_far and _has_crops(region):
            return True
        ratio = flow_crop_ratio(model, region, groups, best_share)
        flow_far = flow_far or (ratio is not None and ratio > FLOW_FAR_RATIO)
        return ratio is not None and ratio > FLOW_PRUNE_RATIO

    for done, (i, found) in enumerate(coded):
        region = region_of(i)
        best, best_share = (None, 1.0) if found is None else found
        directory_bytes = 0 if best is None else entry_bytes(best[0], len(best[1]))
        if best is not None and pruned(region, best, best_share):
            kinds[i], payloads[i] = best[0], best[1]
            classic_bits += best[2]
        elif best is None:  # nothing to compare: no rollback point needed
            enc.encode(pad_to_multiple(region, model.stride), groups)
        else:
            mark = enc.mark()
            enc.encode(pad_to_multiple(region, model.stride), groups)
            flow_bytes = (enc.stack.bits - mark.stack_bits) / 8 + entry_bytes(FLOW)
            if len(best[1]) + directory_bytes < flow_bytes:
                enc.rollback(mark)
                kinds[i], payloads[i] = best[0], best[1]
                classic_bits += best[2]
        if progress:
            progress(done + 1, len(tiles))
    sizes = [len(p) for p in payloads]
    streams = [write_directory(kinds, sizes), enc.finish(), b"".join(payloads)]
    return TiledEncoding(streams, first, enc.bits + classic_bits, enc.escapes, kinds)


def decode_tiles(
    model: CodecModel | None,
    header: container.Header,
    streams: list[bytes],
    groups: list[PlaneGroup],
    n_planes: int,
    progress: Progress | None = None,
) -> np.ndarray:
    """The (H, W, P) planes of a file of any version (``model`` may be None when no tile
    needs the flow)."""
    from . import classic, subsampled

    tiles = tile_grid(header.height, header.width, header.tile)
    # the image is reserved once its first tile has decoded, not on the header's word: a
    # forged header claiming 2**30 samples on a few bytes fails in that tile first
    planes = None

    def put(i: int, region: np.ndarray) -> None:
        nonlocal planes
        if planes is None:
            planes = _reserve((header.height, header.width, n_planes))
        y, x, h, w = tiles[i]
        planes[y : y + h, x : x + w] = region

    if header.version >= 3:
        kinds, offsets = read_directory(streams[0], len(tiles), len(streams[2]))
    else:
        kinds, offsets = [FLOW] * len(tiles), [0] * (len(tiles) + 1)
    rgb = bool(groups) and groups[0].flow == "rgb"
    if SUBSAMPLED in kinds and (header.version < 7 or not rgb or n_planes != 3):
        raise FormatError(
            "corrupt flowzip file (a subsampled tile in an image that cannot have one)"
        )

    def classic_tile(i: int) -> np.ndarray:
        _, _, h, w = tiles[i]
        payload = streams[2][offsets[i] : offsets[i + 1]]
        if kinds[i] == SUBSAMPLED:
            return subsampled.decode_tile(payload, tiles[i], (header.height, header.width))
        return classic.decode(kinds[i], payload, (h, w, n_planes), rgb)

    done = 0
    for i, region in _each_in_parallel(classic_tile, [i for i, k in enumerate(kinds) if k != FLOW]):
        put(i, region)
        done += 1
        if progress:
            progress(done, len(tiles))
    flow_tiles = [i for i in range(len(tiles)) if kinds[i] == FLOW]
    if flow_tiles:
        if model is None:
            raise FormatError("corrupt flowzip file (flow tiles without a model)")
        s = model.stride
        for i, dec in _flow_decoders(model, header, streams, kinds):
            _, _, h, w = tiles[i]
            put(i, dec.decode((padded(h, s), padded(w, s), n_planes), groups)[:h, :w])
            done += 1
            if progress:
                progress(done, len(tiles))
    elif header.version >= 3 and streams[1]:
        raise FormatError("corrupt flowzip file (a flow stream but no flow tile)")
    assert planes is not None  # an image has at least one tile, and every tile was put
    return planes


def _each_in_parallel(
    code: Callable[[int], T], indices: list[int], *, first_alone: bool = True
) -> Iterator[tuple[int, T]]:
    """``(i, code(i))`` in the order of ``indices``, on as many threads as numba may use
    (``threads=``), the first alone when decoding (it compiles the kernels, and a forged file
    fails there before any other tile runs). Classic tiles are independent payloads and their
    kernels release the GIL, so two cores code them about twice as fast; the encoder takes
    the results in order while it runs the flow on the tiles before."""
    if not indices:
        return
    rest = indices
    if first_alone:
        yield indices[0], code(indices[0])
        rest = indices[1:]
    import numba

    workers = min(len(rest), numba.get_num_threads())
    if workers < 2:
        yield from ((i, code(i)) for i in rest)
        return
    from concurrent.futures import ThreadPoolExecutor

    pool = ThreadPoolExecutor(workers, thread_name_prefix="flowzip-tile")
    try:
        yield from zip(rest, pool.map(code, rest), strict=True)
    finally:  # a corrupt tile (or an error) ends the coding: tiles not started are not run
        pool.shutdown(wait=True, cancel_futures=True)


def _reserve(shape: tuple[int, int, int]) -> np.ndarray:
    try:
        return np.empty(shape, dtype=np.uint8)
    except MemoryError:
        raise FlowzipError(
            f"not enough memory to decode a {shape[1]}x{shape[0]} image "
            f"({np.prod(shape) / 2**20:.0f} MiB of planes)"
        ) from None


def _flow_decoders(
    model: CodecModel, header: container.Header, streams: list[bytes], kinds: list[int]
) -> Iterator[tuple[int, TileDecoder]]:
    """``(tile index, decoder)`` of the flow tiles in decode order; every stream is checked
    to be used up."""
    if header.version == 1:  # one stream per tile, row by row
        for i, stream in enumerate(streams):
            dec = TileDecoder(model, stream)
            yield i, dec
            dec.finish()
        return
    dec = TileDecoder(model, streams[0] if header.version == 2 else streams[1])
    for i in reversed(coding_order(len(kinds), header.first_tile)):
        if kinds[i] == FLOW:
            yield i, dec
    dec.finish()


def needs_flow(header: container.Header, streams: list[bytes]) -> bool:
    """True unless a file of version 3 or later codes every tile without the flow (then no
    model is needed to decode it)."""
    if header.version < 3:
        return True
    tiles = len(tile_grid(header.height, header.width, header.tile))
    return FLOW in read_directory(streams[0], tiles, len(streams[2]))[0] or bool(streams[1])
