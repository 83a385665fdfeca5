#!/usr/bin/env bash
# Reproduce the bits-back model idf-bb-v4 (flowzip/weights/idf-bb-v4.npz): idf-bb-v1's runs
# (scripts/train_idf_bb_v1.sh), then three continuations of its RGB flow, 5,000 steps each
# at lr 5e-4 with a linear decay over the last 1,000, on one thread (each was trained beside
# another run, one per core: 30-50 minutes each):
#   bb-v2: fresh crops (seed 1)          docs/experiments.md row 12 (a candidate, not shipped)
#   bb-v3: seed 2                        row 14 (a candidate, not shipped)
#   bb-v4: seed 2, --charge-unfunded     row 15: trained on what a tile pays, the scale pops
#          beyond the bits pushed before them in the same crop charged as seed chunks
# and bundled with idf-base-v1's grayscale flow. Checkpoints every 4 minutes: rerun the same
# command to resume.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-../shared/data}
V1=${V1:-runs/idf-base-v1}
BB1=${BB1:-runs/idf-bb-v1}
OUT=${OUT:-runs/idf-bb-v4}
V1="$V1" OUT="$BB1" bash scripts/train_idf_bb_v1.sh
prev="$BB1"
for stage in "bb-v2 1" "bb-v3 2" "bb-v4 2 --charge-unfunded"; do
    set -- $stage
    name=$1 seed=$2
    shift 2
    run="$OUT/$name"
    mkdir -p "$run"
    python -m flowzip.train --data "$DATA/train" --dev "$DATA/dev" --out "$run/rgb" \
        --channels 3 --hidden 64 --steps 5000 --lr 5e-4 --seed "$seed" --threads 1 \
        --init "$prev/rgb/checkpoint.pt" --scale-from-level 1 "$@" --resume --export "$run/rgb.npz"
    prev="$run"
done
python -m flowzip.train.bundle "$prev/rgb.npz" "$V1/gray.npz" -o "$OUT/idf-bb-v4.npz"
