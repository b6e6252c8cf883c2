"""ONNX export and the ONNX Runtime backends: same answers as PyTorch, cached per checkpoint,
int8 only from real (here: synthetic) photos, and `classify --backend` end to end."""
from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from assistant.cli import main

ROOT = Path(__file__).resolve().parents[2]


def pictures(photo_dir: Path) -> list[np.ndarray]:
    from assistant.inference.vision import load_image
    return [load_image(p) for p in sorted(photo_dir.rglob("*.jpg"))]


def test_onnx_fp32_answers_like_torch_and_is_cached(tiny_checkpoint, photo_dir, isolated_home):
    from assistant.inference.classifier import Classifier
    from assistant.inference.onnx_backend import open_classifier
    torch_clf = Classifier(tiny_checkpoint, device="cpu")
    onnx_clf = open_classifier(tiny_checkpoint, "onnx")
    assert onnx_clf.onnx_path.parent == isolated_home / "cache" / "onnx"
    assert onnx_clf.class_ids == torch_clf.class_ids
    assert onnx_clf.name("red_sauce", "es") == "salsa de tomate"
    pics = pictures(photo_dir)
    batch = torch_clf.preprocessing.batch(pics)
    assert torch_clf.precision == "fp32" and onnx_clf.precision == "fp32"
    np.testing.assert_allclose(onnx_clf.logits(batch), torch_clf.logits(batch).numpy(),
                               rtol=1e-3, atol=1e-3)
    a, b = torch_clf.predict_batch(pics), onnx_clf.predict_batch(pics)
    assert [p.label for p in a] == [p.label for p in b]
    stamp = onnx_clf.onnx_path.stat().st_mtime_ns
    again = open_classifier(tiny_checkpoint, "onnx")
    assert again.onnx_path == onnx_clf.onnx_path and again.onnx_path.stat().st_mtime_ns == stamp


def test_the_pytorch_classifier_is_fp32_on_every_cpu_unless_bf16_is_asked(tiny_checkpoint, photo_dir,
                                                                           monkeypatch):
    import torch

    from assistant.inference import classifier
    monkeypatch.setattr(classifier, "cpu_has_bf16", lambda: True)  # as on an AVX-512 BF16 CPU
    fp32 = classifier.Classifier(tiny_checkpoint, device="cpu")
    assert fp32.precision == "fp32" and not fp32.bf16
    bf16 = classifier.Classifier(tiny_checkpoint, device="cpu", bf16=True)  # the other path, forced
    assert bf16.precision == "bf16"
    batch = fp32.preprocessing.batch(pictures(photo_dir))
    a, b = fp32.logits(batch), bf16.logits(batch)
    assert a.dtype == b.dtype == torch.float32
    assert not torch.equal(a, b)  # bf16 really ran: its rounding shows
    np.testing.assert_allclose(b.numpy(), a.numpy(), atol=0.25)


def test_unknown_bf16_support_means_no(monkeypatch):
    import torch

    from assistant.inference.classifier import cpu_has_bf16

    def broken():
        raise RuntimeError("no oneDNN here")
    monkeypatch.setattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", broken, raising=False)
    assert cpu_has_bf16() is False


def test_a_changed_checkpoint_gets_a_fresh_export(tiny_checkpoint, tmp_path):
    from assistant.inference.architectures import build_model
    from assistant.inference.checkpoint import load_checkpoint, save_checkpoint
    from assistant.inference.export import ensure_onnx as cached_onnx
    first = cached_onnx(tiny_checkpoint)
    ckpt = load_checkpoint(tiny_checkpoint)
    other = build_model("resnet18", 3)  # new weights, same file name
    meta = {k: v for k, v in ckpt.meta.items() if k != "weights_sha256"}
    save_checkpoint(tiny_checkpoint, other.state_dict(), meta)
    assert cached_onnx(tiny_checkpoint) != first


def test_int8_needs_calibration_photos_then_agrees(trained_checkpoint, photo_dir):
    from assistant.inference.onnx_backend import open_classifier
    from assistant.inference.onnx_files import ExportError
    with pytest.raises(ExportError, match="calibration"):
        open_classifier(trained_checkpoint, "onnx-int8")
    photos = sorted(photo_dir.rglob("*.jpg"))
    int8 = open_classifier(trained_checkpoint, "onnx-int8", calibration=photos)
    assert int8.onnx_path.name.endswith(".int8.onnx")
    import onnx
    ops = {node.op_type for node in onnx.load(str(int8.onnx_path)).graph.node}
    assert "QuantizeLinear" in ops and "DequantizeLinear" in ops
    fp32 = open_classifier(trained_checkpoint, "onnx")
    pics = pictures(photo_dir)
    p8, p32 = int8.predict_batch(pics), fp32.predict_batch(pics)
    truth = [p.parent.name for p in photos]
    # a model that knows the three products: both name every photo, and int8 as surely as fp32
    assert [p.top[0][0] for p in p32] == truth
    assert [p.top[0][0] for p in p8] == truth
    diff = max(abs(a.top[0][1] - dict(b.top)[a.top[0][0]]) for a, b in zip(p8, p32, strict=True))
    assert diff < 0.1
    # made once: later uses need no photos
    assert open_classifier(trained_checkpoint, "onnx-int8").onnx_path == int8.onnx_path


def test_classify_with_onnx_backends_matches_torch(photo_dir, trained_checkpoint, tmp_path,
                                                   capsys):
    labels = {}
    for backend in ("torch", "onnx", "onnx-int8"):
        out = tmp_path / f"{backend}.csv"
        assert main(["classify", str(photo_dir), "-r", "--out", str(out), "--model",
                     str(trained_checkpoint), "--backend", backend, "--no-progress"]) == 0
        with open(out, newline="") as fh:
            labels[backend] = [(r["path"], r["label"]) for r in csv.DictReader(fh)]
    truth = [(str(p.relative_to(photo_dir)), p.parent.name) for p in sorted(photo_dir.rglob("*.jpg"))]
    assert len(labels["torch"]) == 24
    for backend, found in labels.items():  # every backend names every photo right
        assert sorted(found) == sorted(truth), backend
    capsys.readouterr()


def test_export_command_writes_beside_the_checkpoint(tiny_checkpoint, photo_dir):
    run = subprocess.run([sys.executable, "-m", "model.export", str(tiny_checkpoint), "--int8",
                          "--calibration", str(photo_dir)], cwd=ROOT, capture_output=True, text=True,
                         timeout=600)
    assert run.returncode == 0, run.stderr
    fp32, int8 = tiny_checkpoint.with_suffix(".onnx"), tiny_checkpoint.with_name("tiny.int8.onnx")
    assert run.stdout.split() == [str(fp32), str(int8)]
    import onnxruntime as ort
    session = ort.InferenceSession(str(fp32), providers=["CPUExecutionProvider"])
    meta = session.get_modelmeta().custom_metadata_map
    assert meta["class_ids"] == "blue_milk,green_tea,red_sauce" and len(meta["checkpoint_sha256"]) == 64
    out = session.run(None, {"input": np.zeros((5, 3, 64, 64), np.float32)})[0]
    assert out.shape == (5, 3)  # dynamic batch axis
    bad = subprocess.run([sys.executable, "-m", "model.export", str(photo_dir / "nothing.safetensors")],
                         cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 1 and "no such model file" in bad.stderr


def test_auto_backend_picks_onnx_on_a_cpu_for_every_architecture(tiny_checkpoint, photo_dir, tmp_path):
    import torch

    from assistant.inference.architectures import build_model, default_preprocessing
    from assistant.inference.checkpoint import make_classes, save_checkpoint
    from assistant.inference.classifier import Classifier
    from assistant.inference.onnx_backend import open_classifier
    assert open_classifier(tiny_checkpoint, "auto", device="cpu").backend == "onnx"
    torch.manual_seed(1)
    lite = save_checkpoint(tmp_path / "lite.safetensors",
                           build_model("efficientnet-lite0", 3, image_size=64).state_dict(),
                           {"architecture": "efficientnet-lite0", "classes": make_classes(["a", "b", "c"]),
                            "preprocessing": default_preprocessing("efficientnet-lite0", 64).to_dict()})
    auto = open_classifier(lite, "auto", device="cpu")
    assert auto.backend == "onnx"
    pics = pictures(photo_dir)
    batch = auto.preprocessing.batch(pics)
    np.testing.assert_allclose(auto.logits(batch), Classifier(lite, device="cpu").logits(batch).numpy(),
                               rtol=1e-3, atol=1e-3)
    with pytest.raises(ValueError, match="unknown backend"):
        open_classifier(lite, "tensorrt")


def test_a_mirror_averaging_model_answers_alike_on_onnx(tiny_checkpoint, photo_dir, isolated_home, tmp_path):
    from assistant.inference.checkpoint import load_checkpoint, save_checkpoint
    from assistant.inference.classifier import Classifier
    from assistant.inference.onnx_backend import open_classifier
    ck = load_checkpoint(tiny_checkpoint)
    meta = dict(ck.meta, preprocessing=dict(ck.meta["preprocessing"], mirror=True))
    meta.pop("weights_sha256", None)
    mirrored = save_checkpoint(tmp_path / "mirror.safetensors", ck.state_dict, meta, half=False)
    torch_clf, onnx_clf = Classifier(mirrored, device="cpu"), open_classifier(mirrored, "onnx")
    batch = torch_clf.preprocessing.batch(pictures(photo_dir))
    np.testing.assert_allclose(onnx_clf.logits(batch), torch_clf.logits(batch).numpy(), rtol=1e-3, atol=1e-3)
    plain = Classifier(tiny_checkpoint, device="cpu").logits(batch).numpy()
    assert not np.allclose(onnx_clf.logits(batch), plain, atol=1e-3)  # it did average the mirror image
