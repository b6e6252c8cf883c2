"""scripts/device/run.sh runs the ResNet-18 distillation recipe (what a lent GPU would run) and
packs the student; here on the CPU, on tiny synthetic photos, with tiny teacher and start."""
from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.inference.checkpoint import read_metadata

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
