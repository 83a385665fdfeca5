#!/usr/bin/env bash
# Reproduce the bits-back model idf-bb-v5 (flowzip/weights/idf-bb-v5.npz): idf-bb-v4's runs
# (scripts/train_idf_bb_v4.sh), then 5,000 more steps of its RGB flow from its last
# checkpoint, again charging what a tile pays (--charge-unfunded), with fresh crops
# (seed 3), at lr 5e-4 with a linear decay over the last 1,000, on one thread (38.8 minutes
# beside the machine's other work; docs/experiments.md row 18), bundled with idf-base-v1's
# grayscale flow. Checkpoints every 4 minutes: rerun the same command to resume.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-../shared/data}
V1=${V1:-runs/idf-base-v1}
BB1=${BB1:-runs/idf-bb-v1}
BB4=${BB4:-runs/idf-bb-v4}
OUT=${OUT:-runs/idf-bb-v5}
V1="$V1" BB1="$BB1" OUT="$BB4" bash scripts/train_idf_bb_v4.sh
mkdir -p "$OUT"
python -m flowzip.train --data "$DATA/train" --dev "$DATA/dev" --out "$OUT/rgb" \
    --channels 3 --hidden 64 --steps 5000 --lr 5e-4 --seed 3 --threads 1 \
    --init "$BB4/bb-v4/rgb/checkpoint.pt" --scale-from-level 1 --charge-unfunded --resume --export "$OUT/rgb.npz"
python -m flowzip.train.bundle "$OUT/rgb.npz" "$V1/gray.npz" -o "$OUT/idf-bb-v5.npz"
