"""Train a flow on a folder of images and export the integer model the codec runs.

    python -m flowzip.train --data ../shared/data/train --dev ../shared/data/dev \
        --out runs/rgb --channels 3 --steps 20000

Progress (loss, dev bpsp) goes to stderr; a checkpoint is written every few minutes and
``--resume`` continues from it; ``--export FILE`` writes the integer weights at the end.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

from ..model import FlowConfig
from .model import FloatFlow

IMAGE_SUFFIXES = {".png", ".webp", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".ppm", ".pgm"}


def load_folder(folder: Path, channels: int, limit: int | None = None) -> list[np.ndarray]:
    """Every image of a folder as uint8 (H, W, channels): RGB, or luma for one channel."""
    from PIL import Image

    mode = "RGB" if channels == 3 else "L"
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)[:limit]
    images = []
    for p in files:
        with Image.open(p) as im:
            a = np.asarray(im.convert(mode))
        images.append(a.reshape(a.shape[0], a.shape[1], channels))
    return images


class CropSampler:
    """Random crops (with horizontal flips), images drawn in proportion to their area."""

    def __init__(self, images: list[np.ndarray], crop: int, seed: int):
        self.images = [im for im in images if min(im.shape[:2]) >= crop]
        area = np.array([im.shape[0] * im.shape[1] for im in self.images], dtype=np.float64)
        self.p = area / area.sum()
        self.crop = crop
        self.rng = np.random.default_rng(seed)

    def batch(self, n: int) -> torch.Tensor:
        out = np.empty((n, self.crop, self.crop, self.images[0].shape[2]), dtype=np.uint8)
        for i, k in enumerate(self.rng.choice(len(self.images), size=n, p=self.p)):
            im = self.images[k]
            y = self.rng.integers(0, im.shape[0] - self.crop + 1)
            x = self.rng.integers(0, im.shape[1] - self.crop + 1)
            c = im[y : y + self.crop, x : x + self.crop]
            out[i] = c[:, ::-1] if self.rng.random() < 0.5 else c
        return torch.from_numpy(out).permute(0, 3, 1, 2).contiguous()


def lr_at(step: int, total: int, base: float, warmup: int = 200, decay_frac: float = 0.2) -> float:
    """Warm up, hold, then decay linearly to zero over the last ``decay_frac`` of the run."""
    if step < warmup:
        return base * (step + 1) / warmup
    start = int(total * (1 - decay_frac))
    if step < start:
        return base
    return base * max(0.0, (total - step) / max(1, total - start))


@torch.no_grad()
def evaluate(model: FloatFlow, crops: torch.Tensor) -> float:
    model.eval()
    bits = sum(float(model(crops[i : i + 4]).sum()) for i in range(0, len(crops), 4))
    model.train()
    return bits / crops.numel()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m flowzip.train", description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--dev", type=Path)
    ap.add_argument("--out", type=Path, required=True, help="run folder (checkpoint, log)")
    ap.add_argument("--channels", type=int, choices=(1, 3), default=3)
    ap.add_argument("--levels", type=int, default=3)
    ap.add_argument("--couplings", type=int, default=4)
    ap.add_argument("--hidden", type=int, default=64)
    ap.add_argument("--steps", type=int, default=20000)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--crop", type=int, default=64)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--checkpoint-minutes", type=float, default=4.0)
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--init", type=Path, help="start from the weights of this run's checkpoint.pt (fine-tuning; "
                    "the step count and learning-rate schedule start afresh)")
    ap.add_argument("--export", type=Path, help="write the integer model (.npz) when done")
    args = ap.parse_args(argv)

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    config = FlowConfig(args.channels, args.levels, args.couplings, args.hidden)
    model = FloatFlow(config, seed=args.seed)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    args.out.mkdir(parents=True, exist_ok=True)
    ckpt_path = args.out / "checkpoint.pt"
    step = 0
    sampler = CropSampler(load_folder(args.data, args.channels), args.crop, args.seed)
    if args.init and not (args.resume and ckpt_path.exists()):
        init = torch.load(args.init, weights_only=False)
        if FlowConfig.from_json(init["config"]) != config:
            raise SystemExit(f"--init {args.init}: its architecture {init['config']} differs from {config.to_json()}")
        model.load_state_dict(init["model"])
        print(f"initialised from {args.init} (trained {init['step']} steps)", file=sys.stderr)
    if args.resume and ckpt_path.exists():
        ckpt = torch.load(ckpt_path, weights_only=False)
        model.load_state_dict(ckpt["model"])
        opt.load_state_dict(ckpt["opt"])
        step = ckpt["step"]
        sampler.rng.bit_generator.state = ckpt["sampler_rng"]
        torch.set_rng_state(ckpt["torch_rng"])
        print(f"resumed at step {step}", file=sys.stderr)
    dev_crops = None
    if args.dev:
        dev = CropSampler(load_folder(args.dev, args.channels), 128, seed=1234)
        dev_crops = dev.batch(16)

    def save() -> None:
        tmp = ckpt_path.with_suffix(".tmp")
        torch.save(
            {"model": model.state_dict(), "opt": opt.state_dict(), "step": step, "config": config.to_json(),
             "sampler_rng": sampler.rng.bit_generator.state, "torch_rng": torch.get_rng_state()},
            tmp,
        )
        os.replace(tmp, ckpt_path)

    log = open(args.out / "log.jsonl", "a")
    t0 = last_ckpt = time.time()
    ema = None
    while step < args.steps:
        for g in opt.param_groups:
            g["lr"] = lr_at(step, args.steps, args.lr)
        x = sampler.batch(args.batch)
        loss = model(x).mean() / (x[0].numel())
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 50.0)
        opt.step()
        step += 1
        ema = loss.item() if ema is None else 0.98 * ema + 0.02 * loss.item()
        if step % 50 == 0:
            rate = step / max(1e-9, time.time() - t0)
            print(f"\rstep {step}/{args.steps} train bpsp {ema:.4f} lr {lr_at(step, args.steps, args.lr):.2e}",
                  end="", file=sys.stderr, flush=True)
        if time.time() - last_ckpt > args.checkpoint_minutes * 60 or step == args.steps:
            dev_bpsp = evaluate(model, dev_crops) if dev_crops is not None else math.nan
            save()
            last_ckpt = time.time()
            rec = {"step": step, "train_bpsp": ema, "dev_bpsp": dev_bpsp, "elapsed_s": round(time.time() - t0, 1)}
            log.write(json.dumps(rec) + "\n")
            log.flush()
            print(f"\n{json.dumps(rec)}", file=sys.stderr, flush=True)
    if args.export:
        np.savez_compressed(args.export, **model.export())
        print(f"exported {args.export}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
