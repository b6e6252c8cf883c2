"""train --heldout-from: a model trained on every photo takes the held-out figure of the same
recipe's run that kept the test photos out, and refuses a run of another recipe before training."""
from __future__ import annotations

import pytest
import torch

from assistant.inference.checkpoint import load_checkpoint, save_checkpoint
from assistant.store.models import heldout_figure
from model.heldout import RecipeMismatch
from model.train import train
from tests.model.test_train import config, write_split


def held_out_run(photo_dir, tmp_path, **changes):
    split = write_split(tmp_path / "fold.csv", photo_dir,
                        lambda i: "train" if i < 4 else "val" if i < 6 else "test")
    out = tmp_path / "fold.safetensors"
    train(config(photo_dir, out, split_file=str(split), **changes))
    return out


def every_photo_split(photo_dir, tmp_path):
    return write_split(tmp_path / "all.csv", photo_dir, lambda i: "val" if 4 <= i < 6 else "train")


def test_the_held_out_runs_test_figure_becomes_the_models_own(photo_dir, tmp_path):
    fold = held_out_run(photo_dir, tmp_path)
    fold_test = load_checkpoint(fold).meta["metrics"]["test"]
    out = tmp_path / "all.safetensors"
    result = train(config(photo_dir, out, split_file=str(every_photo_split(photo_dir, tmp_path)),
                          heldout_from=str(fold)))
    assert "test" not in result.results  # no photo of its own left to test on
    meta = load_checkpoint(out).meta
    heldout = meta["metrics"]["heldout"]
    assert heldout["top1"] == fold_test["top1"] and heldout["n"] == fold_test["n"] == 6
    assert heldout["from_sha256"] == load_checkpoint(fold).meta["weights_sha256"]
    top1, measured_on = heldout_figure(meta)
    assert top1 == fold_test["top1"]
    assert "fold.safetensors" in measured_on and "6 photos" in measured_on
    assert meta["training"]["config"]["heldout_from"] == str(fold)


def test_a_run_of_another_recipe_is_refused_before_training(photo_dir, tmp_path):
    fold = held_out_run(photo_dir, tmp_path, lr=1e-3)
    out = tmp_path / "all.safetensors"
    with pytest.raises(RecipeMismatch, match=r"lr: 0.001 there, 0.01 here"):
        train(config(photo_dir, out, split_file=str(every_photo_split(photo_dir, tmp_path)),
                     heldout_from=str(fold), lr=1e-2))
    assert not out.exists()


def test_a_run_without_a_test_figure_is_refused(photo_dir, tmp_path):
    no_test = write_split(tmp_path / "no-test.csv", photo_dir, lambda i: "val" if i < 2 else "train")
    fold = tmp_path / "fold.safetensors"
    train(config(photo_dir, fold, split_file=str(no_test)))
    with pytest.raises(RecipeMismatch, match="no held-out or test figure"):
        train(config(photo_dir, tmp_path / "all.safetensors", split_file=str(no_test),
                     heldout_from=str(fold)))


def test_the_figures_and_calibration_are_those_of_the_weights_as_saved(photo_dir, tmp_path, monkeypatch):
    """The file keeps fp16 weights; what training records (validation figure, temperature) must
    come from those, not from the fp32 weights in memory that no one will ever load."""
    import model.train as train_module
    from model.callbacks import TrainCallback
    from model.evaluate import predict_logits
    from model.trainset import prepare_data

    seen = {}

    def spy(logits, labels, classes, source, *rest):
        seen["logits"] = torch.as_tensor(logits).clone()
        return real(logits, labels, classes, source, *rest)

    real = train_module.calibrate
    monkeypatch.setattr(train_module, "calibrate", spy)
    split = write_split(tmp_path / "split.csv", photo_dir, lambda i: "train" if i < 5 else "val")
    out = tmp_path / "m.safetensors"
    cfg = config(photo_dir, out, split_file=str(split), epochs=2)
    train(cfg)
    saved = load_checkpoint(out)
    data = prepare_data(cfg, TrainCallback())
    again = predict_logits(saved.network(), data.val_images, saved.preprocessing, torch.device("cpu"))
    assert torch.allclose(seen["logits"], again, atol=1e-5, rtol=0)


def test_the_held_out_runs_thresholds_are_the_announcers(photo_dir, tmp_path):
    """A model trained on every photo fits its temperature on its validation photos, but says
    things as sure at the thresholds its recipe's held-out run was measured with on its test
    photos (its own, fitted on the few photos that also chose its epoch, swing widely)."""
    from assistant.inference.calibration import Calibration, bands
    from model.calibrate import fit_temperature
    from model.callbacks import TrainCallback
    from model.evaluate import predict_logits
    from model.trainset import prepare_data

    fold = held_out_run(photo_dir, tmp_path)
    made = load_checkpoint(fold)
    test = made.meta["metrics"]["test"]
    assert set(test["bands"]) == {"say", "maybe", "silent"} and "ece" in test  # measured there
    assert test["thresholds"] == {"say": made.meta["calibration"]["say"],
                                  "maybe": made.meta["calibration"]["maybe"]}
    meta = dict(made.meta, calibration=dict(made.meta["calibration"], say=0.93, maybe=0.41))
    meta["metrics"] = dict(meta["metrics"], test=dict(test, thresholds={"say": 0.93, "maybe": 0.41}))
    meta.pop("weights_sha256")
    save_checkpoint(fold, made.state_dict, meta, half=False)
    out = tmp_path / "all.safetensors"
    cfg = config(photo_dir, out, split_file=str(every_photo_split(photo_dir, tmp_path)),
                 heldout_from=str(fold))
    train(cfg)
    shipped = load_checkpoint(out)
    assert shipped.meta["metrics"]["heldout"]["thresholds"] == {"say": 0.93, "maybe": 0.41}
    cal = Calibration.from_meta(shipped.meta)
    assert cal.thresholds() == (0.93, 0.41)
    own = shipped.meta["calibration"]["thresholds_from"]
    assert own["fitted_here"] == "val" and "fold.safetensors" in own["used"]
    # its own temperature, and its validation bands counted at the thresholds it uses
    data = prepare_data(cfg, TrainCallback())
    logits = predict_logits(shipped.network(), data.val_images, shipped.preprocessing,
                            torch.device("cpu")).numpy()
    assert cal.temperature == fit_temperature(logits, data.val_labels.numpy())
    assert shipped.meta["calibration"]["bands"] == bands(cal.probabilities(logits),
                                                         data.val_labels.numpy(), 0.93, 0.41)


def test_a_held_out_run_without_measured_bands_lends_no_thresholds(photo_dir, tmp_path):
    fold = held_out_run(photo_dir, tmp_path)
    made = load_checkpoint(fold)
    meta = dict(made.meta, calibration=dict(made.meta["calibration"], say=0.93, maybe=0.41))
    meta["metrics"] = dict(meta["metrics"], test={k: v for k, v in meta["metrics"]["test"].items()
                                                  if k not in ("bands", "thresholds")})
    out = rewrite_and_train_on_every_photo(fold, made, meta, photo_dir, tmp_path)
    shipped = load_checkpoint(out).meta
    assert "thresholds" not in shipped["metrics"]["heldout"]
    assert "thresholds_from" not in shipped["calibration"]  # its own, fitted on its validation photos


def rewrite_and_train_on_every_photo(fold, made, meta, photo_dir, tmp_path):
    """The held-out run saved again with meta, then the model of the same recipe on every photo."""
    meta.pop("weights_sha256", None)
    save_checkpoint(fold, made.state_dict, meta, half=False)
    out = tmp_path / "all.safetensors"
    train(config(photo_dir, out, split_file=str(every_photo_split(photo_dir, tmp_path)),
                 heldout_from=str(fold)))
    return out


def lent_pair(pairs: list) -> bool:
    return any(sorted(p[:2]) == ["blue_milk", "red_sauce"] and p[2] >= 0.25 for p in pairs)


def test_thresholds_are_lent_only_between_models_that_alike_average_the_mirror_image(photo_dir, tmp_path):
    """A held-out run calibrated with mirror averaging lends its thresholds to the all-photos
    model only once that model averages the mirror image too (`evaluate --calibrate --mirror on`,
    which reads the held-out figure again, as train does)."""
    from assistant.cli import main
    fold = held_out_run(photo_dir, tmp_path)
    made = load_checkpoint(fold)
    meta = dict(made.meta, preprocessing=dict(made.meta["preprocessing"], mirror=True))
    meta["calibration"] = dict(made.meta["calibration"], say=0.93, maybe=0.41,
                               lookalikes=[["red_sauce", "blue_milk", 0.25]])
    meta["metrics"] = dict(meta["metrics"], test=dict(meta["metrics"]["test"],
                                                      thresholds={"say": 0.93, "maybe": 0.41}))
    out = rewrite_and_train_on_every_photo(fold, made, meta, photo_dir, tmp_path)
    shipped = load_checkpoint(out).meta
    assert shipped["metrics"]["heldout"]["mirror"] is True
    assert "thresholds_from" not in shipped["calibration"]  # single pictures: its own thresholds
    # the pairs the held-out run confused are said as pairs by this model too
    assert lent_pair(shipped["calibration"]["lookalikes"])
    assert main(["evaluate", "--data", str(photo_dir), "--model", str(out), "--calibrate", "--mirror", "on"]) == 0
    mirrored = load_checkpoint(out).meta
    assert mirrored["preprocessing"]["mirror"] is True
    assert (mirrored["calibration"]["say"], mirrored["calibration"]["maybe"]) == (0.93, 0.41)
    assert "fold.safetensors" in mirrored["calibration"]["thresholds_from"]["used"]
    assert mirrored["metrics"]["heldout"]["top1"] == made.meta["metrics"]["test"]["top1"]
    assert lent_pair(mirrored["calibration"]["lookalikes"])
