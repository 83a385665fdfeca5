"""Tiles through the flows and the coder, onto one stream: the glue between model and
entropy coder.

The model yields latents with integer prior parameters; the coder turns them into words.
Neither knows the other: this module passes integers between them.
"""
from __future__ import annotations

import numpy as np
import torch

from .entropy.bitsback import ScaleCoder
from .entropy.coder import LatentDecoder, LatentEncoder
from .entropy.stack import AnsStack
from .errors import FormatError
from .image import PlaneGroup
from .model import Latent
from .registry import CodecModel


def _at(t: torch.Tensor, positions: torch.Tensor | None) -> np.ndarray:
    """The values of one coding pass, as numpy (all of ``t``, or those at ``positions``)."""
    return (t if positions is None else t[positions]).numpy()


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

    def encode(self, planes: np.ndarray, groups: list[PlaneGroup]) -> None:
        with torch.inference_mode():
            for group in reversed(groups):
                flow = self.model.flows[group.flow]

                def push_latent(latent: Latent) -> None:
                    enc = LatentEncoder()
                    for positions, mu_q, scale_idx in flow.prior_passes(latent.name, latent.context, latent.z):
                        enc.encode(*(_at(t, positions) for t in (latent.z, mu_q, scale_idx)))
                    enc.push_onto(self.stack)
                    self.latent_bits += enc.bits
                    self.escapes += enc.escapes

                x = torch.from_numpy(np.ascontiguousarray(planes[:, :, list(group.planes)])).permute(2, 0, 1)[None]
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
                        values = torch.from_numpy(dec.decode(_at(mu_q, positions), _at(scale_idx, positions)))
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
