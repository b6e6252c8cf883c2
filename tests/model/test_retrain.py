"""Retraining from the active model: fast and full modes, --only, broken photos, refusing a
worse model, cancel, and SIGKILL at several moments of a real retrain process."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from PIL import Image

from assistant.inference.checkpoint import load_checkpoint, save_checkpoint
from assistant.inference.classifier import Classifier
from assistant.inference.vision import load_image
from assistant.store import models
from model.callbacks import TrainCallback
from model.retrain import REFUSED, RetrainConfig, retrain
from model.retrain.report import compare
from tests.helpers import make_photo, run_cli, write_products

ROOT = Path(__file__).resolve().parents[2]
NEW = {"yellow_oil": (220, 210, 40), "purple_jam": (130, 40, 150)}
# retrains in this process skip the ONNX export (tests/e2e/test_export.py tests it); the
# command-line runs below skip it too (no_export_in_children), but the killed ones make it
pytestmark = pytest.mark.usefixtures("no_onnx_export")


@pytest.fixture
def base(tmp_path, tiny_checkpoint, photo_dir) -> Path:
    """The tiny model, recording photo_dir as the photos it was trained on (as model.train does)."""
    ckpt = load_checkpoint(tiny_checkpoint)
    meta = dict(ckpt.meta, training={"config": {"data": str(photo_dir)}})
    return save_checkpoint(tmp_path / "base.safetensors", ckpt.state_dict, meta)


@pytest.fixture
def new_dir(tmp_path) -> Path:
    return write_products(tmp_path / "new", NEW, seed=500)


def head(path: Path) -> tuple[torch.Tensor, torch.Tensor]:
    sd = load_checkpoint(path).state_dict
    return sd["fc.weight"].float(), sd["fc.bias"].float()


class Recorder(TrainCallback):
    def __init__(self, cancel_after: int | None = None) -> None:
        self.steps, self.messages, self.started = 0, [], None
        self.cancel_after = cancel_after

    def on_start(self, epochs, steps_per_epoch):
        self.started = (epochs, steps_per_epoch)

    def on_step(self, epoch, step, steps, loss):
        self.steps += 1

    def on_message(self, text):
        self.messages.append(text)

    def cancelled(self):
        return self.cancel_after is not None and self.steps >= self.cancel_after


def test_fast_mode_adds_products_and_reports_honestly(base, new_dir, tmp_path):
    out = tmp_path / "new.safetensors"
    cb = Recorder()
    # saved as checked (--no-refit): the learning from the held-out photos after the check is
    # test_retrain_refit.py's
    result = retrain(RetrainConfig(data=str(new_dir), out=str(out), base=str(base), refit=False), cb)
    assert cb.started is not None and cb.steps > 0
    ckpt = load_checkpoint(out)
    assert ckpt.class_ids == ["blue_milk", "green_tea", "red_sauce", "purple_jam", "yellow_oil"]
    assert ckpt.name(4) == "yellow oil"
    rep = result.report
    assert rep.new == ["purple_jam", "yellow_oil"] and rep.old_checked
    assert set(rep.heldout["per_class"]) == set(ckpt.class_ids)
    # the reported held-out accuracy is what the saved model really does on those photos
    clf = Classifier(out, device="cpu", bf16=False)
    files = [p for p, _ in rep.heldout_photos]
    truth = [c for _, c in rep.heldout_photos]
    preds = [p.label for p in clf.predict_batch([load_image(f) for f in files])]
    measured = sum(p == t for p, t in zip(preds, truth, strict=True)) / len(truth)
    assert rep.heldout["top1"] == pytest.approx(measured, abs=1e-6)
    assert rep.heldout["n"] == len(files)
    # the frozen network is untouched: only the head changed
    base_sd, new_sd = load_checkpoint(base).state_dict, ckpt.state_dict
    assert all(torch.equal(base_sd[k], new_sd[k]) for k in base_sd if not k.startswith("fc."))
    assert (rep.folder / "report.json").is_file() and rep.confusion_picture.is_file()
    # the written verdict is the report's, on the old products' 6 held-out photos: the fitted
    # head names more of them than the random one in use, but so few photos could be chance
    from model.retrain.report import SIGNIFICANCE, one_sided_p
    written = json.loads((rep.folder / "report.json").read_text())["comparison"]
    assert written["basis"] == "shared" and written["n"] == 6
    assert written["new_top1"] > written["current_top1"] and written["only_current"] == 0
    assert one_sided_p(written["only_new"], written["only_new"]) >= SIGNIFICANCE, written
    assert written["verdict"] == rep.comparison.verdict == "same", written
    assert ckpt.meta["retrain"]["sources"][-1] == str(new_dir.resolve())
    assert ckpt.meta["retrain"]["heldout_share"] == pytest.approx(0.2)  # 16 new photos: the usual share


def test_features_are_cached_and_a_changed_photo_is_read_again(base, new_dir, tmp_path):
    from model.retrain.features import FeatureCache
    files = sorted(new_dir.rglob("*.jpg"))
    cache = FeatureCache(load_checkpoint(base), torch.device("cpu"))
    assert cache.batches_needed(files, ("photo",)) > 0
    first, ok, _ = cache.features(files)
    assert all(ok) and cache.batches_needed(files, ("photo",)) == 0
    again, _, _ = cache.features(files)
    assert torch.allclose(first, again, atol=1e-2)
    Image.fromarray(make_photo((0, 0, 255), seed=1)).save(files[0])
    os.utime(files[0], ns=(time.time_ns(), time.time_ns() + 10**9))
    assert cache.batches_needed(files, ("photo",)) == 1


def test_without_photos_or_bank_stand_ins_protect_the_old_products(tiny_checkpoint, new_dir, tmp_path):
    out = tmp_path / "new.safetensors"
    cb = Recorder()
    result = retrain(RetrainConfig(data=str(new_dir), out=str(out), base=str(tiny_checkpoint)), cb)
    assert any("stand-ins" in m for m in cb.messages)
    assert not result.report.old_checked
    assert any("not checked" in line for line in result.report.summary_lines())
    assert len(load_checkpoint(out).class_ids) == 5


def test_stand_ins_are_what_the_head_takes_for_each_product():
    from model.retrain.head import stand_ins
    torch.manual_seed(0)
    weight, bias = torch.randn(6, 64), torch.randn(6)
    reference = torch.rand(40, 64) * 3
    fake = stand_ins(reference, weight, bias, [1, 4], per_class=16)
    assert fake.shape == (32, 64) and bool((fake >= 0).all())
    named = (fake @ weight.T + bias).argmax(1)
    assert (named[:16] == 1).float().mean() > 0.9 and (named[16:] == 4).float().mean() > 0.9


@pytest.mark.parametrize("kept_out", ["test", "val"])
def test_old_products_are_checked_on_their_own_test_photos_when_the_split_is_recorded(
        tiny_checkpoint, photo_dir, new_dir, tmp_path, kept_out):
    """The model in use must not be judged (nor the new one calibrated) on photos it was trained
    on: its test photos, or, for a model trained on every photo but its validation ones (the
    bundled default), those."""
    import csv
    files = sorted(photo_dir.rglob("*.jpg"))
    tests = {str(f) for f in files if f.stem in ("06", "07")}
    split = tmp_path / "split.csv"
    with open(split, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["path", "split"])
        w.writerows([[str(f), kept_out if str(f) in tests else "train"] for f in files])
    ckpt = load_checkpoint(tiny_checkpoint)
    meta = dict(ckpt.meta, training={"config": {"data": str(photo_dir), "split_file": str(split)}})
    base = save_checkpoint(tmp_path / "base.safetensors", ckpt.state_dict, meta)
    result = retrain(RetrainConfig(data=str(new_dir), out=str(tmp_path / "n.safetensors"), base=str(base)))
    old_held = {p for p, c in result.report.heldout_photos if c in ckpt.class_ids}
    assert old_held == tests and result.report.old_heldout_unseen
    assert not any("optimistic" in line for line in result.report.summary_lines())
    # a retrain of the retrained model keeps those photos held out (and finds them cached)
    cb = Recorder()
    again = retrain(RetrainConfig(data=str(new_dir), out=str(tmp_path / "m.safetensors"),
                                  base=str(tmp_path / "n.safetensors")), cb)
    assert {p for p, c in again.report.heldout_photos if c in ckpt.class_ids} == tests
    assert not any(m.startswith("reading") for m in cb.messages)


def test_a_feature_bank_stands_in_for_missing_photos_of_the_old_products(
        tiny_checkpoint, photo_dir, new_dir, tmp_path):
    """A machine without the old products' photos: the bank shipped beside the model shows the
    head those products, so the new rows learn what they must not claim."""
    import argparse

    from model.models_cli import make_bank
    from model.retrain.bank import beside
    base = tmp_path / "shipped.safetensors"
    base.write_bytes(tiny_checkpoint.read_bytes())
    assert make_bank(argparse.Namespace(file=str(base), data=str(photo_dir))) == 0
    assert beside(base).is_file()
    cb = Recorder()
    result = retrain(RetrainConfig(data=str(new_dir), out=str(tmp_path / "n.safetensors"),
                                   base=str(base)), cb)
    assert any("feature bank" in m for m in cb.messages)
    rep = result.report
    assert rep.old_checked and rep.comparison.n > 0  # old products measured on held-out rows
    w0, _ = head(base)
    w1, _ = head(tmp_path / "n.safetensors")
    assert not torch.equal(w1[:3], w0[:3].half().float())  # old rows refitted, not frozen
    # the retrain wrote the user's bank: the next retrain of the new model finds all 5 products,
    # even once the photos it learnt from are gone
    import shutil
    shutil.rmtree(new_dir)
    cb2 = Recorder()
    more = write_products(tmp_path / "more", {"white_rice": (235, 235, 225)}, seed=500)
    again = retrain(RetrainConfig(data=str(more), out=str(tmp_path / "m.safetensors"),
                                  base=str(tmp_path / "n.safetensors")), cb2)
    assert again.report.old_checked and any("5 known products" in m for m in cb2.messages)


def test_only_keeps_just_the_new_products(base, new_dir, tmp_path):
    out = tmp_path / "only.safetensors"
    retrain(RetrainConfig(data=str(new_dir), out=str(out), base=str(base), only=True))
    assert load_checkpoint(out).class_ids == ["purple_jam", "yellow_oil"]


def test_a_known_product_in_the_folder_is_replaced(base, tmp_path):
    data = write_products(tmp_path / "data", {"red_sauce": (250, 120, 120), **NEW}, seed=500)
    result = retrain(RetrainConfig(data=str(data), out=str(tmp_path / "r.safetensors"), base=str(base)))
    assert result.report.replaced == ["red_sauce"]
    assert len(load_checkpoint(tmp_path / "r.safetensors").class_ids) == 5


def test_full_mode_fine_tunes_everything(base, new_dir, tmp_path):
    out = tmp_path / "full.safetensors"
    cb = Recorder()
    result = retrain(RetrainConfig(data=str(new_dir), out=str(out), base=str(base), mode="full",
                                   epochs=1, device="cpu"), cb)
    ckpt = load_checkpoint(out)
    assert sorted(ckpt.class_ids) == sorted(["blue_milk", "green_tea", "red_sauce", *NEW])
    base_sd = load_checkpoint(base).state_dict
    assert not torch.equal(base_sd["conv1.weight"], ckpt.state_dict["conv1.weight"])
    assert result.report.mode == "full" and result.report.heldout["n"] > 0
    assert ckpt.meta["retrain"]["mode"] == "full" and cb.steps > 0
    assert not list((tmp_path).glob(".*.tmp"))


def test_full_mode_without_photos_of_the_old_products_says_what_to_do(tiny_checkpoint, new_dir, tmp_path):
    from model.data import DataError
    with pytest.raises(DataError, match="--base-data"):
        retrain(RetrainConfig(data=str(new_dir), out=str(tmp_path / "x.safetensors"),
                              base=str(tiny_checkpoint), mode="full", epochs=1))
    assert not (tmp_path / "x.safetensors").exists()


@pytest.mark.parametrize("mode", ["fast", "full"])
def test_cancel_writes_nothing_and_leaves_the_model_in_use(base, new_dir, tmp_path, mode):
    models.activate(base)
    before = models.active_pointer().read_text()
    out = tmp_path / "c.safetensors"
    cb = Recorder(cancel_after=1)
    result = retrain(RetrainConfig(data=str(new_dir), out=str(out), mode=mode, epochs=2, device="cpu"), cb)
    assert result.cancelled and result.out is None
    assert not out.exists()
    assert models.active_pointer().read_text() == before
    assert any("cancelled" in m for m in cb.messages)


@pytest.mark.usefixtures("no_export_in_children")
def test_cli_lists_broken_photos_and_finishes(base, new_dir, tmp_path):
    (new_dir / "yellow_oil" / "broken.jpg").write_bytes(b"\xff\xd8garbage")
    (new_dir / "purple_jam" / "notes.txt").write_text("not a photo")
    out = tmp_path / "cli.safetensors"
    proc = run_cli("retrain", "--data", str(new_dir), "--out", str(out), "--base", str(base),
                   "--activate", check=True)
    assert "broken.jpg" in proc.stderr and "skipped" in proc.stderr
    assert "Held-out accuracy" in proc.stdout and "activated" in proc.stdout
    assert load_checkpoint(models.active_model_path()).class_ids[-1] == "yellow_oil"


@pytest.mark.usefixtures("no_export_in_children")
def test_a_worse_model_is_not_activated_without_yes(tmp_path, tiny_checkpoint):
    """Two products whose photos are the very same picture cannot be told apart (50 %), while
    the model in use records 95 %: refused without --yes, activated with it."""
    ckpt = load_checkpoint(tiny_checkpoint)
    good = save_checkpoint(tmp_path / "good.safetensors", ckpt.state_dict,
                           dict(ckpt.meta, metrics={"heldout": {"top1": 0.95}}))
    models.activate(good)
    before = models.active_pointer().read_text()
    data = tmp_path / "twins"
    picture = make_photo((90, 90, 200), seed=3)
    for name in ("twin_a", "twin_b"):
        (data / name).mkdir(parents=True)
        for i in range(6):
            Image.fromarray(picture).save(data / name / f"{i}.png")
    out = tmp_path / "worse.safetensors"
    proc = run_cli("retrain", "--data", str(data), "--out", str(out), "--only", "--activate")
    assert proc.returncode == REFUSED, proc.stderr
    assert "NOT activated" in proc.stderr and "--yes" in proc.stderr
    assert models.active_pointer().read_text() == before and out.is_file()
    refused = run_cli("models", "activate", str(out))
    assert refused.returncode == REFUSED and models.active_pointer().read_text() == before
    run_cli("models", "activate", str(out), "--yes", check=True)
    assert load_checkpoint(models.active_model_path()).class_ids == ["twin_a", "twin_b"]
    run_cli("models", "rollback", check=True)
    assert load_checkpoint(models.active_model_path()).meta["metrics"]["heldout"]["top1"] == 0.95


def test_compare_calls_worse_only_beyond_chance():
    from model.retrain.report import one_sided_p
    labels = torch.tensor([0, 1] * 10)
    right = torch.eye(2)[labels] * 5
    wrong = torch.eye(2)[1 - labels] * 5
    shared = torch.ones(20, dtype=torch.bool)
    assert compare(wrong, right, labels, shared, None, None).verdict == "worse"
    assert compare(right, wrong, labels, shared, None, None).verdict == "better"
    assert compare(right, right, labels, shared, None, None).verdict == "same"
    two_worse = right.clone()
    two_worse[:2] = wrong[:2]  # 2 of 20 photos lost: could be chance
    c = compare(two_worse, right, labels, shared, None, None)
    assert c.verdict == "same" and c.new_top1 == 0.9 and c.current_top1 == 1.0
    assert one_sided_p(2, 2) == 0.25 and one_sided_p(5, 5) == pytest.approx(1 / 32)
    none = torch.zeros(20, dtype=torch.bool)
    assert compare(right, None, labels, none, None, None).verdict == "unknown"
    assert compare(right, None, labels, none, 0.95, 0.5).verdict == "worse"


# --- the kill test ------------------------------------------------------------------------
MARKERS = ["starting from", "reading", "fitting the head", "saved", "wrote", "activated"]


def kill_at(marker: str | None, delay: float, args: list[str]) -> str:
    """Start a retrain, SIGKILL it `delay` s after `marker` appears (or after start)."""
    proc = subprocess.Popen([sys.executable, "-u", "main.py", *args], cwd=ROOT, env=dict(os.environ),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    seen = ""
    if marker is not None:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            seen += line
            if marker in line:
                break
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    return seen


SLOW = pytest.mark.slow  # each case is a retrain in a new process: the default run keeps two


@pytest.mark.parametrize("marker,delay", [pytest.param(None, 1.5, marks=SLOW),
                                          pytest.param("reading", 0.05, marks=SLOW),
                                          pytest.param("fitting the head", 0.0, marks=SLOW),
                                          ("saved", 0.0), ("wrote", 0.0)])
def test_killing_a_retrain_leaves_a_loadable_model_and_no_half_written_file(
        base, new_dir, tmp_path, marker, delay):
    first = models.activate(base)
    out = tmp_path / "killed.safetensors"
    seen = kill_at(marker, delay, ["retrain", "--data", str(new_dir), "--out", str(out),
                                   "--base", str(base), "--activate"])
    if marker is not None:
        assert marker in seen, seen
    active = models.active_model_path()
    assert load_checkpoint(active).class_ids  # loads, checksum and all
    assert active in (first.resolve(), *[p.resolve() for p in models.versions_dir().glob("*.safetensors")])
    json.loads(models.active_pointer().read_text())
    if out.exists():  # written atomically: complete or absent
        assert len(load_checkpoint(out).class_ids) == 5
    for stored in models.versions_dir().glob("*.safetensors"):
        load_checkpoint(stored)  # no stored version is half-written either
    # what the killed process may leave is temp files only, and the next run clears them
    folders = (tmp_path, models.versions_dir(), models.active_pointer().parent)
    models.remove_stale_temp(*folders)
    assert not [p for f in folders for p in f.iterdir() if p.name.endswith(".tmp")]
    # and a retrain afterwards works
    again = tmp_path / "again.safetensors"
    retrain(RetrainConfig(data=str(new_dir), out=str(again), base=str(base)))
    assert len(load_checkpoint(again).class_ids) == 5


@pytest.mark.slow  # two full-mode runs in new processes: minutes on a 2-core CPU
def test_a_full_retrain_killed_halfway_goes_on_from_its_last_epoch(base, new_dir, tmp_path):
    from model.state import resume_path
    out = tmp_path / "full.safetensors"
    args = ["retrain", "--data", str(new_dir), "--out", str(out), "--base", str(base),
            "--mode", "full", "--epochs", "2", "--device", "cpu"]
    seen = kill_at("epoch 1:", 0.0, args)
    assert "epoch 1:" in seen, seen
    assert not out.exists() and resume_path(out).exists()
    again = run_cli(*args)
    said = again.stdout + again.stderr
    assert again.returncode == 0, said
    assert "resumed from epoch 1" in said and "epoch 1:" not in said, said
    ckpt = load_checkpoint(out)
    assert len(ckpt.class_ids) == 5 and ckpt.meta["training"]["epochs_run"] == 2
    assert not resume_path(out).exists()


def test_progress_is_told_in_the_callbacks_language(base, new_dir, tmp_path):
    """Maintainer mode in Spanish: every progress line of a retrain comes from the catalogue in
    Spanish (the English sentences of the catalogue never appear)."""
    from assistant.catalog import PHRASES, phrase
    from assistant.catalog.training import TRAINING
    cb = Recorder()
    cb.language = "es"
    retrain(RetrainConfig(data=str(new_dir), out=str(tmp_path / "new.safetensors"),
                          base=str(base)), cb)
    assert cb.messages
    assert cb.messages[0].startswith("partiendo de ")
    assert phrase("retrain_fitting_head", "es") in cb.messages
    english = [PHRASES[m]["en"].split("{")[0] for m in TRAINING if PHRASES[m]["en"].split("{")[0]]
    assert [m for m in cb.messages if any(m.startswith(e) for e in english)] == []
