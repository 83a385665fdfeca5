#!/usr/bin/env bash
# Reproduce the bits-back model idf-bb-v2 (flowzip/weights/idf-bb-v2.npz): idf-bb-v1's runs
# (scripts/train_idf_bb_v1.sh), then 5,000 more steps of its RGB flow (scale layers in
# levels 1 and 2) from its last checkpoint, with fresh crops (seed 1), at lr 5e-4 with a
# linear decay over the last 1,000, on one thread (trained beside idf-base-v4, its control,
# each on one of the two cores: 49.1 minutes), bundled with idf-base-v1's grayscale
# flow. Checkpoints every 4 minutes: rerun the same command to resume.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-../shared/data}
V1=${V1:-runs/idf-base-v1}
V2=${V2:-runs/idf-base-v2}
BB1=${BB1:-runs/idf-bb-v1}
OUT=${OUT:-runs/idf-bb-v2}
V1="$V1" V2="$V2" OUT="$BB1" bash scripts/train_idf_bb_v1.sh
mkdir -p "$OUT"
python -m flowzip.train --data "$DATA/train" --dev "$DATA/dev" --out "$OUT/rgb" \
    --channels 3 --hidden 64 --steps 5000 --lr 5e-4 --seed 1 --threads 1 \
    --init "$BB1/rgb/checkpoint.pt" --scale-from-level 1 --resume --export "$OUT/rgb.npz"
python -m flowzip.train.bundle "$OUT/rgb.npz" "$V1/gray.npz" -o "$OUT/idf-bb-v2.npz"
