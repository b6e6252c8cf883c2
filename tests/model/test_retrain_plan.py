"""How many of the new products' photos a retrain holds out: 20% of a small teaching set, about
HELDOUT_ENOUGH photos of a big one (the rest trains), or the share the user asked for."""
from __future__ import annotations

from pathlib import Path

import pytest

from assistant.inference.checkpoint import load_checkpoint
from model.retrain import plan as plan_mod
from model.retrain.plan import HELDOUT_SHARE, heldout_share, make_plan


def teaching_set(root: Path, products: int, photos: int) -> Path:
    """Product folders of photo files (make_plan reads names only; no pixels needed)."""
    for p in range(products):
        folder = root / f"product_{p}"
        folder.mkdir(parents=True)
        for i in range(photos):
            (folder / f"{folder.name}_{i:03d}.jpg").write_bytes(b"\xff\xd8")
    return root


def test_the_share_is_twenty_percent_until_enough_photos_are_held_out():
    assert heldout_share(40) == HELDOUT_SHARE
    assert heldout_share(plan_mod.HELDOUT_ENOUGH * 5) == pytest.approx(HELDOUT_SHARE)
    big = plan_mod.HELDOUT_ENOUGH * 10
    assert heldout_share(big) * big == pytest.approx(plan_mod.HELDOUT_ENOUGH)
    assert heldout_share(big, 0.3) == 0.3  # asked for: honoured
    assert heldout_share(0) == HELDOUT_SHARE


def test_a_big_teaching_set_trains_on_more_of_its_photos(tiny_checkpoint, tmp_path, monkeypatch):
    monkeypatch.setattr(plan_mod, "HELDOUT_ENOUGH", 12)
    data = teaching_set(tmp_path / "new", products=4, photos=30)   # 120 photos: 12 held out
    base = load_checkpoint(tiny_checkpoint)
    plan = make_plan(data, base, only=True)
    assert len(plan.heldout) == 12
    assert len(plan.train) == 108
    assert plan.heldout_share == pytest.approx(0.1)
    held = {f for f, _ in plan.heldout}
    assert not held & {f for f, _ in plan.train}
    assert {y for _, y in plan.heldout} == {0, 1, 2, 3}  # every product is checked

    asked = make_plan(data, base, only=True, heldout=0.2)
    assert len(asked.heldout) == 24

    small = make_plan(teaching_set(tmp_path / "small", products=2, photos=20), base, only=True)
    assert len(small.heldout) == 8  # 40 photos: the usual 20%
