"""Regenerate the tiny test models (frozen fixtures: the files in tests/fixtures/v1 were made
with them, so regenerating one breaks them on purpose):

    python tests/make_tiny_model.py            # tests/fixtures/tiny-v1.npz
    python tests/make_tiny_model.py bits-back  # tests/fixtures/tiny-bb-v1.npz (scale layers
                                               # from level 1: bits-back coding)
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

from flowzip.architecture import FlowConfig
from flowzip.train.bundle import bundle
from flowzip.train.model import FloatFlow
from flowzip.train.run import CropSampler, load_folder

HERE = Path(__file__).parent
DATA = HERE.parent.parent / "shared" / "data" / "train"


def train_tiny(
    channels: int, out: Path, steps: int = 150, scale_from_level: int | None = None
) -> None:
    torch.manual_seed(0)
    model = FloatFlow(
        FlowConfig(channels, levels=3, couplings=1, hidden=8, scale_from_level=scale_from_level),
        seed=0,
    )
    sampler = CropSampler(load_folder(DATA, channels, limit=3), 32, seed=0)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(steps):
        x = sampler.batch(8)
        loss = model(x).mean() / x[0].numel()
        opt.zero_grad()
        loss.backward()
        opt.step()
    print(f"{channels} channel(s): train bpsp {loss.item():.3f}", file=sys.stderr)
    np.savez_compressed(out, **model.export())


if __name__ == "__main__":
    bits_back = sys.argv[1:] == ["bits-back"]
    scale_from_level, name = (1, "tiny-bb-v1.npz") if bits_back else (None, "tiny-v1.npz")
    with tempfile.TemporaryDirectory() as tmp:
        rgb, gray = Path(tmp) / "rgb.npz", Path(tmp) / "gray.npz"
        train_tiny(3, rgb, scale_from_level=scale_from_level)
        train_tiny(1, gray, scale_from_level=scale_from_level)
        print(bundle(rgb, gray, HERE / "fixtures" / name))
