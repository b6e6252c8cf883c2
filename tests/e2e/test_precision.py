"""Precision chosen per model and per CPU kind by measurement (assistant.inference.precision, model.precision):
int8 (or bf16, on a CPU with bf16 units) is the default only where it was measured free, the
record is read back, and a choice made on one kind of CPU is not used on another. Tiny models,
real ONNX files."""
from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from assistant import machine
from assistant.inference import precision
from assistant.inference.onnx_backend import open_classifier
from assistant.inference.precision import (
    PrecisionChoice,
    chosen_precision,
    decide,
    fastest_lossless,
    read_choice,
)
from model import precision as making
from model.precision import measure

REAL_HAS_BF16 = machine.has_bf16
AVX2_FLAGS = {"avx2", "fma", "avx512f"}  # an AVX2/AVX-512 CPU without bf16 units or AMX


@pytest.fixture(autouse=True)
def _no_bf16(monkeypatch):
    """The int8 tests as on a CPU without bf16 units, so that bf16 does not compete with int8
    where this machine has them; the bf16 tests below put the real test back."""
    monkeypatch.setattr(machine, "has_bf16", lambda flags=None: False)


def _openvino_here() -> bool:
    from assistant.inference.openvino_backend import openvino_available
    return openvino_available()


def _split(photo_dir: Path) -> tuple[list[Path], list[tuple[Path, str]]]:
    """Six photos of each product to calibrate on, the other two held out."""
    train, held = [], []
    for folder in sorted(photo_dir.iterdir()):
        photos = sorted(folder.glob("*.jpg"))
        train += photos[:6]
        held += [(p, folder.name) for p in photos[6:]]
    return train, held


def _int8_misnames_one(monkeypatch, checked_too: bool = True) -> None:
    """int8 answers the first held-out photo with another product: lossy by any measure (and so
    does int8 checked, unless checked_too is False: the photo was one int8 was unsure of)."""
    real = making._top1

    def lossy(clf, batches):
        ids, rate = real(clf, batches)
        if clf.precision == "int8" or (checked_too and clf.precision == "int8-checked"):
            ids[0] = next(c for c in clf.class_ids if c != ids[0])
        return ids, rate
    monkeypatch.setattr(making, "_top1", lossy)


def test_decide_follows_the_bounds():
    assert decide(1.0, 0.90, 0.90) == "int8"
    assert decide(0.995, 0.90, 0.897) == "int8"       # exactly on both bounds
    assert decide(0.994, 0.90, 0.90) == "fp32"        # agreement short
    assert decide(1.0, 0.90, 0.8969) == "fp32"        # 0.31 points lost
    assert decide(0.999, 0.90, 0.95) == "int8"        # int8 better: nothing lost


def test_int8_checked_is_chosen_only_where_int8_alone_is_not_free():
    checked = {"int8-checked": (1.0, 0.9, 150.0)}
    assert fastest_lossless(0.9, checked | {"int8": (1.0, 0.9, 140.0)}) == "int8"  # a timing's noise
    assert fastest_lossless(0.9, checked | {"int8": (0.99, 0.9, 200.0)}) == "int8-checked"
    assert fastest_lossless(0.9, checked | {"int8": (0.99, 0.9, 200.0), "bf16": (1.0, 0.9, 180.0)}) == "bf16"


def test_int8_checked_asks_fp32_again_exactly_where_int8_is_unsure(trained_checkpoint, photo_dir,
                                                                   monkeypatch):
    import numpy as np

    from assistant.inference.onnx_backend import OnnxClassifier, checked
    from assistant.inference.vision import load_image
    train, held = _split(photo_dir)
    fp32 = OnnxClassifier(trained_checkpoint)
    int8 = OnnxClassifier(trained_checkpoint, int8=True, calibration=train)
    batch = np.concatenate([fp32.preprocessing.array(load_image(p)) for p in train[:12]])
    a8, a32 = int8.logits(batch), fp32.logits(batch)
    assert not np.allclose(a8, a32)  # the two files answer differently: each answer can be told
    p = np.exp(a8 - a8.max(1, keepdims=True))
    p = np.sort(p / p.sum(1, keepdims=True), 1)
    margins = p[:, -1] - p[:, -2]
    monkeypatch.setattr(precision, "CHECK_MARGIN", float(np.median(margins)))  # half of them unsure
    unsure = margins < precision.CHECK_MARGIN
    assert 0 < unsure.sum() < len(unsure)
    both = checked(trained_checkpoint, "int8")
    out = both.logits(batch)
    assert np.array_equal(out[unsure], a32[unsure]) and np.array_equal(out[~unsure], a8[~unsure])
    assert (both.asked, both.asked_again) == (12, int(unsure.sum()))
    assert both.precision == "int8-checked" and both.backend == "onnx-int8-checked"


def test_int8_checked_is_chosen_where_int8_misnames_what_it_was_unsure_of(trained_checkpoint, photo_dir,
                                                                          monkeypatch, capsys):
    monkeypatch.setattr(machine, "cpu_kind", lambda: "amx")
    _int8_misnames_one(monkeypatch, checked_too=False)
    train, held = _split(photo_dir)
    choice = measure(trained_checkpoint, train, held)
    assert choice.agreement == pytest.approx(5 / 6, abs=1e-4)
    c = choice.checked["int8"]
    assert (c["agreement"], c["top1"]) == (1.0, 1.0) and c["per_s"] > 0 and 0 <= c["asked_again"] <= 1
    assert choice.precision == "int8-checked" and chosen_precision(trained_checkpoint) == "int8-checked"
    assert open_classifier(trained_checkpoint, "auto", device="cpu").precision == "int8-checked"
    assert "int8 checked (" in _listed(trained_checkpoint, capsys)


@pytest.mark.parametrize(("flags", "kind"), [
    ({"avx2", "avx512bw", "avx512_vnni", "amx_int8"}, "amx"),
    ({"avx2", "avx512bw", "avx512_vnni"}, "avx512-vnni"),
    ({"avx2", "avx_vnni"}, "avx-vnni"),
    ({"avx2", "avx512bw"}, "avx512"),
    ({"avx2", "fma"}, "avx2"),
    (set(), "baseline"),
])
def test_cpu_kind_from_flags(flags, kind):
    assert machine.cpu_kind(flags) == kind


def test_lossless_int8_is_chosen_recorded_and_used(trained_checkpoint, photo_dir, monkeypatch):
    monkeypatch.setattr(machine, "cpu_kind", lambda: "amx")
    train, held = _split(photo_dir)
    choice = measure(trained_checkpoint, train, held)
    # the fitted tiny model names every photo right in both precisions
    assert (choice.agreement, choice.fp32_top1, choice.int8_top1) == (1.0, 1.0, 1.0)
    assert choice.precision == "int8" and choice.cpu_kind == "amx" and choice.photos == 6
    assert read_choice(trained_checkpoint) == choice        # read back from the record
    assert open_classifier(trained_checkpoint, "auto", device="cpu").precision == "int8"
    # --backend still overrides the measured choice
    assert open_classifier(trained_checkpoint, "onnx", device="cpu").precision == "fp32"


def test_lossy_int8_is_refused(trained_checkpoint, photo_dir, monkeypatch):
    """int8 answers one held-out photo in six differently: 83% agreement, 16.7 points lost."""
    monkeypatch.setattr(machine, "cpu_kind", lambda: "amx")
    _int8_misnames_one(monkeypatch)
    train, held = _split(photo_dir)
    choice = measure(trained_checkpoint, train, held)
    assert choice.agreement == pytest.approx(5 / 6, abs=1e-4)
    assert choice.loss_points == pytest.approx(100 / 6, abs=0.01)
    assert choice.precision == "fp32"
    assert chosen_precision(trained_checkpoint) == "fp32"
    assert open_classifier(trained_checkpoint, "auto", device="cpu").precision == "fp32"


def _listed(checkpoint: Path, capsys) -> str:
    from assistant.store.models import describe
    from model.models_cli import list_models
    capsys.readouterr()
    list_models([describe(checkpoint)], "en")
    return capsys.readouterr().out


def test_choice_is_kept_per_cpu_kind(trained_checkpoint, photo_dir, monkeypatch, capsys):
    """A choice measured on an AMX CPU is not used on an AVX2-only one, which measures its own;
    both stay in the record. `models list` shows the choice of the CPU at hand."""
    kind = {"now": "amx"}
    monkeypatch.setattr(machine, "cpu_kind", lambda: kind["now"])
    train, held = _split(photo_dir)
    on_amx = measure(trained_checkpoint, train, held)
    assert "precision: int8 on amx CPUs: int8 agrees with fp32 on 100.0% of 6" in _listed(trained_checkpoint, capsys)
    kind["now"] = "avx2"
    assert "precision: fp32 (int8 not measured on avx2 CPUs)" in _listed(trained_checkpoint, capsys)
    assert read_choice(trained_checkpoint) is None
    assert chosen_precision(trained_checkpoint) == "fp32"
    assert open_classifier(trained_checkpoint, "auto", device="cpu").precision == "fp32"
    lossy = PrecisionChoice("fp32", "avx2", 0.9, 1.0, 0.9, 6, 18)
    path = precision.write_choice(trained_checkpoint, lossy)
    assert read_choice(trained_checkpoint) == lossy
    assert read_choice(trained_checkpoint, kind="amx") == on_amx
    assert set(json.loads(path.read_text())["kinds"]) == {"amx", "avx2"}


def test_record_of_another_model_is_not_trusted(trained_checkpoint, tiny_checkpoint, photo_dir,
                                                monkeypatch):
    """A record is named and stamped with its checkpoint's SHA-256: copied beside another model
    under that model's name, it is ignored."""
    monkeypatch.setattr(machine, "cpu_kind", lambda: "amx")
    train, held = _split(photo_dir)
    measure(trained_checkpoint, train, held)
    from assistant.inference.onnx_files import file_sha256
    source = next((trained_checkpoint.parent / "onnx").glob("*.precision.json"))
    target = tiny_checkpoint.parent / "onnx" / (file_sha256(tiny_checkpoint) + ".precision.json")
    target.write_text(source.read_text())
    assert read_choice(tiny_checkpoint) is None


def test_make_ready_finds_the_recorded_photos(tmp_path, photo_dir, monkeypatch):
    """model.precision reads a model's training record for its photos: calibrated on the
    training split, judged on the test split; without the photos, nothing is measured."""
    from model.precision import make_ready, recorded_photos
    monkeypatch.setattr(machine, "cpu_kind", lambda: "amx")
    meta = {"training": {"config": {"data": str(photo_dir), "split": "50/25/25", "seed": 0}}}
    train, held = recorded_photos(meta)
    assert len(train) == 12 and len(held) == 6
    assert not {p for p, _ in held} & set(train)
    assert all(p.parent.name == c for p, c in held)
    assert recorded_photos({"training": {"config": {"data": str(tmp_path / "gone")}}}) == ([], [])
    assert make_ready(tmp_path / "missing.safetensors", train=[], heldout=[]) is None


def test_bf16_is_neither_measured_nor_run_on_a_cpu_without_bf16(trained_checkpoint, photo_dir, monkeypatch):
    """On a CPU that reports AVX2 (no amx_bf16, no avx512_bf16) bf16 is not measured, a record
    that says bf16 (made on another CPU of the same kind) is not followed, and OpenVINO bf16
    asked for by name is refused in one line."""
    from assistant.inference.onnx_files import ExportError
    monkeypatch.setattr(machine, "has_bf16", REAL_HAS_BF16)
    monkeypatch.setattr(machine, "cpu_flags", lambda: set(AVX2_FLAGS))
    monkeypatch.setattr(machine, "cpu_kind", lambda flags=None: "avx2")
    train, held = _split(photo_dir)
    choice = measure(trained_checkpoint, train, held)
    assert choice.bf16_agreement is None and choice.bf16_per_s == 0.0
    assert choice.precision in ("int8", "fp32")
    said_bf16 = PrecisionChoice("bf16", "avx2", 1.0, 1.0, 1.0, 6, 18, 10.0, 20.0, "", 1.0, 1.0, 40.0)
    precision.write_choice(trained_checkpoint, said_bf16)
    assert read_choice(trained_checkpoint) == said_bf16
    assert chosen_precision(trained_checkpoint) == "fp32"
    assert open_classifier(trained_checkpoint, "auto", device="cpu").precision == "fp32"
    precision.write_choice(trained_checkpoint, replace(said_bf16, precision="bf16-checked"))
    assert chosen_precision(trained_checkpoint) == "fp32"
    for backend in ("openvino-bf16", "openvino-bf16-checked"):
        with pytest.raises(ExportError, match="no bf16 units"):
            open_classifier(trained_checkpoint, backend, device="cpu")


@pytest.mark.skipif(not REAL_HAS_BF16() or not _openvino_here(),
                    reason="needs a CPU with bf16 units and OpenVINO (pip install -e '.[openvino]')")
def test_lossless_bf16_is_measured_chosen_and_run(trained_checkpoint, photo_dir, monkeypatch):
    """Where this CPU has bf16 units, bf16 (OpenVINO) is measured beside int8; with int8 lossy
    and bf16 naming every photo as fp32 does, bf16 is chosen, recorded and run."""
    monkeypatch.setattr(machine, "has_bf16", REAL_HAS_BF16)
    monkeypatch.setattr(machine, "cpu_kind", lambda flags=None: "amx")
    _int8_misnames_one(monkeypatch)
    train, held = _split(photo_dir)
    choice = measure(trained_checkpoint, train, held)
    assert (choice.bf16_agreement, choice.bf16_top1) == (1.0, 1.0) and choice.bf16_per_s > 0
    assert choice.checked["bf16"]["agreement"] == 1.0  # measured too, but bf16 alone is free
    assert choice.precision == "bf16"
    assert open_classifier(trained_checkpoint, "openvino-bf16-checked").precision == "bf16-checked"
    assert "bf16 (OpenVINO) agrees on 100.0%" in choice.line()
    assert read_choice(trained_checkpoint) == choice
    clf = open_classifier(trained_checkpoint, "auto", device="cpu")
    assert (clf.precision, clf.backend) == ("bf16", "openvino-bf16")
    fp32 = open_classifier(trained_checkpoint, "onnx", device="cpu")  # --backend overrides
    assert fp32.precision == "fp32"
    from assistant.inference.vision import load_image
    rgb = load_image(held[0][0])
    assert clf.predict(rgb).label == fp32.predict(rgb).label == held[0][1]


def test_the_fastest_lossless_precision_is_chosen():
    from assistant.inference.precision import fastest_lossless
    both = {"int8": (1.0, 0.9, 200.0), "bf16": (1.0, 0.9, 150.0)}
    assert fastest_lossless(0.9, both) == "int8"
    assert fastest_lossless(0.9, both | {"int8": (0.99, 0.9, 200.0)}) == "bf16"   # int8 lossy
    assert fastest_lossless(0.9, {"int8": (0.99, 0.9, 200.0), "bf16": (1.0, 0.896, 150.0)}) == "fp32"
    assert fastest_lossless(0.9, {}) == "fp32"
