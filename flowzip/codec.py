"""One tile through the flows and the coder: the glue between model and entropy coder.

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


def encode_tile(model: CodecModel, planes: np.ndarray, groups: list[PlaneGroup]) -> tuple[bytes, float, int]:
    """Code a padded (h, w, P) uint8 tile; returns (stream, exact code length in bits, escapes).

    One ANS stack, pushed in the reverse of the decoder's order: the last plane group first,
    each latent as soon as the flow factors it out, so that a bits-back model's scale layers
    (which pop and push on the same stack, :mod:`flowzip.entropy.bitsback`) borrow from the
    latents coded before them. The code length counts each scale element's ideal
    ``log2 S - log2 R``; seed chunks and stream ends are what the file adds.
    """
    stack = AnsStack()
    scales = ScaleCoder(stack)
    bits, escapes = 0.0, 0

    with torch.inference_mode():
        for group in reversed(groups):
            flow = model.flows[group.flow]

            def push_latent(latent: Latent) -> None:
                nonlocal bits, escapes
                enc = LatentEncoder()
                for positions, mu_q, scale_idx in flow.prior_passes(latent.name, latent.context, latent.z):
                    enc.encode(*(_at(t, positions) for t in (latent.z, mu_q, scale_idx)))
                enc.push_onto(stack)
                bits += enc.bits
                escapes += enc.escapes

            x = torch.from_numpy(np.ascontiguousarray(planes[:, :, list(group.planes)])).permute(2, 0, 1)[None]
            flow.forward(x, stack=scales, emit=push_latent)
    return stack.to_bytes(), bits + scales.model_bits, escapes


def decode_tile(model: CodecModel, stream: bytes, shape: tuple[int, int, int], groups: list[PlaneGroup]) -> np.ndarray:
    """Inverse of :func:`encode_tile` for a tile of padded ``shape`` (h, w, P)."""
    dec = LatentDecoder(stream)
    scales = ScaleCoder(dec.stack)
    out = np.empty(shape, dtype=np.uint8)

    with torch.inference_mode():
        for group in groups:
            flow = model.flows[group.flow]

            def pop(name, context, latent_shape):
                z = torch.zeros(latent_shape, dtype=torch.int64)
                for positions, mu_q, scale_idx in flow.prior_passes(name, context, z):
                    values = torch.from_numpy(dec.decode(_at(mu_q, positions), _at(scale_idx, positions)))
                    if positions is None:
                        z = values.view(latent_shape)
                    else:
                        z[positions] = values
                return z

            x = flow.inverse(pop, (1, len(group.planes), shape[0], shape[1]), stack=scales)
            if int(x.min()) < 0 or int(x.max()) > 255:
                raise FormatError("corrupt data: decoded pixels out of range")
            out[:, :, list(group.planes)] = x[0].permute(1, 2, 0).numpy().astype(np.uint8)
    dec.finish()
    return out
