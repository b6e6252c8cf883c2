#!/usr/bin/env bash
# Device side (run from the repo root with .gpu carried; $OUT collects what comes back):
# installs the two wheels, runs the recipe, and packs the checkpoints (the ResNet-18 split in
# 15 MB parts: a returned file may not exceed 16 MiB; join them with cat).
# Measured on an H200 (2026-11-28): a Lite teacher epoch ~1.5 s, a student epoch (two teachers)
# ~0.6 s after a ~10 s first epoch; photo decoding ~20 s once.
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .gpu/whl/*.whl \
    && export PYTHONPATH=/tmp/site
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
export GROCERY_ASSISTANT_HOME=/tmp/gah PYTHONUNBUFFERED=1 PY=python3
export LITE0=.gpu/lite0-imagenet-fp16.safetensors LITE2=.gpu/lite2-imagenet-fp16.safetensors
export TEACHER_MIN=${TEACHER_MIN:-1.6} STUDENT_MIN=${STUDENT_MIN:-3.6}
start=$(date +%s)
bash model/recipes/freiburg.sh .gpu/freiburg/images /tmp/run 2>&1 | tee "$OUT/log.txt"
echo "recipe wall time: $(( $(date +%s) - start )) s" | tee -a "$OUT/log.txt"
cd /tmp/run && tar czf "$OUT/reports.tgz" ./*.report 2>/dev/null
for f in teacher-lite2 teacher-lite0; do [ -f $f.safetensors ] && cp $f.safetensors "$OUT/"; done
[ -f resnet18-freiburg.safetensors ] && split -b 15M resnet18-freiburg.safetensors "$OUT/student.part."
ls -la "$OUT"
