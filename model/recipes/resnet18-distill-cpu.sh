#!/usr/bin/env bash
# The mission's ResNet-18 by patient distillation on a CPU (issue "The mission's ResNet-18"):
# a student from random weights learns the teachers' soft predictions on the very same
# augmented view (inception crop + flip), mixup on every batch, KL only (distill weight 1),
# AdamW, cosine with warm-up, EMA of the weights; Freiburg training photos plus the unlabelled
# GroceryStore train and val photos as the pool (never any test photo). 112 px for most
# epochs, the last 10 at 224 px, the app's size. Days of a 2-core CPU: every session starts it
# again in the background and it resumes from its checkpoint (every epoch, in the user data
# folder, never in git); a lent GPU finishes it (scripts/device/run.sh).
#
# usage: model/recipes/resnet18-distill-cpu.sh [OUT_DIR]       (resumes when OUT_DIR has a run)
# env:   PY, TEACHERS (space-separated checkpoints; default: the bundled Lite0, the strongest
#        model we have: a fully fine-tuned Lite0 reached only 84.7% on validation), EPOCHS (200)
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PY:-.venv/bin/python}
DATA_HOME=${XDG_DATA_HOME:-$HOME/.local/share}/grocery-assistant
OUT=${1:-$DATA_HOME/runs/resnet18-distill}
mkdir -p "$OUT"
teachers=()
for t in ${TEACHERS:-model/bundled/efficientnet-lite0-freiburg.safetensors}; do
    [ -f "$t" ] && teachers+=(--teacher "$t")
done
[ ${#teachers[@]} -gt 0 ] || { echo "no teacher checkpoint found" >&2; exit 1; }
exec $PY main.py train --data ../shared/data/freiburg/images --split-file model/splits/freiburg-fold0.csv \
    --names model/splits/freiburg-names.csv --device auto --seed 0 --preset distill --arch resnet18 \
    --scratch "${teachers[@]}" --unlabeled ../shared/data/grocerystore/train \
    --unlabeled ../shared/data/grocerystore/val --distill-weight 1.0 --temperature 1.0 \
    --image-size 224 --train-size 112 --full-size-epochs 10 --epochs "${EPOCHS:-200}" \
    --batch-size 128 --lr 2e-3 --ema 0.998 --select val_acc --resume \
    --out "$OUT/resnet18-freiburg.safetensors"
