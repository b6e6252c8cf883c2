"""No held-out photo reaches a retrain's fit, in any mode: the held-out figure in the
maintainer's report (and the calibration fitted on those photos) would be inflated otherwise,
and nothing else would notice.

The tests spy on what each learning step is given, not on how the held-out photos are chosen:
every feature row the frozen network computes is traced back to its photo, every picture the
full fine-tuning sees is compared with the held-out photos' pictures, and whatever the report
calls held out must not be among them. The feature bank's held-out rows count as held out too.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pytest
import torch

from assistant.inference.vision import fit_square, load_image
from model.retrain import RetrainConfig, retrain
from model.retrain import fast as fast_mode
from model.retrain.features import FeatureCache
from tests.model import test_retrain as retraining

base, new_dir = retraining.base, retraining.new_dir  # the retrain tests' fixtures
pytestmark = pytest.mark.usefixtures("no_onnx_export")


def key(row: torch.Tensor) -> bytes:
    return row.detach().float().cpu().contiguous().numpy().tobytes()


class FitSpy:
    """Where each feature row came from, and which rows each fitting function was handed."""

    def __init__(self) -> None:
        self.origin: dict[bytes, str] = {}      # a feature row -> its photo (or "bank ..." row)
        self.banked: dict[str, set[bytes]] = {"trained": set(), "held out": set()}  # bank rows
        self.fitted: list[tuple[str, torch.Tensor]] = []  # (function, rows it learnt from)

    def note(self, rows: torch.Tensor, source: str) -> None:
        k = key(rows)
        seen = self.origin.setdefault(k, source)
        assert seen == source, f"two photos with the very same features: {seen}, {source}"

    def sources(self) -> list[str]:
        """The origin of every row any fit was handed (None: a row of no photo, a stand-in)."""
        return [self.origin.get(key(row)) for _, rows in self.fitted for row in rows]

    def banked_rows_fitted(self, which: str) -> int:
        return sum(key(row) in self.banked[which] for _, rows in self.fitted for row in rows)


@pytest.fixture
def spy(monkeypatch) -> FitSpy:
    s = FitSpy()
    features = FeatureCache.features

    def traced_features(self, files, views=("photo",), *args, **kwargs):
        out, ok, reasons = features(self, files, views, *args, **kwargs)
        for f, rows, good in zip(files, out, ok, strict=True):
            if good:
                for row in rows:  # one row per view (photo, mirror image, crops)
                    s.note(row, str(Path(f).resolve()))
        return out, ok, reasons

    pool = fast_mode._pool

    def traced_pool(upper, lowers, device, *args, **kwargs):  # --adapt upper: pooled from lower
        out = pool(upper, lowers, device, *args, **kwargs)
        for lower, pooled in zip(lowers, out, strict=True):
            if key(lower) in s.origin:
                s.note(pooled, s.origin[key(lower)])
        return out

    rows_for = fast_mode.rows_for

    def traced_rows_for(*args, **kwargs):
        found = rows_for(*args, **kwargs)
        if found is not None:
            train_x, _, held_x, _, _, _ = found
            s.banked["trained"].update(key(row) for row in train_x)
            s.banked["held out"].update(key(row) for row in held_x)
        return found

    def fit_step(name: str, rows_at: int, flatten: bool = False):
        real = getattr(fast_mode, name)

        def traced(*args, **kwargs):
            rows = args[rows_at]
            s.fitted.append((name, rows.flatten(0, 1) if flatten else rows))
            return real(*args, **kwargs)
        monkeypatch.setattr(fast_mode, name, traced)

    monkeypatch.setattr(FeatureCache, "features", traced_features)
    monkeypatch.setattr(fast_mode, "_pool", traced_pool)
    monkeypatch.setattr(fast_mode, "rows_for", traced_rows_for)
    fit_step("imprint", 0)
    fit_step("learn_head", 0)
    fit_step("stand_ins", 0)                  # the stand-ins are drawn from these rows' statistics
    fit_step("fit_upper", 3, flatten=True)    # N photos x V views of lower-block maps
    return s


def heldout_of(result, banked: int = 0) -> set[str]:
    """The held-out photos the report names; its figure is measured on them (and on the bank's
    held-out rows, when a bank stood in for the old products' photos)."""
    held = {str(Path(p).resolve()) for p, _ in result.report.heldout_photos}
    twins = result.report.heldout.get("twins", {}).get("n", 0)  # counted apart (report.measured)
    assert held and result.report.heldout["n"] + twins == len(held) + banked
    return held


def assert_no_heldout_fitted(spy: FitSpy, held: set[str], photos: set[str]) -> set[str]:
    """No fitted row comes from a held-out photo; returns the photos that were fitted."""
    sources = spy.sources()
    assert spy.fitted and sources, "no fit was seen: the spy is not where the learning is"
    leaked = sorted({s for s in sources if s in held})
    assert leaked == [], f"held-out photos were fitted on: {leaked}"
    fitted = {s for s in sources if s in photos}
    assert fitted and fitted <= photos - held
    return fitted


def all_photos(*folders: Path) -> set[str]:
    return {str(p.resolve()) for folder in folders for p in folder.rglob("*.jpg")}


def test_fast_head_mode_never_fits_a_held_out_photo(base, new_dir, photo_dir, tmp_path, spy):
    result = retrain(RetrainConfig(data=str(new_dir), out=str(tmp_path / "n.safetensors"),
                                   base=str(base)))
    photos = all_photos(new_dir, photo_dir)
    held = heldout_of(result)
    assert held & all_photos(photo_dir) and held & all_photos(new_dir)  # old and new products
    fitted = assert_no_heldout_fitted(spy, held, photos)
    assert {Path(f).parent.name for f in fitted} == set(result.report.classes)


def test_fast_upper_mode_never_fits_a_held_out_photo(base, new_dir, photo_dir, tmp_path, spy):
    result = retrain(RetrainConfig(data=str(new_dir), out=str(tmp_path / "u.safetensors"),
                                   base=str(base), adapt="upper", epochs=1))
    held = heldout_of(result)
    assert_no_heldout_fitted(spy, held, all_photos(new_dir, photo_dir))
    assert {name for name, _ in spy.fitted} >= {"fit_upper", "learn_head"}
    upper_rows = [spy.origin.get(key(r)) for name, rows in spy.fitted if name == "fit_upper"
                  for r in rows]
    assert upper_rows and None not in upper_rows  # every view the blocks learn from is traced


def test_fast_mode_never_fits_the_banks_held_out_rows(tiny_checkpoint, photo_dir, new_dir,
                                                      tmp_path, spy):
    """A machine without the old products' photos: their rows come from the feature bank, whose
    held-out rows check the old products and must not train them."""
    from model.models_cli import make_bank
    shipped = tmp_path / "shipped.safetensors"
    shipped.write_bytes(tiny_checkpoint.read_bytes())
    assert make_bank(argparse.Namespace(file=str(shipped), data=str(photo_dir))) == 0
    result = retrain(RetrainConfig(data=str(new_dir), out=str(tmp_path / "n.safetensors"),
                                   base=str(shipped)))
    assert spy.banked["held out"], "the bank's held-out rows were never used"
    assert spy.banked_rows_fitted("held out") == 0, "the bank's held-out rows were fitted on"
    assert spy.banked_rows_fitted("trained") > 0
    held = heldout_of(result, banked=len(spy.banked["held out"]))
    assert_no_heldout_fitted(spy, held, all_photos(new_dir))


@pytest.fixture
def pictures_seen(monkeypatch):
    """The pictures full mode's fine-tuning learns from and chooses its epoch on, as bytes."""
    import model.batches as batches
    import model.train as training
    seen = {"train": set(), "select": set()}
    augment, evaluate_split = batches.augment, training.evaluate_split

    def traced_augment(images, *args, **kwargs):
        seen["train"].update(key_of_picture(p) for p in images)
        return augment(images, *args, **kwargs)

    def traced_evaluate_split(model, images, *args, **kwargs):
        if images is not None:
            seen["select"].update(key_of_picture(p) for p in images)
        return evaluate_split(model, images, *args, **kwargs)

    monkeypatch.setattr(batches, "augment", traced_augment)  # each training batch's views
    monkeypatch.setattr(training, "evaluate_split", traced_evaluate_split)
    return seen


def key_of_picture(chw: torch.Tensor) -> bytes:
    return chw.detach().cpu().to(torch.uint8).contiguous().numpy().tobytes()


def picture_of(photo: str, size: int) -> bytes:
    """A photo as training decodes it (model.data.load_folder), 3 x S x S uint8."""
    hwc = np.ascontiguousarray(fit_square(load_image(photo), size))
    return key_of_picture(torch.from_numpy(hwc).permute(2, 0, 1))


def test_full_mode_never_trains_nor_chooses_its_epoch_on_a_held_out_photo(
        base, new_dir, photo_dir, tmp_path, spy, pictures_seen):
    from assistant.inference.checkpoint import load_checkpoint
    result = retrain(RetrainConfig(data=str(new_dir), out=str(tmp_path / "f.safetensors"),
                                   base=str(base), mode="full", epochs=1, device="cpu"))
    held = heldout_of(result)
    photos = all_photos(new_dir, photo_dir)
    assert_no_heldout_fitted(spy, held, photos)  # the head fitted first (linear probe)
    size = load_checkpoint(base).preprocessing.size
    held_pictures = {picture_of(p, size) for p in held}
    trained_pictures = {picture_of(p, size) for p in photos - held}
    trained, chosen_on = pictures_seen["train"], pictures_seen["select"]
    assert len(trained & held_pictures) == 0, "full mode trained on held-out photos"
    assert len(chosen_on & held_pictures) == 0, "its epoch was chosen on held-out photos"
    assert trained and len(trained - trained_pictures) == 0  # the spy sees the photos it learns
