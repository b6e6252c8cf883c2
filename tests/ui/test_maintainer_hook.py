"""The window's door to maintainer mode: MaintainerDialog(parent, app_context), and
app_context.reload_model(path) switching the running window to a new model."""
from __future__ import annotations

import sys
import threading
import types

import pytest


@pytest.fixture
def fake_maintainer(monkeypatch):
    """A stand-in assistant.ui.maintainer that records how it was built."""
    from PySide6.QtWidgets import QDialog
    built = []

    class MaintainerDialog(QDialog):
        def __init__(self, parent, app_context):
            super().__init__(parent)
            self.setObjectName("maintainer_dialog")
            built.append((parent, app_context))

    module = types.ModuleType("assistant.ui.maintainer")
    module.MaintainerDialog = MaintainerDialog
    monkeypatch.setitem(sys.modules, "assistant.ui.maintainer", module)
    return built


def test_maintainer_mode_gets_the_window_and_the_app_context(make_window, qtbot, fake_maintainer):
    window = make_window()
    window.actions_by_id["maintainer"].trigger()
    assert len(fake_maintainer) == 1
    parent, context = fake_maintainer[0]
    assert parent is window and context is window.context
    assert context.classifier is window.context.assistant.classifier
    assert context.speaker is window.context.speaker and context.settings is window.settings
    qtbot.waitUntil(lambda: window._dialog.isVisible())
    assert window.status_label.text() == "Maintainer mode."
    # the camera picture maintainer mode photographs products with
    qtbot.waitUntil(lambda: context.latest_frame() is not None, timeout=10000)
    assert context.latest_frame().ndim == 3 and context.latest_frame().shape[2] == 3


def test_a_broken_maintainer_module_is_said_not_raised(make_window, monkeypatch):
    module = types.ModuleType("assistant.ui.maintainer")

    def explode(parent, app_context):
        raise RuntimeError("half-built")

    module.MaintainerDialog = explode
    monkeypatch.setitem(sys.modules, "assistant.ui.maintainer", module)
    window = make_window()
    window.actions_by_id["maintainer"].trigger()
    assert window.status_label.text() == "Maintainer mode is not available."
    assert "Maintainer mode is not available." in window.announcements


def test_reload_model_switches_the_running_window(make_window, qtbot, tmp_path):
    """After a retrain, the new model names the products, without a restart."""
    import torch

    from assistant.inference.architectures import build_model
    from assistant.inference.checkpoint import CheckpointError, make_classes, save_checkpoint
    from assistant.inference.vision import Preprocessing
    window = make_window()
    ids = ["apple_juice", "oat_milk", "rice", "tea"]
    torch.manual_seed(1)
    meta = {"architecture": "resnet18", "preprocessing": Preprocessing(size=64).to_dict(),
            "classes": make_classes(ids, {"rice": {"en": "rice", "es": "arroz"}})}
    new_path = save_checkpoint(tmp_path / "v2.safetensors", build_model("resnet18", 4).state_dict(),
                               meta)
    context = window.context
    # maintainer mode retrains in a worker thread and may activate from there
    done = []
    worker = threading.Thread(target=lambda: done.append(context.reload_model(new_path)))
    worker.start()
    worker.join(60)
    classifier = done[0]
    assert context.classifier is classifier and context.assistant.classifier is classifier
    qtbot.waitUntil(lambda: window.status_label.text() == "New model loaded: 4 products.")
    qtbot.waitUntil(lambda: getattr(context.assistant.last_prediction, "label", None) in ids,
                    timeout=10000)
    # a broken file: an error for the caller, and the new model keeps working
    broken = tmp_path / "broken.safetensors"
    broken.write_bytes(b"junk")
    with pytest.raises(CheckpointError):
        context.reload_model(broken)
    assert context.assistant.classifier is classifier
