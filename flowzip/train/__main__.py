"""Train one flow on a folder of images and export the integer flow the codec runs (the
building block of ``flowzip train``, which trains both flows and bundles them).

    python -m flowzip.train --data ../shared/data/train --dev ../shared/data/dev \
        --out runs/rgb --channels 3 --steps 20000

Progress (loss, dev bpsp) goes to stderr; a checkpoint is written every few minutes and
``--resume`` continues from it; ``--export FILE`` writes the integer weights at the end.
``--augment default`` (or a mix such as ``clean=1,jpeg=2``) draws the crops through
:mod:`flowzip.train.augment` (chroma subsampling, JPEG, resampling, noise); the default,
``none``, draws plain crops, as every shipped model was trained.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from ..architecture import FlowConfig
from .augment import AugmentMix
from .run import FlowRun, load_folder, stderr_say, train_flow


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m flowzip.train", description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--dev", type=Path)
    ap.add_argument("--out", type=Path, required=True, help="run folder (checkpoint, log)")
    ap.add_argument("--channels", type=int, choices=(1, 3), default=3)
    ap.add_argument("--levels", type=int, default=3)
    ap.add_argument("--couplings", type=int, default=4)
    ap.add_argument("--hidden", type=int, default=64)
    ap.add_argument("--checkerboard", action="store_true", help="two-pass (checkerboard) priors")
    ap.add_argument(
        "--scale-from-level",
        type=int,
        metavar="N",
        help="scale layers (iFlow's MST, bits-back) in levels N and up; an --init run without "
        "them starts with every scale at 1",
    )
    ap.add_argument(
        "--charge-unfunded",
        action="store_true",
        help="train on what a tile pays: scale pops beyond the bits pushed before them in the "
        "same crop cost about what the codec's seed chunks cost",
    )
    ap.add_argument(
        "--augment",
        default="none",
        metavar="MIX",
        help="training crops: none (plain, the default: how the shipped models were trained), "
        "default, or a mix such as clean=1,chroma=1,jpeg=1,resample=0.3,noise=0.2 "
        "(see flowzip.train.augment)",
    )
    ap.add_argument("--steps", type=int, default=20000)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--crop", type=int, default=64)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--checkpoint-minutes", type=float, default=4.0)
    ap.add_argument("--resume", action="store_true")
    ap.add_argument(
        "--init",
        type=Path,
        help="start from the weights of another run's checkpoint.pt (fine-tuning; "
        "the step count and learning-rate schedule start afresh)",
    )
    ap.add_argument("--export", type=Path, help="write the integer model (.npz) when done")
    args = ap.parse_args(argv)
    try:
        augment = AugmentMix.parse(args.augment)
    except ValueError as e:
        ap.error(str(e))

    config = FlowConfig(
        args.channels,
        args.levels,
        args.couplings,
        args.hidden,
        checkerboard=args.checkerboard,
        scale_from_level=args.scale_from_level,
    )
    state = None
    if args.init:
        init = torch.load(args.init, weights_only=False)
        # the same architecture, or one that load_warm widens: without second passes and/or scales
        warm_from = {
            replace(config, checkerboard=cb, scale_from_level=sl)
            for cb in {config.checkerboard, False}
            for sl in {config.scale_from_level, None}
        }
        if FlowConfig.from_json(init["config"]) not in warm_from:
            raise SystemExit(
                f"--init {args.init}: its architecture {init['config']} differs from {config.to_json()}"
            )
        state = init["model"]
        stderr_say(f"initialised from {args.init} (trained {init['step']} steps)\n")
    run = FlowRun(
        args.out,
        config,
        args.steps,
        args.batch,
        args.crop,
        args.lr,
        args.seed,
        args.threads,
        args.checkpoint_minutes,
        args.resume,
        state,
        args.charge_unfunded,
        augment,
    )
    dev = load_folder(args.dev, args.channels) if args.dev else None
    model, _ = train_flow(run, load_folder(args.data, args.channels), dev, stderr_say)
    if args.export:
        np.savez_compressed(args.export, **model.export())  # type: ignore[arg-type]  # numpy types **kwds as allow_pickle
        stderr_say(f"exported {args.export}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
