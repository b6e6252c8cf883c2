"""The checkpoints shipped in model/bundled/: each loads, says how it was made and how well it
did on photos it never saw, has its pictures beside it, and the README states that figure.
The slow test re-evaluates them on those photos (Freiburg fold 0) in a fresh process."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from assistant.inference.checkpoint import load_checkpoint, read_metadata
from assistant.store import models

ROOT = Path(__file__).resolve().parents[2]
BUNDLED = sorted((ROOT / "model" / "bundled").glob("*.safetensors"))
FREIBURG = ROOT.parent / "shared" / "data" / "freiburg"
SPLIT = ROOT / "model" / "splits" / "freiburg-fold0.csv"
ALL_BUT_VAL = "model/splits/freiburg-all-but-val.csv"


def heldout(path: Path) -> dict:
    return read_metadata(path)["metrics"]["heldout"]


def test_there_is_a_bundled_resnet18_and_the_default_is_the_best_held_out():
    assert BUNDLED, "no bundled model"
    archs = {read_metadata(p)["architecture"] for p in BUNDLED}
    assert "resnet18" in archs
    best = max(BUNDLED, key=lambda p: heldout(p)["top1"])
    assert models.bundled_default() == best


@pytest.mark.parametrize("path", BUNDLED, ids=lambda p: p.stem)
def test_a_bundled_checkpoint_loads_and_records_its_making(path):
    ckpt = load_checkpoint(path)                 # checks the weights' SHA-256 too
    assert len(ckpt.class_ids) == 25
    for i, class_id in enumerate(ckpt.class_ids):
        assert ckpt.name(i, "en") and ckpt.name(i, "es"), class_id
    assert all(v.dtype == torch.float16 for v in ckpt.state_dict.values() if v.is_floating_point()), \
        "weights are stored in fp16 (small enough for git)"
    training = ckpt.meta["training"]
    assert training["command"].startswith("python main.py train ")
    assert training["config"]["seed"] == 0
    figure = ckpt.meta["metrics"]["heldout"]
    assert figure["n"] == 1018 and 0 < figure["top1"] <= figure["top3"] <= 1
    if training["config"]["split_file"] == ALL_BUT_VAL:
        # trained on fold 0 too: its figure is the same recipe's fold-0 run (train --heldout-from)
        assert training["config"]["heldout_from"] and len(figure["from_sha256"]) == 64
        assert "trained on" in figure["measured_on"]
    else:
        assert training["config"]["split_file"] == "model/splits/freiburg-fold0.csv"


@pytest.mark.parametrize("path", BUNDLED, ids=lambda p: p.stem)
def test_its_figures_were_measured_as_it_answers(path):
    """A model that averages each picture with its mirror image answers otherwise than it did
    in training: each figure it records says whether it was measured so, and the figure that
    the slow test measures again (validation for a model trained on fold 0, else held out) was
    measured as the model answers now (`evaluate --record [val]` records it so)."""
    meta = read_metadata(path)
    mirror = bool(meta["preprocessing"].get("mirror", False))
    own = meta["training"]["config"]["split_file"] != ALL_BUT_VAL
    checked = meta["metrics"]["heldout" if own else "val"]
    assert bool(checked.get("mirror", False)) == mirror
    assert bool(heldout(path).get("mirror", False)) == mirror


@pytest.mark.parametrize("path", BUNDLED, ids=lambda p: p.stem)
def test_its_pictures_lie_beside_it(path):
    report = path.with_suffix(".report")
    own = read_metadata(path)["training"]["config"]["split_file"] != ALL_BUT_VAL
    held = ("confusion_heldout.png", "confusion_heldout_normalised.png") if own else ()
    for name in ("curves.png", "history.json", "confusion_val.png", "confusion_val_normalised.png",
                 *held):
        assert (report / name).is_file(), name
    history = json.loads((report / "history.json").read_text())
    assert len(history) == read_metadata(path)["training"]["epochs_run"]


@pytest.mark.parametrize("path", BUNDLED, ids=lambda p: p.stem)
def test_the_readme_states_its_held_out_figure(path):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    row = next((line for line in readme.splitlines() if line.startswith(f"| `{path.stem}`")), None)
    assert row is not None, f"no row for {path.stem} in the README's model table"
    figure = heldout(path)
    assert f"{100 * figure['top1']:.1f}% / {100 * figure['top3']:.1f}%" in row


@pytest.mark.slow
@pytest.mark.skipif(not FREIBURG.is_dir(), reason="the Freiburg photos are not beside the repository")
@pytest.mark.parametrize("path", BUNDLED, ids=lambda p: p.stem)
def test_it_evaluates_on_the_held_out_photos_at_its_recorded_figure(path, tmp_path):
    # fold 0 as a folder per product, as the README does it; a model trained on fold 0 too is
    # measured again on what it never saw: its 294 validation photos, against its val figure
    meta = read_metadata(path)
    own = meta["training"]["config"]["split_file"] != ALL_BUT_VAL
    part, figure = ("test", heldout(path)) if own else ("val", meta["metrics"]["val"])
    folder = tmp_path / part
    laid = subprocess.run([sys.executable, str(ROOT / "scripts" / "heldout_folder.py"), str(SPLIT),
                           str(FREIBURG), str(folder), *([] if own else ["val"])],
                          capture_output=True, text=True, timeout=120)
    assert laid.returncode == 0, laid.stderr
    done = subprocess.run([sys.executable, str(ROOT / "main.py"), "evaluate", "--data", str(folder),
                           "--model", str(path), "--json", "--device", "cpu"],
                          cwd=ROOT, env=dict(os.environ), capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["n"] == figure["n"] == (1018 if own else 294)
    assert abs(result["top1"] - figure["top1"]) < 1e-3 and abs(result["top3"] - figure["top3"]) < 1e-3
