#!/usr/bin/env bash
# Reproduce the shipped default model idf-base-v2 (flowzip/weights/idf-base-v2.npz):
# idf-base-v1's runs (scripts/train_idf_base_v1.sh, about 70 minutes), then 5,000 more steps
# of its RGB flow from its last checkpoint at lr 5e-4 with a linear decay over the last 1,000
# (about 21 minutes on a 2-core machine with nothing else running), bundled with
# idf-base-v1's grayscale flow. Checkpoints every 4 minutes: rerun the same command to resume.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-../shared/data}
BASE=${BASE:-runs/idf-base-v1}
OUT=${OUT:-runs/idf-base-v2}
OUT="$BASE" bash scripts/train_idf_base_v1.sh
mkdir -p "$OUT"
python -m flowzip.train --data "$DATA/train" --dev "$DATA/dev" --out "$OUT/rgb" \
    --channels 3 --hidden 64 --steps 5000 --lr 5e-4 --threads 2 \
    --init "$BASE/rgb/checkpoint.pt" --resume --export "$OUT/rgb.npz"
python -m flowzip.train.bundle "$OUT/rgb.npz" "$BASE/gray.npz" -o "$OUT/idf-base-v2.npz"
