#!/usr/bin/env bash
# Device side (run from the repo root with .gpu carried; $OUT collects what comes back):
# installs the two wheels, runs a recipe, and packs the checkpoints (split in 15 MB parts: a
# returned file may not exceed 16 MiB; join them with cat).
#   RECIPE=freiburg (default): model/recipes/freiburg.sh, teachers and student from scratch.
#   RECIPE=resnet18-distill: model/recipes/resnet18-distill-cpu.sh on the GPU, from the bundled
#     ResNet-18 with the bundled Lite2 as teacher (cached views; MINUTES, EPOCHS, VIEWS apply).
# Without a GPU (a tiny CPU trial: tests/model/test_device_script.py) it runs the same way.
# Measured on an H200 (2026-11-28): a Lite teacher epoch ~1.5 s, a student epoch (two teachers)
# ~0.6 s after a ~10 s first epoch; photo decoding ~20 s once.
set -uo pipefail
OUT=${OUT:?OUT must name the folder that comes back}
if ls .gpu/whl/*.whl >/dev/null 2>&1; then
    python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .gpu/whl/*.whl \
        && export PYTHONPATH=/tmp/site
fi
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader 2>/dev/null || echo "no NVIDIA GPU: CPU run"
export GROCERY_ASSISTANT_HOME=${GROCERY_ASSISTANT_HOME:-/tmp/gah} PYTHONUNBUFFERED=1 PY=${PY:-python3}
export LITE0=.gpu/lite0-imagenet-fp16.safetensors LITE2=.gpu/lite2-imagenet-fp16.safetensors
export TEACHER_MIN=${TEACHER_MIN:-1.6} STUDENT_MIN=${STUDENT_MIN:-3.6}
RUN=${RUN_DIR:-/tmp/run}
start=$(date +%s)
case "${RECIPE:-freiburg}" in
    freiburg) bash model/recipes/freiburg.sh .gpu/freiburg/images "$RUN" 2>&1 | tee "$OUT/log.txt" ;;
    resnet18-distill) SHARED_DATA=${SHARED_DATA:-.gpu} bash model/recipes/resnet18-distill-cpu.sh "$RUN" 2>&1 \
                          | tee "$OUT/log.txt" ;;
    *) echo "unknown RECIPE ${RECIPE}" >&2; exit 2 ;;
esac
status=${PIPESTATUS[0]}
echo "recipe wall time: $(( $(date +%s) - start )) s (exit $status)" | tee -a "$OUT/log.txt"
cd "$RUN" && tar czf "$OUT/reports.tgz" ./*.report 2>/dev/null
for f in teacher-lite2 teacher-lite0; do [ -f $f.safetensors ] && cp $f.safetensors "$OUT/"; done
[ -f resnet18-freiburg.safetensors ] && split -b 15M resnet18-freiburg.safetensors "$OUT/student.part."
ls -la "$OUT"
exit "$status"
