"""scripts/device/run.sh runs the ResNet-18 distillation recipe (what a lent GPU would run) and
packs the student; here on the CPU, on tiny synthetic photos, with tiny teacher and start. And
scripts/device/pack.sh, which prepares that machine's carry, packs a tiny split."""
from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.inference.checkpoint import read_metadata
from tests.helpers import unavailable

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_the_device_script_runs_the_distillation_recipe_on_a_cpu(photo_dir, tmp_path, tiny_checkpoint,
                                                                 trained_checkpoint, isolated_home):
    shared = tmp_path / "shared"
    images = shared / "freiburg" / "images"
    shutil.copytree(photo_dir, images)
    split = tmp_path / "split.csv"
    with split.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["path", "split"])
        for photo in sorted(images.rglob("*.jpg")):
            i = int(photo.stem)
            w.writerow([f"images/{photo.parent.name}/{photo.name}",
                        "test" if i < 2 else "val" if i < 4 else "train"])
    out, run = tmp_path / "out", tmp_path / "run"
    out.mkdir()
    env = dict(os.environ, RECIPE="resnet18-distill", OUT=str(out), RUN_DIR=str(run),
               PY=sys.executable, SHARED_DATA=str(shared), SPLIT=str(split), NAMES="",
               TEACHERS=str(trained_checkpoint), INIT=str(tiny_checkpoint), EPOCHS="1",
               MINUTES="30", DEVICE="cpu", GROCERY_ASSISTANT_HOME=str(isolated_home))
    env.pop("NAMES")
    proc = subprocess.run(["bash", "scripts/device/run.sh"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=900, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    log = (out / "log.txt").read_text()
    assert "teacher's answers" in log and "(exit 0)" in log, log
    parts = sorted(out.glob("student.part.*"))
    assert parts, list(out.iterdir())
    student = tmp_path / "student.safetensors"
    student.write_bytes(b"".join(p.read_bytes() for p in parts))
    meta = read_metadata(student)
    assert meta["training"]["config"]["cached_views"] == 2
    lineage = meta["training"]["lineage"]
    assert lineage["epochs"] == 1 + (read_metadata(tiny_checkpoint).get("training", {})
                                     .get("epochs_run", 0))
    assert len(lineage["runs"]) == 2 and lineage["cpu_hours"] >= 0


@pytest.mark.slow
def test_pack_carries_the_training_photos_the_fp16_weights_and_the_wheels(photo_dir, tmp_path):
    data, carry = tmp_path / "freiburg", tmp_path / "carry"
    shutil.copytree(photo_dir, data / "images")
    split, names = tmp_path / "split.csv", tmp_path / "names.csv"
    rows = [(f"images/{p.parent.name}/{p.name}", "test" if int(p.stem) < 2 else "train")
            for p in sorted((data / "images").rglob("*.jpg"))]
    with split.open("w", newline="") as fh:
        csv.writer(fh).writerows([("path", "split"), *rows])
    names.write_text("id,en,es\nred_sauce,tomato sauce,salsa de tomate\n")
    env = dict(os.environ, PY=sys.executable, GPU_DIR=str(carry), SPLIT=str(split), NAMES=str(names),
               DATA=str(data))
    proc = subprocess.run(["bash", "scripts/device/pack.sh"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=600, stdin=subprocess.DEVNULL)
    if proc.returncode != 0 and ("No matching distribution" in proc.stderr
                                 or "NewConnectionError" in proc.stderr):
        unavailable(f"the package index cannot be reached for the two wheels: {proc.stderr[-300:]}")
    assert proc.returncode == 0, proc.stderr[-3000:]
    packed = sorted(str(p.relative_to(carry / "freiburg")) for p in (carry / "freiburg").rglob("*.jpg"))
    assert packed == sorted(path for path, part in rows if part != "test")  # the held-out stay here
    from PIL import Image
    with Image.open(carry / "freiburg" / packed[0]) as img:
        assert img.format == "JPEG"
    from safetensors import safe_open
    for lite in ("lite0", "lite2"):
        with safe_open(str(carry / f"{lite}-imagenet-fp16.safetensors"), "pt") as weights:
            dtypes = {str(weights.get_tensor(k).dtype) for k in weights.keys()}
        assert "torch.float16" in dtypes and "torch.float32" not in dtypes, (lite, dtypes)
    assert (carry / "freiburg" / "classes.csv").read_text() == names.read_text()
    assert sorted(p.name for p in (carry / "whl").glob("*.whl")) == [
        "efficientnet_lite_pytorch-0.1.0-py3-none-any.whl", "platformdirs-4.14.8-py3-none-any.whl"]
