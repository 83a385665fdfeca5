"""Regenerate the tiny test model tests/fixtures/tiny-v1.npz (a frozen fixture: the v1
files in tests/fixtures/v1 were made with it, so regenerating it breaks them on purpose).

    python tests/make_tiny_model.py
"""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

from flowzip.model import FlowConfig
from flowzip.train.run import CropSampler, load_folder
from flowzip.train.bundle import bundle
from flowzip.train.model import FloatFlow

HERE = Path(__file__).parent
DATA = HERE.parent.parent / "shared" / "data" / "train"


def train_tiny(channels: int, out: Path, steps: int = 150) -> None:
    torch.manual_seed(0)
    model = FloatFlow(FlowConfig(channels, levels=3, couplings=1, hidden=8), seed=0)
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
    with tempfile.TemporaryDirectory() as tmp:
        rgb, gray = Path(tmp) / "rgb.npz", Path(tmp) / "gray.npz"
        train_tiny(3, rgb)
        train_tiny(1, gray)
        print(bundle(rgb, gray, HERE / "fixtures" / "tiny-v1.npz"))
