"""Adding a product in fast mode must not make confident mistakes on the old products more
common: each retrain recalibrates (temperature and bands from its held-out photos), and the
wrong answers said as sure on fresh photos of the old products stay within noise."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from assistant.inference.checkpoint import load_checkpoint, save_checkpoint
from assistant.inference.classifier import Classifier
from assistant.inference.vision import load_image
from model.retrain import RetrainConfig, retrain
from tests.helpers import write_products

pytestmark = pytest.mark.usefixtures("no_onnx_export")  # not this file's subject
OLD = {"red_sauce": (200, 30, 30), "green_tea": (30, 170, 60), "blue_milk": (40, 60, 200)}


def sure_wrong(model: Path, folder: Path) -> tuple[int, int]:
    """(wrong answers said as sure, photos) with the model's own calibration and bands."""
    clf = Classifier(model, device="cpu")
    say = clf.calibration.say
    wrong = total = 0
    for sub in sorted(p for p in folder.iterdir() if p.is_dir()):
        for f in sorted(sub.iterdir()):
            pred = clf.predict(load_image(f))
            total += 1
            wrong += pred.score >= say and pred.label != sub.name
    return wrong, total


def test_adding_a_product_keeps_confident_mistakes_on_the_old_ones_flat(tmp_path, tiny_checkpoint):
    ckpt = load_checkpoint(tiny_checkpoint)
    old_data = write_products(tmp_path / "old", OLD, n=12, seed=1000)
    random_head = save_checkpoint(tmp_path / "random.safetensors", ckpt.state_dict,
                                  dict(ckpt.meta, training={"config": {"data": str(old_data)}}))
    base = tmp_path / "base.safetensors"  # the three products learnt, calibrated
    retrain(RetrainConfig(data=str(old_data), out=str(base), base=str(random_head)))
    assert "calibration" in load_checkpoint(base).meta
    new = write_products(tmp_path / "new", {"yellow_oil": (220, 210, 40)}, n=12, seed=5000)
    after = tmp_path / "after.safetensors"
    retrain(RetrainConfig(data=str(new), out=str(after), base=str(base), base_data=[str(old_data)]))
    meta = load_checkpoint(after).meta
    assert meta["calibration"]["n"] > 0 and meta["calibration"]["photos"] == "retrain held-out"
    fresh = write_products(tmp_path / "fresh", OLD, n=20, seed=9000)  # never seen by either model
    before_wrong, n = sure_wrong(base, fresh)
    after_wrong, _ = sure_wrong(after, fresh)
    assert n == 60
    assert after_wrong <= before_wrong + 3, (before_wrong, after_wrong)  # within noise
    assert torch.tensor(after_wrong / n) <= 0.1
