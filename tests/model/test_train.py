"""The training pipeline on a tiny synthetic set (3 products x 8 photos, 32 px, CPU, seconds):
train and evaluate, broken photos, too few photos, split files, resume, cancel, distillation."""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
import torch
from PIL import Image

from assistant.inference.checkpoint import load_checkpoint, make_classes, save_checkpoint
from assistant.inference.vision import Preprocessing
from model.callbacks import TrainCallback
from model.config import TrainConfig
from model.data import DataError
from model.train import train
from tests.helpers import make_photo, run_cli

ROOT = Path(__file__).resolve().parents[2]
CLASSES = ["blue_milk", "green_tea", "red_sauce"]   # photo_dir's products, sorted
# `main.py train` makes the fp32 ONNX file but measures no int8 or bf16 (tests/e2e/test_precision.py)
pytestmark = pytest.mark.usefixtures("no_precision_in_children")
FAST = ["--epochs", "1", "--image-size", "32", "--batch-size", "8", "--device", "cpu",
        "--scratch", "--seed", "0"]


def config(data: Path, out: Path, **changes) -> TrainConfig:
    values = dict(data=str(data), out=str(out), arch="resnet18", pretrained=None, epochs=1,
                  batch_size=8, image_size=32, device="cpu", seed=0, warmup_epochs=0)
    values.update(changes)
    return TrainConfig(**values)


class Recorder(TrainCallback):
    """Remembers what training reported; can cancel or 'crash' at a chosen point."""

    def __init__(self, cancel_after_steps: int | None = None, crash_after_epoch: int | None = None):
        self.steps: list[tuple[int, int]] = []
        self.epochs: list[int] = []
        self.messages: list[str] = []
        self.cancel_after_steps = cancel_after_steps
        self.crash_after_epoch = crash_after_epoch

    def on_step(self, epoch, step, steps, loss):
        assert loss == loss, "loss is NaN"
        self.steps.append((epoch, step))

    def on_epoch_end(self, epoch, row):
        self.epochs.append(epoch)
        if epoch == self.crash_after_epoch:
            raise KeyboardInterrupt  # Ctrl+C, a power cut: the run dies here

    def on_message(self, text):
        self.messages.append(text)

    def cancelled(self):
        return self.cancel_after_steps is not None and len(self.steps) >= self.cancel_after_steps


def add_broken_photos(photo_dir: Path) -> list[Path]:
    good = io.BytesIO()
    Image.fromarray(make_photo((200, 30, 30), size=120)).save(good, "JPEG")
    broken = {photo_dir / "red_sauce" / "empty.jpg": b"",
              photo_dir / "green_tea" / "notes.jpg": b"milk, tea, sauce\n" * 10,
              photo_dir / "blue_milk" / "cut.jpg": good.getvalue()[: len(good.getvalue()) // 2]}
    for path, data in broken.items():
        path.write_bytes(data)
    return sorted(broken)


def no_temp_files(folder: Path) -> bool:
    return not [p for p in folder.rglob("*") if p.name.endswith(".tmp") or ".tmp." in p.name]


# --- train and evaluate ------------------------------------------------------------------------

def accuracy(checkpoint: Path, photos: Path) -> float:
    """Top-1 of a checkpoint on a folder of photos, through the app's classifier."""
    from assistant.inference.classifier import Classifier
    from model.data import load_folder
    from model.evaluate import metrics, predict_logits
    clf = Classifier(checkpoint, device="cpu")
    found = load_folder(photos, size=clf.preprocessing.size, classes=clf.class_ids)
    logits = predict_logits(clf.model, found.images, clf.preprocessing, torch.device("cpu"))
    return metrics(logits, found.labels, clf.class_ids)["top1"]


def test_train_in_process_learns_and_writes_a_usable_checkpoint_and_report(learnt):
    """The session's one real training run (tests/conftest.py's learnt): the loss falls, the model
    names the three products far better than chance (1/3), and it is written whole."""
    result, photos = learnt
    out = result.out
    assert out.is_file() and not result.cancelled
    assert [row["epoch"] for row in result.history] == [1, 2, 3, 4, 5, 6]
    losses = [row["train_loss"] for row in result.history]
    assert losses[-1] < 0.7 * losses[0], losses
    assert accuracy(out, photos) >= 0.6
    ck = load_checkpoint(out)
    assert ck.class_ids == CLASSES
    assert ck.architecture == "resnet18"
    assert ck.preprocessing.size == 32
    assert ck.meta["training"]["command"] == "python main.py train ..."
    assert ck.meta["training"]["config"]["epochs"] == 6
    assert ck.meta["training"]["epochs_run"] == 6
    # default split 80/10/10 of 8 photos a product
    assert result.results["val"]["n"] + result.results["test"]["n"] + \
        ck.meta["training"]["train_photos"] == 24
    report = out.with_suffix(".report")
    for name in ("history.json", "metrics.json", "curves.png"):
        assert (report / name).is_file(), name
    assert [row["epoch"] for row in json.loads((report / "history.json").read_text())] == [1, 2, 3, 4, 5, 6]
    assert not out.with_name(out.name + ".resume").exists()
    assert no_temp_files(out.parent)
    # and the app's classifier takes it
    from assistant.inference.classifier import Classifier
    from assistant.inference.vision import load_image
    prediction = Classifier(out, device="cpu").predict(load_image(next((photos / "green_tea").iterdir())))
    assert prediction.label in CLASSES and len(prediction.top) == 3
    assert abs(sum(p for _, p in prediction.top) - 1.0) < 1e-3


def test_train_and_evaluate_through_the_command_line(photo_dir, tmp_path, learnt):
    """One run of each (torch's start-up is most of their cost), with broken photos about. The
    command goes on from the session's learnt model (--init) for one epoch at a gentle rate (at
    1e-3 that epoch took it from 100% to 67% of the photos): its weights move,
    and what evaluate measures is what that model does."""
    broken = add_broken_photos(photo_dir)
    out = tmp_path / "cli.safetensors"
    init = learnt[0].out
    result = run_cli("train", "--data", str(photo_dir), "--out", str(out), *FAST,
                     "--init", str(init), "--lr", "3e-4", "--augment", "none")
    assert result.returncode == 0, result.stderr
    assert f"wrote {out}" in result.stdout
    assert "Traceback" not in result.stderr
    for path in broken:                         # trained to the end, listing what it skipped
        assert f"skipped {path}: " in result.stderr
    ck = load_checkpoint(out)
    assert ck.class_ids == CLASSES
    assert "train" in ck.meta["training"]["command"] and "--epochs 1" in ck.meta["training"]["command"]
    before = load_checkpoint(init).state_dict
    assert not torch.equal(ck.state_dict["fc.weight"], before["fc.weight"])  # it learnt

    evaluated = run_cli("evaluate", "--data", str(photo_dir), "--model", str(out), "--json",
                        "--device", "cpu")
    assert evaluated.returncode == 0, evaluated.stderr
    res = json.loads(evaluated.stdout)
    assert {"top1", "top3", "per_class", "n"} <= set(res)
    assert res["n"] == 24
    assert sorted(Path(s["path"]) for s in res["skipped"]) == broken
    assert set(res["per_class"]) == set(CLASSES)
    assert res["top1"] == pytest.approx(accuracy(out, photo_dir), abs=1e-4) and res["top1"] >= 0.6
    assert 0.0 <= res["top1"] <= res["top3"] <= 1.0
    assert all(0.0 <= v <= 1.0 for v in res["per_class"].values())
    # top-1 is the mean of the per-product figures here (8 photos each)
    assert abs(res["top1"] - sum(res["per_class"].values()) / 3) < 1e-3

    human = run_cli("evaluate", "--data", str(photo_dir), "--model", str(out), "--device", "cpu")
    assert human.returncode == 0, human.stderr
    assert "top-1" in human.stdout and "24 photos" in human.stdout
    assert all(f"skipped {path}: " in human.stderr for path in broken)


# --- broken and scarce photos ------------------------------------------------------------------

def test_broken_photos_are_skipped_and_listed(photo_dir, tmp_path):
    broken = add_broken_photos(photo_dir)
    out = tmp_path / "m.safetensors"
    result = train(config(photo_dir, out))
    assert out.is_file()
    assert sorted(Path(p) for p, _ in result.skipped) == broken
    reasons = dict(result.skipped)
    assert "empty" in reasons[str(photo_dir / "red_sauce" / "empty.jpg")]
    assert "not a picture" in reasons[str(photo_dir / "green_tea" / "notes.jpg")]
    metrics = json.loads((out.with_suffix(".report") / "metrics.json").read_text())
    assert sorted(Path(s["path"]) for s in metrics["skipped"]) == broken
    assert load_checkpoint(out).meta["training"]["skipped"] == 3


def test_a_product_with_too_few_photos_is_refused_by_name(photo_dir, tmp_path):
    lonely = photo_dir / "lonely_salt"
    lonely.mkdir()
    for i in range(2):
        Image.fromarray(make_photo((250, 250, 250), seed=i)).save(lonely / f"{i}.jpg")
    out = tmp_path / "m.safetensors"
    with pytest.raises(DataError, match=r"lonely_salt \(2 photos\)"):
        train(config(photo_dir, out))
    assert not out.exists()
    result = run_cli("train", "--data", str(photo_dir), "--out", str(out), *FAST)
    assert result.returncode != 0
    # counted before torch is imported: files, not yet photos read (tests/unit/test_cli_checks_first.py)
    assert len(result.stderr.splitlines()) == 1 and "lonely_salt (2 files)" in result.stderr
    assert not out.exists()


def test_a_product_whose_photos_are_all_broken_is_refused(photo_dir, tmp_path):
    ghost = photo_dir / "ghost_tea"
    ghost.mkdir()
    for i in range(4):
        (ghost / f"{i}.jpg").write_bytes(b"")
    with pytest.raises(DataError, match=r"ghost_tea \(0 photos\)"):
        train(config(photo_dir, tmp_path / "m.safetensors"))


# --- split file --------------------------------------------------------------------------------

def write_split(path: Path, photo_dir: Path, assign) -> Path:
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["path", "split"])
        for product in CLASSES:
            for photo in sorted((photo_dir / product).iterdir()):
                split = assign(int(photo.stem))
                if split:
                    w.writerow([f"{product}/{photo.name}", split])
    return path


def test_a_split_file_is_honoured(photo_dir, tmp_path):
    # per product: photos 0-3 train, 4-5 val, 6 test, 7 left out
    split = write_split(tmp_path / "split.csv", photo_dir,
                        lambda i: "train" if i < 4 else "val" if i < 6 else "test" if i == 6 else None)
    out = tmp_path / "m.safetensors"
    result = train(config(photo_dir, out, split_file=str(split)))
    ck = load_checkpoint(out)
    assert ck.meta["training"]["train_photos"] == 12
    assert result.results["val"]["n"] == 6
    assert result.results["test"]["n"] == 3


def test_a_split_file_with_an_unknown_split_is_refused(photo_dir, tmp_path):
    split = write_split(tmp_path / "split.csv", photo_dir, lambda i: "train" if i < 6 else "holdout")
    with pytest.raises(DataError, match="unknown split 'holdout'"):
        train(config(photo_dir, tmp_path / "m.safetensors", split_file=str(split)))


# --- resume and cancel -------------------------------------------------------------------------

def test_resume_continues_from_the_saved_epoch(photo_dir, tmp_path, monkeypatch):
    import model.train as train_module
    monkeypatch.setattr(train_module, "RESUME_EVERY_S", 0.0, raising=False)  # save every epoch
    out = tmp_path / "m.safetensors"
    first = Recorder(crash_after_epoch=2)
    with pytest.raises(KeyboardInterrupt):
        train(config(photo_dir, out, epochs=3), first)
    assert first.epochs == [1, 2]
    assert not out.exists()
    assert out.with_name(out.name + ".resume").is_file()
    _pretend_the_first_part_took(out.with_name(out.name + ".resume"), 5000.0, cpu=3000.0)

    second = Recorder()
    result = train(config(photo_dir, out, epochs=3, resume=True), second)
    assert any("resumed from epoch 2" in m for m in second.messages), second.messages
    assert second.epochs == [3], "only the epoch left should run"
    assert {epoch for epoch, _ in second.steps} == {2}
    assert [row["epoch"] for row in result.history] == [1, 2, 3]
    training = load_checkpoint(out).meta["training"]
    assert training["epochs_run"] == 3
    # the time before the crash counts: the lineage's CPU hours are the whole run's
    assert result.history[2]["seconds"] > 5000 and training["seconds"] > 5000
    assert training["lineage"]["runs"][-1]["seconds"] > 5000
    # CPU hours are the CPU time the processes used (a run on shared cores: less than the wall
    # time times its threads), the part before the crash included
    run = training["lineage"]["runs"][-1]
    assert 3000 < run["cpu_seconds"] < 4000 and result.history[2]["cpu_seconds"] > 3000
    assert training["lineage"]["cpu_hours"] == round(run["cpu_seconds"] / 3600, 2)
    assert not out.with_name(out.name + ".resume").exists()


def _pretend_the_first_part_took(resume_file, seconds: float, cpu: float = 0.0) -> None:
    """Rewrite the resume file's history as if its epochs had taken `seconds` and `cpu` CPU
    seconds (a real crash after hours, without the hours)."""
    import json

    from safetensors import safe_open
    from safetensors.torch import save_file
    with safe_open(str(resume_file), framework="pt") as f:
        meta = json.loads(f.metadata()["resume"])
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    for row in meta["history"]:
        row["seconds"] = row["seconds"] + seconds
        row["cpu_seconds"] = row["cpu_seconds"] + cpu
    save_file(tensors, str(resume_file), metadata={"resume": json.dumps(meta)})


def test_resume_with_other_settings_is_refused(photo_dir, tmp_path, monkeypatch):
    import model.train as train_module
    monkeypatch.setattr(train_module, "RESUME_EVERY_S", 0.0, raising=False)
    out = tmp_path / "m.safetensors"
    with pytest.raises(KeyboardInterrupt):
        train(config(photo_dir, out, epochs=2), Recorder(crash_after_epoch=1))
    with pytest.raises(ValueError, match="cannot resume.*lr"):
        train(config(photo_dir, out, epochs=2, lr=0.5, resume=True))


def test_cancel_leaves_no_output_file(photo_dir, tmp_path):
    out = tmp_path / "m.safetensors"
    rec = Recorder(cancel_after_steps=1)
    result = train(config(photo_dir, out, epochs=2), rec)
    assert result.cancelled and result.out is None
    assert not out.exists()
    assert not out.with_suffix(".report").exists()
    assert no_temp_files(tmp_path)
    assert len(rec.steps) == 1


def test_cancel_leaves_the_current_model_untouched(photo_dir, tmp_path, tiny_checkpoint):
    out = tmp_path / "active.safetensors"
    out.write_bytes(tiny_checkpoint.read_bytes())
    before = out.read_bytes()
    result = train(config(photo_dir, out, epochs=2), Recorder(cancel_after_steps=2))
    assert result.cancelled
    assert out.read_bytes() == before


# --- distillation ------------------------------------------------------------------------------

def test_distillation_from_a_teacher(photo_dir, tmp_path, tiny_checkpoint, no_onnx_export, monkeypatch,
                                     capsys):
    """The command's distillation flags reach the training (in this process: the command line
    in a new process is test_train_and_evaluate_through_the_command_line's; a process here cost
    ~60 s of the loaded default run for the same flags). The export fails here (stubbed): the
    model is written all the same, and the command says what the app will use instead."""
    import model.precision
    from assistant.cli import main
    monkeypatch.setattr(model.precision, "make_ready", lambda *a, **k: None)  # not the subject
    out = tmp_path / "student.safetensors"
    assert main(["train", "--data", str(photo_dir), "--out", str(out), *FAST,
                 "--teacher", str(tiny_checkpoint), "--temperature", "2",
                 "--distill-weight", "0.7"]) == 0
    assert "no ONNX Runtime file" in capsys.readouterr().err and out.is_file()
    cfg = load_checkpoint(out).meta["training"]["config"]
    assert cfg["teacher"] == [str(tiny_checkpoint)]
    assert cfg["temperature"] == 2.0 and cfg["distill_weight"] == 0.7


def test_distillation_with_unlabelled_photos(photo_dir, tmp_path, tiny_checkpoint):
    extra = tmp_path / "unlabelled" / "shelf"
    extra.mkdir(parents=True)
    for i in range(5):
        Image.fromarray(make_photo((120, 120, 30), seed=50 + i)).save(extra / f"{i}.jpg")
    out = tmp_path / "student.safetensors"
    rec = Recorder()
    result = train(config(photo_dir, out, teacher=[str(tiny_checkpoint)],
                          unlabeled=[str(extra.parent)]), rec)
    assert result.out == out
    assert any("added 5 unlabelled photos" in m for m in rec.messages), rec.messages


def test_a_teacher_that_knows_other_products_is_refused(photo_dir, tmp_path):
    from assistant.inference.architectures import build_model
    other = save_checkpoint(tmp_path / "other.safetensors", build_model("resnet18", 2).state_dict(),
                            {"architecture": "resnet18", "classes": make_classes(["soap", "salt"]),
                             "preprocessing": Preprocessing(size=32).to_dict()})
    with pytest.raises(ValueError, match="other products"):
        train(config(photo_dir, tmp_path / "m.safetensors", teacher=[str(other)]))


def test_freeze_keeps_the_stem_and_first_blocks_and_trains_the_rest(photo_dir, tmp_path, learnt):
    """--freeze N: the stem and the first N blocks (weights and batch-norm statistics) stay as
    they were, the later blocks and the head learn."""
    init = learnt[0].out                                       # a trained start, shared
    before = load_checkpoint(init).state_dict
    out = tmp_path / "frozen.safetensors"
    train(config(photo_dir, out, epochs=2, init=str(init), freeze="3", lr=3e-3))
    after = load_checkpoint(out).state_dict
    frozen = ("conv1.", "bn1.", "layer1.", "layer2.0.")      # stem + blocks 1-3 of resnet18
    for name, value in after.items():
        if name.endswith("num_batches_tracked"):
            continue
        same = torch.equal(value.float(), before[name].float())
        assert same == name.startswith(frozen), name


def test_freeze_beyond_the_last_block_is_refused(photo_dir, tmp_path):
    with pytest.raises(ValueError, match="0..7"):
        train(config(photo_dir, tmp_path / "x.safetensors", freeze="8"))


def test_evaluating_into_a_training_report_keeps_its_curves_and_other_results(photo_dir, tmp_path,
                                                                            learnt):
    """`evaluate --report-dir` beside a checkpoint adds the held-out pictures and figures; the
    training's history, curves and validation results stay."""
    import shutil
    out = tmp_path / "m.safetensors"                       # the session's learnt model, copied
    shutil.copy(learnt[0].out, out)
    shutil.copytree(learnt[0].out.with_suffix(".report"), out.with_suffix(".report"))
    report = out.with_suffix(".report")
    curves = (report / "curves.png").read_bytes()
    done = run_cli("evaluate", "--data", str(photo_dir), "--model", str(out), "--device", "cpu",
                   "--report-dir", str(report))
    assert done.returncode == 0, done.stderr
    assert len(json.loads((report / "history.json").read_text())) == 6
    assert (report / "curves.png").read_bytes() == curves
    results = json.loads((report / "metrics.json").read_text())["results"]
    assert {"val", "heldout"} <= set(results) and results["heldout"]["n"] == 24
    assert (report / "confusion_heldout_normalised.png").is_file()
