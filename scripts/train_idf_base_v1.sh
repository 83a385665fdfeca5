#!/usr/bin/env bash
# Reproduce the shipped default model idf-base-v1 (flowzip/weights/idf-base-v1.npz).
# About 70 minutes on a 2-core machine with nothing else running (RGB flow ~60 min,
# grayscale flow ~10 min). Checkpoints every 4 minutes: rerun the same command to resume.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-../shared/data}
OUT=${OUT:-runs/idf-base-v1}
mkdir -p "$OUT"
python -m flowzip.train --data "$DATA/train" --dev "$DATA/dev" --out "$OUT/rgb" \
    --channels 3 --hidden 64 --steps 12000 --threads 2 --resume --export "$OUT/rgb.npz"
python -m flowzip.train --data "$DATA/train" --dev "$DATA/dev" --out "$OUT/gray" \
    --channels 1 --hidden 32 --steps 3400 --threads 2 --resume --export "$OUT/gray.npz"
python -m flowzip.train.bundle "$OUT/rgb.npz" "$OUT/gray.npz" -o "$OUT/idf-base-v1.npz"
