#!/usr/bin/env bash
# Reproduce idf-base-v4 (flowzip/weights/idf-base-v4.npz): idf-base-v3's runs
# (scripts/train_idf_base_v3.sh), then 5,000 more steps of its RGB flow from its last
# checkpoint, with fresh crops (seed 1), at lr 5e-4 with a linear decay over the last 1,000,
# on one thread (it was trained beside a bits-back candidate, each on one of the two cores:
# 45.5 minutes), bundled with idf-base-v1's grayscale flow. It is also that candidate's
# control (docs/experiments.md, rows 11 and 12): the same schedule and seed without scales.
# Checkpoints every 4 minutes: rerun the same command to resume.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-../shared/data}
V1=${V1:-runs/idf-base-v1}
V2=${V2:-runs/idf-base-v2}
V3=${V3:-runs/idf-base-v3}
OUT=${OUT:-runs/idf-base-v4}
V1="$V1" V2="$V2" OUT="$V3" bash scripts/train_idf_base_v3.sh
mkdir -p "$OUT"
python -m flowzip.train --data "$DATA/train" --dev "$DATA/dev" --out "$OUT/rgb" \
    --channels 3 --hidden 64 --steps 5000 --lr 5e-4 --seed 1 --threads 1 \
    --init "$V3/rgb/checkpoint.pt" --resume --export "$OUT/rgb.npz"
python -m flowzip.train.bundle "$OUT/rgb.npz" "$V1/gray.npz" -o "$OUT/idf-base-v4.npz"
