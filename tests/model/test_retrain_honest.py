"""The retrain's held-out figure must be what the model does on a burst it has not seen, not
its memory of near-twins (issue 29: 96.3% held out, 70.5% on GroceryStore's val photos).

Each synthetic burst is one random picture and a few copies of it with a little noise; the
products cannot be told apart from one burst to the next (the pictures are random), so on
fresh bursts the model is right about one time in three. Held out shot by shot, twins of the
training shots would be named right nearly every time."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from assistant.inference.checkpoint import load_checkpoint
from model.retrain import RetrainConfig, retrain
from model.retrain.features import FeatureCache

PRODUCTS = ("oat_milk", "rye_bread", "pear_juice")


def write_bursts(root: Path, bursts: int, shots: int, seed: int) -> Path:
    """root/<product>/<number>.jpg: per burst a random 12 x 12 colour pattern blown up to 96 px,
    each shot that plus noise of a few grey levels. The numbers are shuffled, as GroceryStore's
    are: the names do not give the bursts away, the pictures must."""
    rng = np.random.default_rng(seed)
    for product in PRODUCTS:
        folder = root / product
        folder.mkdir(parents=True)
        names = iter(rng.permutation(bursts * shots))
        for _ in range(bursts):
            base = rng.integers(20, 236, size=(12, 12, 3)).repeat(8, 0).repeat(8, 1)
            for _ in range(shots):
                shot = np.clip(base + rng.integers(-3, 4, size=base.shape), 0, 255).astype(np.uint8)
                Image.fromarray(shot).save(folder / f"{next(names):03d}.jpg", quality=95)
    return root


def top1(path: Path, folder: Path) -> float:
    """The retrained model on folder's photos: the head on the frozen network's features."""
    ckpt = load_checkpoint(path)
    files = sorted(folder.rglob("*.jpg"))
    truth = torch.tensor([ckpt.class_ids.index(f.parent.name) for f in files])
    feats, ok, _ = FeatureCache(ckpt, torch.device("cpu")).features(files)
    assert all(ok)
    sd = ckpt.state_dict
    logits = feats[:, 0] @ sd["fc.weight"].float().T + sd["fc.bias"].float()
    return float((logits.argmax(1) == truth).float().mean())


@pytest.mark.parametrize("seed, adapt", [(0, "head"), (0, "upper")])
def test_the_held_out_figure_is_the_figure_on_fresh_bursts(tiny_checkpoint, tmp_path, seed, adapt):
    """The head alone and the upper blocks with it (their bursts found in the same features)."""
    teach = write_bursts(tmp_path / "teach", bursts=20, shots=3, seed=seed)
    fresh = write_bursts(tmp_path / "fresh", bursts=20, shots=1, seed=seed + 1000)
    out = tmp_path / "new.safetensors"
    # the model as checked is saved (no refit): the report's figure is that network's, while a
    # refit one learns the held-out bursts too and is better on fresh ones than its figure says
    # (0.13 against 0.33 once, with --adapt upper)
    result = retrain(RetrainConfig(data=str(teach), out=str(out), base=str(tiny_checkpoint),
                                   only=True, heldout=0.25, seed=seed, adapt=adapt, epochs=1,
                                   refit=False))
    held = result.report.heldout
    on_fresh = top1(out, fresh)
    # 60 fresh bursts at about 1 in 3: within 0.2 of each other is far outside what twins give
    # (held out shot by shot, the figure is 0.9 or more here)
    assert held["n"] >= 30 and held["top1"] < 0.6, held
    assert abs(held["top1"] - on_fresh) < 0.2, (held["top1"], on_fresh)
    # the report counts each held-out burst once: 3 shots each
    assert held["independent"] == held["n"] // 3
    assert held["top1_low"] < held["top1"] < held["top1_high"]
    lines = result.report.summary_lines("en") + result.report.summary_lines("es")
    assert any(f"{held['independent']} independent photos" in line for line in lines)
    assert any(f"{held['independent']} fotos independientes" in line for line in lines)
