"""One product live in seconds: fast retraining reads photos through ONNX Runtime (the model's
features file), and a head-only retrain's runtime file is its base's network with the new head,
made without a PyTorch export."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from assistant.inference import export
from assistant.inference.checkpoint import load_checkpoint, save_checkpoint
from assistant.inference.classifier import Classifier
from assistant.inference.onnx_backend import OnnxClassifier
from assistant.inference.onnx_files import find_onnx
from assistant.inference.vision import load_image
from model.retrain import RetrainConfig, retrain
from model.retrain.features import FeatureCache
from tests.helpers import write_products


@pytest.fixture
def base(tmp_path, tiny_checkpoint, photo_dir) -> Path:
    ckpt = load_checkpoint(tiny_checkpoint)
    meta = dict(ckpt.meta, training={"config": {"data": str(photo_dir)}})
    return save_checkpoint(tmp_path / "base.safetensors", ckpt.state_dict, meta)


def test_features_through_onnx_runtime_are_pytorchs(base, photo_dir):
    photos = sorted(photo_dir.rglob("*.jpg"))
    ckpt = load_checkpoint(base)
    through_onnx = FeatureCache(ckpt, torch.device("cpu"))
    got, ok, _ = through_onnx.features(photos, ("photo", "mirror"))
    assert through_onnx._onnx(), "the features were not computed by ONNX Runtime"
    assert find_onnx(base, features=True) is not None  # made once, beside the model
    eager = FeatureCache(ckpt, torch.device("cpu"))
    eager._session = False
    eager.folder = eager.folder.with_name(eager.folder.name + "-eager")  # not the cache above
    want, _, _ = eager.features(photos, ("photo", "mirror"))
    assert all(ok) and got.shape == want.shape == (len(photos), 2, 512)
    assert torch.allclose(got, want, rtol=2e-3, atol=2e-3)  # the cache keeps float16


def test_a_head_only_retrain_runs_on_its_bases_network_without_an_export(base, tmp_path, monkeypatch):
    new = write_products(tmp_path / "new", {"yellow_oil": (220, 210, 40)}, seed=500)
    out = tmp_path / "new.safetensors"
    retrain(RetrainConfig(data=str(new), out=str(out), base=str(base)))
    ckpt = load_checkpoint(out)  # a head whose every weight and bias counts
    torch.manual_seed(1)
    head = {"fc.weight": torch.randn_like(ckpt.state_dict["fc.weight"]),
            "fc.bias": 3 * torch.randn_like(ckpt.state_dict["fc.bias"])}
    out = save_checkpoint(tmp_path / "head.safetensors", {**ckpt.state_dict, **head}, ckpt.meta)
    exported = []
    monkeypatch.setattr(export, "export_onnx", lambda *a, **k: exported.append(a) or 1 / 0)
    path = export.ensure_onnx(out)
    assert exported == [] and path.name.endswith(".onnx")
    photos = sorted(new.rglob("*.jpg")) + sorted((tmp_path / "photos").rglob("*.jpg"))
    pictures = [load_image(p) for p in photos]
    prep = load_checkpoint(out).preprocessing
    batch = prep.batch_array(pictures)
    runtime = OnnxClassifier(out).logits(batch)
    eager = Classifier(out, device="cpu", bf16=False).logits(torch.from_numpy(batch)).numpy()
    np.testing.assert_allclose(runtime, eager, rtol=1e-4, atol=1e-4)


def test_a_model_whose_network_changed_is_exported_not_built_on_its_base(base, tmp_path):
    new = write_products(tmp_path / "new", {"yellow_oil": (220, 210, 40)}, seed=500)
    out = tmp_path / "new.safetensors"
    retrain(RetrainConfig(data=str(new), out=str(out), base=str(base)))
    ckpt = load_checkpoint(out)
    state = dict(ckpt.state_dict)
    state["layer4.1.conv2.weight"] = state["layer4.1.conv2.weight"] * 0.5  # not its base's network
    changed = save_checkpoint(tmp_path / "changed.safetensors", state, ckpt.meta)
    export.ensure_features_onnx(base)
    assert export._from_base(out, tmp_path / "a.onnx") is not None
    assert export._from_base(changed, tmp_path / "b.onnx") is None


def test_the_lower_blocks_maps_through_onnx_runtime_are_pytorchs(base, photo_dir):
    """`--adapt upper` reads its photos through the lower blocks at its own size in ONNX
    Runtime (a file made once, in the cache's folder), and gets PyTorch's fp32 maps."""
    photos = sorted(photo_dir.rglob("*.jpg"))
    ckpt = load_checkpoint(base)
    bigger = ckpt.at_size(ckpt.preprocessing.size + 16)
    through_onnx = FeatureCache(bigger, torch.device("cpu"), "lower")
    got, ok, _ = through_onnx.features(photos, ("photo", "crop1"))
    assert through_onnx._onnx(), "the maps were not computed by ONNX Runtime"
    assert (through_onnx.folder / "lower.onnx").is_file()
    eager = FeatureCache(bigger, torch.device("cpu"), "lower")
    eager._session, eager.bf16 = False, False
    eager.folder = eager.folder.with_name(eager.folder.name + "-eager")
    want, _, _ = eager.features(photos, ("photo", "crop1"))
    assert all(ok) and got.shape == want.shape and got.shape[:2] == (len(photos), 2) and got.dim() == 5
    assert torch.allclose(got.float(), want.float(), rtol=2e-3, atol=2e-2)  # the cache keeps float16
