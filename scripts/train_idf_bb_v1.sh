#!/usr/bin/env bash
# Reproduce the bits-back model idf-bb-v1 (flowzip/weights/idf-bb-v1.npz): idf-base-v2's runs
# (scripts/train_idf_base_v2.sh, about 95 minutes), then its RGB flow warm-started into a
# flow with scale layers (affine couplings and 1x1 diagonals, iFlow's MST, coded with
# bits-back) in levels 1 and 2, every scale starting at exactly 1, and trained 5,000 steps
# at lr 5e-4 with a linear decay over the last 1,000 (about 30 minutes on a 2-core machine
# with nothing else running); bundled with idf-base-v1's grayscale flow. Checkpoints every
# 4 minutes: rerun the same command to resume.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-../shared/data}
V1=${V1:-runs/idf-base-v1}
V2=${V2:-runs/idf-base-v2}
OUT=${OUT:-runs/idf-bb-v1}
BASE="$V1" OUT="$V2" bash scripts/train_idf_base_v2.sh
mkdir -p "$OUT"
python -m flowzip.train --data "$DATA/train" --dev "$DATA/dev" --out "$OUT/rgb" \
    --channels 3 --hidden 64 --steps 5000 --lr 5e-4 --threads 2 \
    --init "$V2/rgb/checkpoint.pt" --scale-from-level 1 --resume --export "$OUT/rgb.npz"
python -m flowzip.train.bundle "$OUT/rgb.npz" "$V1/gray.npz" -o "$OUT/idf-bb-v1.npz"
