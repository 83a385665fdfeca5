"""Train (or fine-tune) a complete flowzip model: the RGB flow, the grayscale flow, the
bundle the codec loads, and a check of that bundle through the real codec.

Example (a few steps, to show the call; real runs take thousands)::

    >>> from flowzip.train.run import TrainOptions, train  # doctest: +SKIP
    >>> result = train(TrainOptions(data="photos/", dev="photos-dev/", out="my-model.npz",
    ...                             init="default", steps=2000))  # doctest: +SKIP
    >>> result.dev_file_bpsp, result.sha256  # doctest: +SKIP

Then ``flowzip compress --model my-model.npz img.png``; decompressing needs the same file
(``flowzip decompress -m my-model.npz``), and says which model is missing otherwise.
"""

from __future__ import annotations

import json
import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch

from ..architecture import FLOW_KINDS, FlowConfig
from ..files import find_images, write_atomic
from ..progress import bar
from .augment import AugmentMix, augmented_crop
from .model import FloatFlow


def image_files(folder: Path) -> list[Path]:
    return find_images(folder, recursive=False)  # the rule of compress -r and the benchmark


def load_folder(folder: Path, channels: int, limit: int | None = None) -> list[np.ndarray]:
    """Every image of a folder as uint8 (H, W, channels): RGB, or luma for one channel."""
    from PIL import Image

    mode = "RGB" if channels == 3 else "L"
    images = []
    for p in image_files(folder)[:limit]:
        try:
            with Image.open(p) as im:
                a = np.asarray(im.convert(mode))
        except OSError as e:
            raise ValueError(f"{p}: cannot read this image ({e})") from None
        images.append(a.reshape(a.shape[0], a.shape[1], channels))
    return images


class CropSampler:
    """Random crops (with horizontal flips), images drawn in proportion to their area; with
    an ``augment`` mix, each crop of a kind drawn from it (:mod:`flowzip.train.augment`).
    Without one the crops are exactly those of the runs before augmentation existed."""

    def __init__(
        self, images: list[np.ndarray], crop: int, seed: int, augment: AugmentMix | None = None
    ):
        self.images = [im for im in images if min(im.shape[:2]) >= crop]
        if not self.images:
            raise ValueError(f"no image of at least {crop}x{crop} pixels to crop from")
        area = np.array([im.shape[0] * im.shape[1] for im in self.images], dtype=np.float64)
        self.p = area / area.sum()
        self.crop = crop
        self.augment = augment
        self.rng = np.random.default_rng(seed)

    def batch(self, n: int) -> torch.Tensor:
        out = np.empty((n, self.crop, self.crop, self.images[0].shape[2]), dtype=np.uint8)
        for i, k in enumerate(self.rng.choice(len(self.images), size=n, p=self.p)):
            im = self.images[k]
            if self.augment is not None:
                out[i] = augmented_crop(im, self.crop, self.augment, self.rng)
                continue
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
def evaluate(model: FloatFlow, crops: torch.Tensor, charge_unfunded: bool = False) -> float:
    """The float model's bits per sub-pixel on fixed crops (with the unfunded scale pops
    charged, if asked: see :meth:`FloatFlow.forward`)."""
    model.eval()
    bits = sum(
        float(model(crops[i : i + 4], charge_unfunded).sum()) for i in range(0, len(crops), 4)
    )
    model.train()
    return bits / crops.numel()


@dataclass(frozen=True)
class FlowRun:
    """One flow's training run (a folder with checkpoint.pt and log.jsonl)."""

    run_dir: Path
    config: FlowConfig
    steps: int
    batch: int = 16
    crop: int = 64
    lr: float = 1e-3
    seed: int = 0
    threads: int = 2
    checkpoint_minutes: float = 4.0
    resume: bool = True
    init: dict | None = None  # a float state dict to start from (fine-tuning)
    # train on what a tile pays: scale pops beyond the bits pushed before them are charged
    # (FloatFlow.forward's charge_unfunded; each crop taken as a tile)
    charge_unfunded: bool = False
    augment: AugmentMix | None = None  # plain crops, or this mix of processed ones


def train_flow(
    run: FlowRun,
    data: list[np.ndarray],
    dev: list[np.ndarray] | None,
    say: Callable[[str], None] = lambda s: None,
) -> tuple[FloatFlow, list[dict]]:
    """Train one flow; checkpoints every few minutes and resumes from the last one."""
    torch.set_num_threads(run.threads)
    torch.manual_seed(run.seed)
    model = FloatFlow(run.config, seed=run.seed)
    if run.init is not None:
        model.load_warm(run.init)
    opt = torch.optim.Adam(model.parameters(), lr=run.lr)
    run.run_dir.mkdir(parents=True, exist_ok=True)
    ckpt_path = run.run_dir / "checkpoint.pt"
    step = 0
    sampler = CropSampler(data, run.crop, run.seed, run.augment)
    augment_spec = run.augment.spec() if run.augment else "none"
    if run.resume and ckpt_path.exists():
        ckpt = torch.load(ckpt_path, weights_only=False)
        if FlowConfig.from_json(ckpt["config"]) != run.config:
            raise ValueError(f"{ckpt_path} is a run of another architecture ({ckpt['config']})")
        if (
            ckpt.get("augment", "none") != augment_spec
        ):  # checkpoints from before augmentation: none
            raise ValueError(
                f"{ckpt_path} is a run with augment {ckpt.get('augment', 'none')!r}, "
                f"not {augment_spec!r}"
            )
        model.load_state_dict(ckpt["model"])
        opt.load_state_dict(ckpt["opt"])
        step = ckpt["step"]
        sampler.rng.bit_generator.state = ckpt["sampler_rng"]
        torch.set_rng_state(ckpt["torch_rng"])
        say(f"resumed at step {step}\n")
    dev_crops = CropSampler(dev, 128, seed=1234).batch(16) if dev else None

    def save() -> None:
        def write(fh) -> None:
            torch.save(
                {
                    "model": model.state_dict(),
                    "opt": opt.state_dict(),
                    "step": step,
                    "config": run.config.to_json(),
                    "sampler_rng": sampler.rng.bit_generator.state,
                    "torch_rng": torch.get_rng_state(),
                    "augment": augment_spec,
                },
                fh,
            )

        write_atomic(ckpt_path, write, overwrite=True)

    history = []
    with open(run.run_dir / "log.jsonl", "a") as log:
        t0 = last_ckpt = time.time()
        ema = None
        while step < run.steps:
            for g in opt.param_groups:
                g["lr"] = lr_at(step, run.steps, run.lr)
            x = sampler.batch(run.batch)
            loss = model(x, run.charge_unfunded).mean() / (x[0].numel())
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 50.0)
            opt.step()
            step += 1
            ema = loss.item() if ema is None else 0.98 * ema + 0.02 * loss.item()
            if step % 10 == 0 or step == run.steps:
                say(
                    f"\r{run.run_dir.name} {bar(step, run.steps, 24)} steps, train bpsp {ema:.4f} "
                    f"lr {lr_at(step, run.steps, run.lr):.1e}"
                )
            if time.time() - last_ckpt > run.checkpoint_minutes * 60 or step == run.steps:
                dev_bpsp = evaluate(model, dev_crops) if dev_crops is not None else math.nan
                save()
                last_ckpt = time.time()
                rec = {
                    "step": step,
                    "train_bpsp": ema,
                    "dev_bpsp": dev_bpsp,
                    "elapsed_s": round(time.time() - t0, 1),
                }
                if run.charge_unfunded and dev_crops is not None:
                    rec["dev_bpsp_charged"] = evaluate(model, dev_crops, charge_unfunded=True)
                history.append(rec)
                log.write(json.dumps(rec) + "\n")
                log.flush()
                say(f"\n{json.dumps(rec)}\n")
    return model, history


@dataclass(frozen=True)
class TrainOptions:
    """What :func:`train` does; the defaults fine-tune nothing and train both flows anew."""

    data: Path | str
    out: Path | str  # the model file (.npz) to write
    dev: Path | str | None = None
    init: str | None = None  # "default", a shipped model's name, or a .npz model file
    steps: int = 4000  # RGB flow
    gray_steps: int | None = None  # grayscale flow; default steps // 4
    hidden: int = 64
    gray_hidden: int = 32
    checkerboard: bool = False  # two-pass priors (a plain --init model is warm-started into them)
    # levels from this one up get scale layers (iFlow's MST, coded with bits-back); a plain
    # --init model is warm-started into them with every scale at 1
    scale_from_level: int | None = None
    batch: int = 16
    crop: int = 64
    lr: float | None = None  # default 1e-3 from scratch, 2e-4 when fine-tuning
    seed: int = 0
    threads: int = 2
    checkpoint_minutes: float = 4.0
    run_dir: Path | str | None = None  # default: OUT without .npz, plus ".run"
    eval_images: int = 8  # dev images coded through the real codec at the end
    # training crops: "none" (plain), "default" or a mix such as "clean=1,jpeg=1"
    # (flowzip.train.augment); the shipped models were trained with none
    augment: str = "none"


@dataclass(frozen=True)
class TrainResult:
    model_path: Path
    sha256: str
    dev_model_bpsp: dict[str, float] = field(
        default_factory=dict
    )  # float model, dev crops, per flow
    dev_file_bpsp: float | None = None  # real .fz files, verified round trips
    dev_images: int = 0
    seconds: float = 0.0


def _initial_flows(init: str | None) -> dict[str, dict[str, np.ndarray]] | None:
    if init is None:
        return None
    from ..registry import read_model_file, resolve

    return read_model_file(resolve(init)[1])


def _scale_from_level(init: int | None, wanted: int | None) -> int | None:
    """The scale levels of a model fine-tuned from one with scales from ``init`` on: scale
    layers can be added (they start at 1) but not taken away."""
    if wanted is None:
        return init
    if init is not None and wanted > init:
        raise ValueError(
            f"the --init model has scale layers from level {init}: cannot start them at level {wanted}"
        )
    return wanted


def evaluate_codec(model_path: Path, dev: Path, limit: int) -> tuple[float, int]:
    """File bpsp of up to ``limit`` dev images through the real codec, each round trip verified."""
    from PIL import Image

    import flowzip

    c, d = flowzip.Compressor(model_path), flowzip.Decompressor(models=[model_path])
    bits = subpixels = 0
    files = image_files(dev)[:limit]
    for p in files:
        with Image.open(p) as im:
            a = np.asarray(im.convert("RGB") if im.mode not in ("L", "RGB", "RGBA", "LA") else im)
        data = c.compress(a)
        if not np.array_equal(d.decompress(data), a):
            raise RuntimeError(f"round trip failed on {p}")
        bits += 8 * len(data)
        subpixels += a.size
    return bits / max(1, subpixels), len(files)


def train(options: TrainOptions, say: Callable[[str], None] = lambda s: None) -> TrainResult:
    """Train (or fine-tune) both flows, write the model bundle, check it through the codec."""
    from .bundle import write_bundle

    t0 = time.time()
    out = Path(options.out)
    run_dir = Path(options.run_dir) if options.run_dir else out.with_name(out.stem + ".run")
    augment = AugmentMix.parse(options.augment)  # a bad mix fails before anything is trained
    init = _initial_flows(options.init)
    data_dir, dev_dir = Path(options.data), Path(options.dev) if options.dev else None
    flows, dev_bpsp = {}, {}
    for kind, channels in FLOW_KINDS.items():
        steps = (
            options.steps if kind == "rgb" else (options.gray_steps or max(1, options.steps // 4))
        )
        if init is not None:
            start = FloatFlow.from_integer(init[kind])
            scales = _scale_from_level(start.config.scale_from_level, options.scale_from_level)
            config = replace(
                start.config,
                checkerboard=start.config.checkerboard or options.checkerboard,
                scale_from_level=scales,
            )
            state = start.state_dict()
        else:
            hidden = options.hidden if kind == "rgb" else options.gray_hidden
            config = FlowConfig(
                channels,
                hidden=hidden,
                checkerboard=options.checkerboard,
                scale_from_level=options.scale_from_level,
            )
            state = None
        lr = options.lr or (2e-4 if init is not None else 1e-3)
        run = FlowRun(
            run_dir / kind,
            config,
            steps,
            options.batch,
            options.crop,
            lr,
            options.seed,
            options.threads,
            options.checkpoint_minutes,
            True,
            state,
            augment=augment,
        )
        data = load_folder(data_dir, channels)
        dev = load_folder(dev_dir, channels) if dev_dir else None
        model, history = train_flow(run, data, dev, say)
        flows[kind] = model.export()
        if history and not math.isnan(history[-1]["dev_bpsp"]):
            dev_bpsp[kind] = history[-1]["dev_bpsp"]
    sha = write_bundle(flows, out)
    say(f"wrote {out} (sha256 {sha[:16]}...)\n")
    file_bpsp, n = (None, 0)
    if dev_dir and options.eval_images:
        file_bpsp, n = evaluate_codec(out, dev_dir, options.eval_images)
        say(
            f"dev through the codec: {file_bpsp:.4f} bpsp on {n} images, every round trip verified\n"
        )
    return TrainResult(out, sha, dev_bpsp, file_bpsp, n, round(time.time() - t0, 1))


def stderr_say(text: str) -> None:
    print(text, end="", file=sys.stderr, flush=True)
