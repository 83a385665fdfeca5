"""Choose the augmentation mix by measurement: per-crop statistics of augmented training
crops against those of dev and its real-world variants (issue 13).

    python bench/augment_mix.py [--train DIR] [--sets DIR...] [--crops N] [--seed S] [--try MIX]...
    python bench/augment_mix.py --speed [--threads N]   # crops/s of each kind against a training step

Three statistics of a 64x64 crop (the training crop size), on JFIF Y'CbCr:

- ``chroma``: chroma detail / luma detail, the mean RMS of Cb and Cr after subtracting
  their 2x2 block means over the same for Y (what ../shared/notes/measurements-2026-12.md
  found the flow's loss to JPEG-XL tracks); low after 4:2:0, 4:2:2 or a 4:2:0 JPEG;
- ``blocks``: 8x8 blockiness, the mean |difference| of Y across the crop's 8-pixel
  boundaries over that at the offsets 2, 4 and 6 (rows and columns averaged); about 1 without
  a JPEG grid at the tile's phase, higher on a JPEG cut on its block grid;
- ``fine``: luma detail at 1 pixel over that at 2, RMS(Y - 2x2 means) / RMS(2x2 means -
  4x4 means); low on an upscaled image.

Crops of the measured sets are cut at multiples of 16 (the phase a 512x512 tile of the image
has), images drawn in proportion to their area; augmented crops are drawn from ``--train``
with one kind at a time (:func:`flowzip.train.augment.augmented_crop`). The mix is the point
of the simplex whose mixture of the kinds' histograms (log10 of each statistic, 24 bins
each) is nearest, in squared error, to the mean of the sets' histograms: dev and its
variants weigh alike, since the codec is judged on every one. Noise is left out of the fit
(these statistics barely tell it from clean crops); its share is a choice. The script prints each set's
and kind's medians, the fitted mix, and the total-variation distance of each statistic
for a few mixes. Measuring on dev is allowed; training on it (or on its variants) never.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from flowzip.train.augment import DEFAULT_SPEC, KINDS, AugmentMix, augmented_crop, rgb_to_ycbcr  # noqa: E402
from flowzip.train.run import load_folder  # noqa: E402

DATA = REPO.parent / "shared" / "data"
SETS = [
    DATA / "dev",
    *(REPO.parent / "bench-sets" / s for s in ("dev-420", "dev-jpeg90", "dev-jpeg95", "dev-up2")),
]
CROP = 64
STATS = ("chroma", "blocks", "fine")
BINS = {
    "chroma": np.linspace(-2.5, 0.5, 25),
    "blocks": np.linspace(-0.3, 0.9, 25),
    "fine": np.linspace(-0.8, 0.6, 25),
}
EPS = 1e-3
# held in the last fit: clean crops, the kind on which the flow is nearest JPEG-XL and which
# the short augmented probe made 0.77% worse (measurements-2026-12.md), and noise, which
# these statistics cannot see
CLEAN_FLOOR, NOISE_SHARE = 0.15, 0.05


def _block_detail(plane: np.ndarray, k: int) -> np.ndarray:
    """``plane`` minus its k x k block means (sides a multiple of k)."""
    h, w = plane.shape[:2]
    means = plane.reshape(h // k, k, w // k, k, *plane.shape[2:]).mean(axis=(1, 3))
    return plane - np.repeat(np.repeat(means, k, axis=0), k, axis=1)


def _rms(x: np.ndarray, axis=None) -> np.ndarray:
    return np.sqrt(np.mean(x * x, axis=axis))


def crop_statistics(rgb: np.ndarray) -> dict[str, float]:
    """The three statistics of an RGB crop (H, W, 3) uint8, sides a multiple of 8.

    >>> flat = np.zeros((64, 64, 3), np.uint8); flat[:, 32:] = 200   # one edge, on the grid
    >>> s = crop_statistics(flat); round(s["blocks"], 1) > 1
    True
    """
    ycc = rgb_to_ycbcr(rgb)
    detail = _rms(_block_detail(ycc, 2), axis=(0, 1))
    y = ycc[..., 0]
    dx, dy = np.abs(np.diff(y, axis=1)), np.abs(np.diff(y, axis=0))
    # the difference between pixels 8k - 1 and 8k against those at the other even offsets
    # (2, 4, 6): odd offsets would also catch a 2x upscale's or 4:2:0's 2-pixel period
    offset = np.arange(1, y.shape[1]) % 8
    on, off = offset == 0, (offset % 2 == 0) & (offset != 0)
    blocks = 0.5 * (
        (dx[:, on].mean() + EPS) / (dx[:, off].mean() + EPS)
        + (dy[on].mean() + EPS) / (dy[off].mean() + EPS)
    )
    fine = (_rms(_block_detail(y, 2)) + EPS) / (
        _rms(_block_detail(y, 4) - _block_detail(y, 2)) + EPS
    )
    return {
        "chroma": float((detail[1] + detail[2]) / 2 / (detail[0] + EPS)),
        "blocks": float(blocks),
        "fine": float(fine),
    }


def set_crops(images: list[np.ndarray], n: int, rng: np.random.Generator) -> list[np.ndarray]:
    """``n`` crops on the 16-pixel grid, images drawn in proportion to their area."""
    images = [im for im in images if min(im.shape[:2]) >= CROP]
    area = np.array([im.shape[0] * im.shape[1] for im in images], dtype=np.float64)
    out = []
    for k in rng.choice(len(images), size=n, p=area / area.sum()):
        h, w = images[k].shape[:2]
        y, x = (
            16 * rng.integers(0, (h - CROP) // 16 + 1),
            16 * rng.integers(0, (w - CROP) // 16 + 1),
        )
        out.append(images[k][y : y + CROP, x : x + CROP])
    return out


def _mix(spec: str) -> AugmentMix:
    """A mix of kinds (never ``none``: every mix compared here augments)."""
    mix = AugmentMix.parse(spec)
    if mix is None:
        raise ValueError(f"{spec!r} is no augmentation to compare")
    return mix


def kind_crops(
    images: list[np.ndarray], kind: str, n: int, rng: np.random.Generator
) -> list[np.ndarray]:
    mix = _mix(f"{kind}=1")
    area = np.array([im.shape[0] * im.shape[1] for im in images], dtype=np.float64)
    return [
        augmented_crop(images[k], CROP, mix, rng)
        for k in rng.choice(len(images), size=n, p=area / area.sum())
    ]


def histograms(crops: Sequence[np.ndarray]) -> np.ndarray:
    """The normalised histograms of log10 of each statistic, concatenated (3 x 24)."""
    stats = [crop_statistics(c) for c in crops]
    parts = []
    for name in STATS:
        v = np.clip(
            np.log10(np.maximum([s[name] for s in stats], 1e-9)),
            BINS[name][0],
            BINS[name][-1] - 1e-9,
        )
        parts.append(np.histogram(v, BINS[name])[0] / len(v))
    return np.concatenate(parts)


def medians(crops: Sequence[np.ndarray]) -> dict[str, float]:
    stats = [crop_statistics(c) for c in crops]
    return {name: float(np.median([s[name] for s in stats])) for name in STATS}


def project_to_simplex(v: np.ndarray) -> np.ndarray:
    """The nearest point with non-negative coordinates summing to 1 (Euclidean).

    >>> project_to_simplex(np.array([2.0, 0.0])).tolist()
    [1.0, 0.0]
    """
    u = np.sort(v)[::-1]
    css = np.cumsum(u) - 1
    rho = np.nonzero(u - css / np.arange(1, len(v) + 1) > 0)[0][-1]
    return np.maximum(v - css[rho] / (rho + 1), 0)


def fit_mix(
    columns: np.ndarray,
    target: np.ndarray,
    fixed: dict[int, float] | None = None,
    iterations: int = 20000,
) -> np.ndarray:
    """Weights on the simplex minimising ``|columns @ w - target|^2`` (projected gradient),
    the columns in ``fixed`` held at the given shares.

        >>> a = np.eye(3)
        >>> np.round(fit_mix(a, np.array([0.2, 0.3, 0.5])), 3).tolist()
        [0.2, 0.3, 0.5]
        >>> np.round(fit_mix(a, np.array([0.2, 0.3, 0.5]), fixed={0: 0.4}), 3).tolist()
        [0.4, 0.2, 0.4]
    """
    fixed = fixed or {}
    free = [i for i in range(columns.shape[1]) if i not in fixed]
    base = sum((columns[:, i] * s for i, s in fixed.items()), np.zeros_like(target))
    mass = 1 - sum(fixed.values())
    a = columns[:, free] * mass
    v = np.full(len(free), 1 / len(free))
    step = 1 / max(1e-12, float(np.linalg.norm(a, 2)) ** 2)
    for _ in range(iterations):
        v = project_to_simplex(v - step * a.T @ (a @ v + base - target))
    w = np.zeros(columns.shape[1])
    w[free] = v * mass
    for i, s in fixed.items():
        w[i] = s
    return w


def distances(hist: np.ndarray, target: np.ndarray) -> dict[str, float]:
    """Total-variation distance per statistic (0 equal, 1 disjoint)."""
    n = len(BINS[STATS[0]]) - 1
    return {
        name: float(0.5 * np.abs(hist[i * n : (i + 1) * n] - target[i * n : (i + 1) * n]).sum())
        for i, name in enumerate(STATS)
    }


def speed(
    train: list[np.ndarray], say: Callable[[str], None], threads: int = 1, rounds: int = 12
) -> None:
    """Milliseconds per batch of 16 64x64 crops of each kind and of the default mix (through
    CropSampler), against one training step of the default model's size: medians over
    interleaved rounds, so that a busy machine slows all of them alike."""
    import time

    import torch

    from flowzip.model import FlowConfig
    from flowzip.train.model import FloatFlow
    from flowzip.train.run import CropSampler

    torch.set_num_threads(threads)
    model = FloatFlow(FlowConfig(3, hidden=64))
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    samplers = {
        name: CropSampler(train, CROP, seed=0, augment=AugmentMix.parse(name))
        for name in ["none", *(f"{k}=1" for k in KINDS), "default"]
    }
    times: dict[str, list[float]] = {name: [] for name in [*samplers, "training step"]}
    for _ in range(rounds):
        for name, sampler in samplers.items():
            t0 = time.perf_counter()
            x = sampler.batch(16)
            times[name].append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        loss = model(x).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        times["training step"].append(time.perf_counter() - t0)
    for name, t in times.items():
        ms = 1000 * float(np.median(t))
        say(
            f"{name:14} {ms:7.1f} ms"
            + ("" if name == "training step" else f"  {16000 / ms:7.0f} crops/s")
        )


def main(argv: Sequence[str] | None = None, say: Callable[[str], None] = print) -> int:
    ap = argparse.ArgumentParser(
        prog="python bench/augment_mix.py", description=__doc__.split("\n\n")[0]
    )
    ap.add_argument(
        "--train", type=Path, default=DATA / "train", help="images the augmented crops come from"
    )
    ap.add_argument(
        "--sets",
        type=Path,
        nargs="+",
        default=SETS,
        help="the sets to match (dev and its variants)",
    )
    ap.add_argument("--crops", type=int, default=600, help="crops per set and per kind")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--try",
        dest="tries",
        action="append",
        default=[],
        metavar="MIX",
        help="another mix to compare (clean=1,jpeg=1,...; repeatable)",
    )
    ap.add_argument("--speed", action="store_true", help="only time the crops and a training step")
    ap.add_argument(
        "--threads", type=int, default=1, help="torch threads of the timed training step (--speed)"
    )
    args = ap.parse_args(argv)
    if args.speed:
        speed(load_folder(args.train, 3), say, args.threads)
        return 0
    for folder in [args.train, *args.sets]:
        if not folder.is_dir():
            say(f"augment_mix: {folder}: not a folder (bench/variants.py builds the variant sets)")
            return 1
    rng = np.random.default_rng(args.seed)
    say(f"{'':14} " + " ".join(f"{s:>7}" for s in STATS) + "   (medians of 64x64 crops)")
    set_hists = []
    for folder in args.sets:
        crops = set_crops(load_folder(folder, 3), args.crops, rng)
        set_hists.append(histograms(crops))
        say(f"{folder.name:14} " + " ".join(f"{v:7.3f}" for v in medians(crops).values()))
    train = load_folder(args.train, 3)
    columns = []
    for kind in KINDS:
        crops = kind_crops(train, kind, args.crops, rng)
        columns.append(histograms(crops))
        say(f"train {kind:8} " + " ".join(f"{v:7.3f}" for v in medians(crops).values()))
    columns_m, target = np.stack(columns, axis=1), np.mean(set_hists, axis=0)
    # noise moves these statistics too little to be told from clean crops (the fit trades
    # one for the other freely), so it is fitted without noise, whose share is then a choice
    noise = KINDS.index("noise")
    fitted = {
        "all sets": fit_mix(columns_m, target, {noise: 0.0}),
        "dev only": fit_mix(columns_m, set_hists[0], {noise: 0.0}),
        "all sets, noise free too": fit_mix(columns_m, target),
        f"all sets, clean {CLEAN_FLOOR} and noise {NOISE_SHARE} held": fit_mix(
            columns_m, target, {KINDS.index("clean"): CLEAN_FLOOR, noise: NOISE_SHARE}
        ),
    }
    for i, (name, w) in enumerate(fitted.items()):
        say(
            f"fit {i + 1} ({name}): "
            + ",".join(f"{k}={v:.3f}" for k, v in zip(KINDS, w, strict=True))
        )
    mixes = {
        "clean only": "clean=1",
        "issue probe": "clean=0.3,chroma=0.4,jpeg=0.3",
        "uniform": ",".join(f"{k}=1" for k in KINDS),
        "default": DEFAULT_SPEC,
        **{
            f"fit {i + 1}": ",".join(f"{k}={w}" for k, w in zip(KINDS, ws, strict=True))
            for i, ws in enumerate(fitted.values())
        },
    }
    mixes.update({f"try {i + 1}": spec for i, spec in enumerate(args.tries)})
    say("total variation to the sets' mean histogram: " + " ".join(STATS))
    for name, spec in mixes.items():
        shares = _mix(spec).shares(3)
        d = distances(columns_m @ shares, target)
        say(f"  {name:12} " + " ".join(f"{v:.3f}" for v in d.values()) + f"   {_mix(spec).spec()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
