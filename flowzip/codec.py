"""Tiles through the flows and the coder, onto one stream: the glue between model and
entropy coder.

The model yields latents with integer prior parameters; the coder turns them into words.
Neither knows the other: this module passes integers between them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from . import classic
from .directory import FLOW, count_paths, entry_bytes, read_directory, write_directory
from .entropy.bitsback import ScaleCoder
from .entropy.coder import LatentDecoder, LatentEncoder
from .entropy.stack import AnsStack
from .errors import FlowzipError, FormatError
from .image import PlaneGroup, pad_to_multiple, padded, tile_grid
from .model import IntFlowModel, Latent
from .registry import CodecModel


def _at(t: torch.Tensor, positions: torch.Tensor | None) -> np.ndarray:
    """The values of one coding pass, as numpy (all of ``t``, or those at ``positions``)."""
    return (t if positions is None else t[positions]).numpy()


def encode_latent(flow: IntFlowModel, latent: Latent) -> LatentEncoder:
    """One latent coded pass by pass (:meth:`IntFlowModel.prior_passes`) on a fresh
    encoder, to push onto a stack (or to count its bits)."""
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
        with torch.inference_mode():
            for group in reversed(groups):
                flow = self.model.flows[group.flow]

                def push_latent(latent: Latent) -> None:
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
        self.model = model
        self.latents = LatentDecoder(stream)
        self.scales = ScaleCoder(self.latents.stack)

    def decode(self, shape: tuple[int, int, int], groups: list[PlaneGroup]) -> np.ndarray:
        """The tile of padded ``shape`` (h, w, P)."""
        out = np.empty(shape, dtype=np.uint8)
        dec = self.latents
        with torch.inference_mode():
            for group in groups:
                flow = self.model.flows[group.flow]

                def pop(name, context, latent_shape):
                    z = torch.zeros(latent_shape, dtype=torch.int64)
                    for positions, mu_q, scale_idx in flow.prior_passes(name, context, z):
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


def encode_tiles(
    model: CodecModel,
    planes: np.ndarray,
    groups: list[PlaneGroup],
    tiles: list[tuple[int, int, int, int]],
    *,
    flow_only: bool = False,
    progress=None,
) -> TiledEncoding:
    """Code every tile by the path with the fewest bits: the flow (measured exactly, as what
    it adds to the shared stack, and undone when another path is smaller), a palette or
    predictive context coder, or the stored floor (:mod:`flowzip.classic`)."""
    rgb = bool(groups) and groups[0].flow == "rgb"
    first = seed_tile(planes, tiles) if model.bits_back else 0
    enc = TileEncoder(model)
    kinds = [FLOW] * len(tiles)
    payloads: list[bytes] = [b""] * len(tiles)
    classic_bits = 0.0
    for done, i in enumerate(coding_order(len(tiles), first)):
        y, x, h, w = tiles[i]
        region = np.ascontiguousarray(planes[y : y + h, x : x + w])
        best = None if flow_only else classic.encode_best(region, rgb)
        directory_bytes = 0 if best is None else entry_bytes(best[0], len(best[1]))
        if best is not None and 8 * len(best[1]) < FLOW_PRUNE_BPSP * region.size:
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
    header,
    streams: list[bytes],
    groups: list[PlaneGroup],
    n_planes: int,
    progress=None,
) -> np.ndarray:
    """The (H, W, P) planes of a file of any version (``model`` may be None when no tile
    needs the flow)."""
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
    done = 0
    for i, kind in enumerate(kinds):  # the classic tiles, each on its own
        if kind != FLOW:
            _, _, h, w = tiles[i]
            put(
                i,
                classic.decode(
                    kind, streams[2][offsets[i] : offsets[i + 1]], (h, w, n_planes), rgb
                ),
            )
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
    return planes


def _reserve(shape: tuple[int, int, int]) -> np.ndarray:
    try:
        return np.empty(shape, dtype=np.uint8)
    except MemoryError:
        raise FlowzipError(
            f"not enough memory to decode a {shape[1]}x{shape[0]} image "
            f"({np.prod(shape) / 2**20:.0f} MiB of planes)"
        ) from None


def _flow_decoders(model: CodecModel, header, streams: list[bytes], kinds: list[int]):
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


def needs_flow(header, streams: list[bytes]) -> bool:
    """True unless a file of version 3 or later codes every tile without the flow (then no
    model is needed to decode it)."""
    if header.version < 3:
        return True
    tiles = len(tile_grid(header.height, header.width, header.tile))
    return FLOW in read_directory(streams[0], tiles, len(streams[2]))[0] or bool(streams[1])
