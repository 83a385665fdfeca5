#!/usr/bin/env bash
# Reproduce the default model idf-base-v3 (flowzip/weights/idf-base-v3.npz): idf-base-v2's
# runs (scripts/train_idf_base_v2.sh, about 95 minutes), then 5,000 more steps of its RGB flow
# from its last checkpoint at lr 5e-4 with a linear decay over the last 1,000 (about 21
# minutes on a 2-core machine with nothing else running), bundled with idf-base-v1's
# grayscale flow. This is also the control of idf-bb-v1 (scripts/train_idf_bb_v1.sh): the
# same schedule and seed without scale layers. Checkpoints every 4 minutes: rerun to resume.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-../shared/data}
V1=${V1:-runs/idf-base-v1}
V2=${V2:-runs/idf-base-v2}
OUT=${OUT:-runs/idf-base-v3}
BASE="$V1" OUT="$V2" bash scripts/train_idf_base_v2.sh
mkdir -p "$OUT"
python -m flowzip.train --data "$DATA/train" --dev "$DATA/dev" --out "$OUT/rgb" \
    --channels 3 --hidden 64 --steps 5000 --lr 5e-4 --threads 2 \
    --init "$V2/rgb/checkpoint.pt" --resume --export "$OUT/rgb.npz"
python -m flowzip.train.bundle "$OUT/rgb.npz" "$V1/gray.npz" -o "$OUT/idf-base-v3.npz"
