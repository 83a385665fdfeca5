"""Where a model's bits go, latent by latent, and whether the unconditional ``base`` latent
has spatial context left to exploit.

    python bench/latents.py breakdown [MODEL]      # bits per latent over dev crops (RGB flow)
    python bench/latents.py base-context [MODEL]   # base: logistic vs entropy vs neighbours

``breakdown`` codes the latents of every other dev image (its top-left 512x512 at most; the
gray-as-RGB palette images skipped, since they run the grayscale flow) under the model's own
integer priors and reports each latent's share. ``base-context`` runs every dev image through
the RGB flow and compares, for ``base``, the per-channel logistic it is coded with, the
empirical per-channel entropy (what any per-channel prior could reach), and a checkerboard
second half predicted from its four neighbours (a least-squares mean from all channels,
then a scale per neighbour-activity bin): an upper estimate of what a spatial prior saves.
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from flowzip.architecture import BASE
from flowzip.codec import encode_latent
from flowzip.registry import load_model

DEV = Path(__file__).resolve().parents[2] / "shared" / "data" / "dev"


def dev_images(every: int = 1, max_side: int | None = None):
    for path in sorted(DEV.glob("*.png"))[::every]:
        a = np.asarray(Image.open(path).convert("RGB"))
        h, w = a.shape[0] // 8 * 8, a.shape[1] // 8 * 8
        if max_side:
            h, w = min(h, max_side), min(w, max_side)
        a = a[:h, :w].copy()
        if np.array_equal(a[..., 0], a[..., 1]) and np.array_equal(a[..., 1], a[..., 2]):
            continue  # a gray image: the grayscale flow codes it
        yield path.stem, a


def latents(flow, a: np.ndarray):
    with torch.inference_mode():
        return flow.forward(torch.from_numpy(a).permute(2, 0, 1)[None])


def breakdown(model: str) -> None:
    flow = load_model(model).flows["rgb"]
    bits: Counter[str] = Counter()
    elems: Counter[str] = Counter()
    subpixels = 0
    for _, a in dev_images(every=2, max_side=512):
        for lat in latents(flow, a):
            bits[lat.name] += encode_latent(flow, lat).bits  # type: ignore[assignment]  # float counts
            elems[lat.name] += lat.z.numel()
        subpixels += a.size
    total = sum(bits.values())
    print(
        f"{model}: {total / subpixels:.4f} bpsp (model) over {subpixels / 3e6:.2f} Mpx of dev crops\n"
    )
    print("| latent | elements per sub-pixel | bits per element | share of the bits |")
    print("|---|---|---|---|")
    for name in bits:
        print(
            f"| {name} | {elems[name] / subpixels:.4f} | {bits[name] / elems[name]:.3f} | {bits[name] / total:.1%} |"
        )


def logistic_bits(residual: np.ndarray) -> float:
    """Mean bits of integer residuals under a moment-fitted discretized logistic per column."""
    s = np.maximum(residual.std(axis=0) * np.sqrt(3) / np.pi, 1e-3)

    def sig(t):
        return 1.0 / (1.0 + np.exp(-t))

    p = sig((residual + 0.5) / s) - sig((residual - 0.5) / s)
    return float(-np.log2(np.maximum(p, 1e-12)).mean())


def base_context(model: str) -> None:
    flow = load_model(model).flows["rgb"]
    everything, targets, neighbours = [], [], []
    for _, a in dev_images():
        base = (
            next(lat for lat in latents(flow, a) if lat.name == BASE)
            .z[0]
            .numpy()
            .astype(np.float64)
        )
        c, h, w = base.shape
        padded = np.pad(base, ((0, 0), (1, 1), (1, 1)), mode="edge")
        around = np.stack(
            [padded[:, :-2, 1:-1], padded[:, 2:, 1:-1], padded[:, 1:-1, :-2], padded[:, 1:-1, 2:]]
        )
        second = (
            np.add.outer(np.arange(h), np.arange(w)) % 2
        ) == 1  # the checkerboard's second half
        everything.append(base.reshape(c, -1).T)
        targets.append(base[:, second].T)
        neighbours.append(around[:, :, second].reshape(4 * c, -1).T)
    rows, y, x = (np.concatenate(v) for v in (everything, targets, neighbours))
    entropy = []
    for col in rows.T.astype(np.int64):
        _, counts = np.unique(col, return_counts=True)
        p = counts / counts.sum()
        entropy.append(float(-(p * np.log2(p)).sum()))
    design = np.hstack([x, np.ones((len(x), 1))])
    residual = y - design @ np.linalg.lstsq(design, y, rcond=None)[0]
    activity = np.abs(x).mean(axis=1)
    bins = np.clip(
        np.searchsorted(np.quantile(activity, np.linspace(0, 1, 17)), activity) - 1, 0, 15
    )
    binned = sum(logistic_bits(residual[bins == b]) * (bins == b).sum() for b in range(16)) / len(
        residual
    )
    print(
        f"{model}, base over {len(rows)} positions x {rows.shape[1]} channels (bits per element):"
    )
    print(
        f"  per-channel logistic, all of base            {logistic_bits(rows - rows.mean(0)):.3f}"
    )
    print(f"  per-channel empirical entropy                {np.mean(entropy):.3f}")
    print(f"  second half, no context                      {logistic_bits(y - y.mean(0)):.3f}")
    print(f"  second half, mean from 4 neighbours          {logistic_bits(residual):.3f}")
    print(f"  second half, + scale from their activity     {binned:.3f}")


if __name__ == "__main__":
    what, model = sys.argv[1], (sys.argv[2] if len(sys.argv) > 2 else "default")
    {"breakdown": breakdown, "base-context": base_context}[what](model)
