#!/usr/bin/env bash
# The mission's ResNet-18 by patient distillation on a CPU, session by session (issue "The
# mission's ResNet-18"): the student learns the teacher's soft answers (KL only, mixup on every
# batch, AdamW, cosine with warm-up, EMA of the weights) on the Freiburg training photos of
# fold-0's split plus the unlabelled GroceryStore train and val photos (never a test photo).
#
# The teacher is asked once: --cached-views K seeded augmented views of every photo, its answers
# kept in the user data folder (model/teacher_cache.py); the student's loop renders the same
# views again from their seeds, so an epoch costs the student's step alone. 112 px for most
# epochs, the last ones at 160 px, the size the bundled ResNet-18 is used at.
#
# Each session starts it again in the background: it resumes an interrupted run of OUT_DIR, or,
# when the user data folder is gone, starts from the bundled ResNet-18 (a warm restart of the
# schedule); MINUTES bounds the run (the cosine schedule is fitted inside it). When the student
# is better on fold 0 than the bundled one, `--bundle` copies it into model/bundled/ (its
# metadata carries the epochs and CPU hours of every session before it).
#
# usage: model/recipes/resnet18-distill-cpu.sh [--bundle] [OUT_DIR]
# env:   PY, TEACHERS (space-separated checkpoints; default: the bundled EfficientNet-Lite2, mirror
#        averaging included), VIEWS (2), MINUTES (95), EPOCHS (60, the schedule's upper bound),
#        LR (1e-3), DEVICE (auto), SHARED_DATA (../shared/data), SPLIT and NAMES (fold 0's),
#        INIT (the first start: the bundled ResNet-18)
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PY:-.venv/bin/python}
BUNDLE=0
if [ "${1:-}" = "--bundle" ]; then BUNDLE=1; shift; fi
DATA_HOME=${GROCERY_ASSISTANT_HOME:+$GROCERY_ASSISTANT_HOME/data}
DATA_HOME=${DATA_HOME:-${XDG_DATA_HOME:-$HOME/.local/share}/grocery-assistant}
OUT=${1:-$DATA_HOME/runs/resnet18-distill}
BUNDLED=model/bundled/resnet18-freiburg.safetensors
STUDENT=$OUT/resnet18-freiburg.safetensors
SHARED=${SHARED_DATA:-../shared/data}

if [ "$BUNDLE" = 1 ]; then
    exec $PY -m model.bundle_student "$STUDENT" "$BUNDLED"
fi
mkdir -p "$OUT"
teachers=()
for t in ${TEACHERS:-model/bundled/efficientnet-lite2-freiburg.safetensors}; do
    [ -f "$t" ] && teachers+=(--teacher "$t")
done
[ ${#teachers[@]} -gt 0 ] || { echo "no teacher checkpoint found" >&2; exit 1; }
# the unlabelled photos where they are (a lent GPU machine may carry Freiburg alone)
extra=()
for d in "$SHARED/grocerystore/train" "$SHARED/grocerystore/val"; do
    [ -d "$d" ] && extra+=(--unlabeled "$d")
done
# a finished run of an earlier session is the next start; else the bundled student (an
# interrupted run resumes from its own state whatever --init says)
init=(--init "${INIT:-$BUNDLED}")
if [ -f "$STUDENT" ]; then init=(--init "$STUDENT"); fi
exec $PY main.py train --data "$SHARED/freiburg/images" --split-file "${SPLIT:-model/splits/freiburg-fold0.csv}" \
    --names "${NAMES:-model/splits/freiburg-names.csv}" --device "${DEVICE:-auto}" --seed 0 --preset distill \
    --arch resnet18 --scratch "${init[@]}" "${teachers[@]}" --cached-views "${VIEWS:-2}" \
    "${extra[@]}" \
    --distill-weight 1.0 --temperature 1.0 --image-size 160 --train-size 112 --full-size-epochs 2 \
    --epochs "${EPOCHS:-60}" --warmup-epochs 1 --batch-size 128 --lr "${LR:-1e-3}" --ema 0.995 \
    --select val_acc --max-minutes "${MINUTES:-95}" --resume --out "$STUDENT"
