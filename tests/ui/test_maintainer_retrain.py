"""Maintainer mode's retrain, driven by keyboard as a person would: add a product, import its
photos from a folder, retrain (fast, tiny data) in a child process, read the report, activate,
roll back; a worse model needs a confirmation; features are prepared while photos are added."""
from __future__ import annotations

import pytest

from assistant.inference.checkpoint import load_checkpoint, save_checkpoint
from assistant.store import models
from tests.helpers import make_photo
from tests.ui.helpers import press
from tests.ui.maintainer_helpers import (
    STARTS_MS,
    Context,
    add_product_by_keyboard,
    back_to,
    import_by_keyboard,
    modal,
    photos,
    wait_retrained,
)

pytest.importorskip("pytestqt")
# the retrain child skips its ONNX export and precision: not this file's subject
# (tests/model/test_maintainer_session.py tests them)
pytestmark = pytest.mark.usefixtures("no_export_in_children")


def test_add_import_retrain_report_activate_rollback_by_keyboard(qtbot, open_dialog, base, tmp_path):
    ctx = Context(base)
    dialog = open_dialog(ctx)
    add_product_by_keyboard(qtbot, dialog, "Yellow oil", "Aceite amarillo")
    assert [p.id for p in dialog.library.products()] == ["yellow_oil"]
    assert ctx.speaker.heard("Yellow oil added")
    folder = photos(tmp_path / "oil", (220, 210, 40), seed=700)
    (folder / "broken.jpg").write_bytes(b"\xff\xd8 not a photo")
    import_by_keyboard(qtbot, dialog, folder)
    assert dialog.library.counts() == {"yellow_oil": 8}
    assert ctx.speaker.heard("8 photos added to Yellow oil") and ctx.speaker.heard("1 skipped")
    assert "broken.jpg" in dialog.report.toPlainText()
    assert "8 photos" in dialog.products.currentItem().text()

    press(qtbot, dialog, "Alt+N")  # a button's mnemonic clicks it after a short animation
    qtbot.waitUntil(lambda: dialog.worker is not None, timeout=STARTS_MS)
    row = dialog.products.currentRow()
    press(qtbot, dialog.products, "End")  # the window still answers while retraining
    assert dialog.worker is not None and dialog.products.currentRow() == row == 0
    wait_retrained(qtbot, dialog)
    assert dialog.result is not None and not dialog.result.cancelled
    text = dialog.report.toPlainText()
    assert "Held-out accuracy" in text and "Yellow oil" in text
    assert not dialog.picture.pixmap().isNull()
    assert ctx.speaker.heard("Retraining done")
    assert dialog.progress.value() == 1000
    assert models.active_model_path() == base.resolve()  # nothing changes before activation

    from PySide6.QtWidgets import QMessageBox
    worse = dialog.result.report.comparison.worse
    press(qtbot, dialog, "Alt+V")
    if worse:  # the tiny random model may judge either way; the question is tested below
        press(qtbot, modal(qtbot, QMessageBox), "Alt+Y")
    qtbot.waitUntil(lambda: bool(ctx.loaded), timeout=10000)
    back_to(qtbot, dialog)
    active = models.active_model_path()
    assert ctx.loaded[-1] == active and active != base.resolve()
    assert ctx.classifier.class_ids[-1] == "yellow_oil"
    assert ctx.classifier.name("yellow_oil", "es") == "Aceite amarillo"
    assert ctx.speaker.heard("New model active: 4 products")

    press(qtbot, dialog, "Alt+L")
    qtbot.waitUntil(lambda: len(ctx.loaded) == 2)
    assert models.active_model_path() == base.resolve() == ctx.loaded[-1].resolve()
    assert ctx.speaker.heard("Back to the previous model: 3 products")
    assert dialog.status.text() == "Back to the previous model: 3 products."


def test_a_worse_model_asks_before_activation(qtbot, open_dialog, tmp_path, tiny_checkpoint):
    """Two products whose photos are one same picture (50 %), the model in use records 99 %."""
    from PySide6.QtWidgets import QApplication, QMessageBox
    ckpt = load_checkpoint(tiny_checkpoint)
    good = models.activate(save_checkpoint(tmp_path / "good.safetensors", ckpt.state_dict,
                                           dict(ckpt.meta, metrics={"heldout": {"top1": 0.99}})))
    ctx = Context(good)
    dialog = open_dialog(ctx)
    picture = make_photo((90, 90, 200), seed=3)
    for en, es in (("Twin A", "Gemelo A"), ("Twin B", "Gemelo B")):
        p = dialog.library.add(en, es)
        for i in range(6):  # the same pixels: stored once each, so vary one corner pixel
            frame = picture.copy()
            frame[0, 0] = i
            dialog.library._store(p.id, frame)
    dialog.refresh()
    dialog.only.setChecked(True)
    press(qtbot, dialog, "Alt+N")
    qtbot.waitUntil(lambda: dialog.worker is not None, timeout=STARTS_MS)
    wait_retrained(qtbot, dialog)
    assert dialog.result.report.comparison.verdict == "worse"
    assert ctx.speaker.heard("Worse than the model in use")
    press(qtbot, dialog, "Alt+V")
    box = modal(qtbot, QMessageBox)
    press(qtbot, box, "Return")  # the default answer is No
    qtbot.waitUntil(lambda: ctx.speaker.heard("Not activated"))
    back_to(qtbot, dialog)
    assert models.active_model_path() == good.resolve() and ctx.loaded == []
    press(qtbot, dialog, "Alt+V")
    box = modal(qtbot, QMessageBox)
    press(qtbot, box, "Alt+Y")
    qtbot.waitUntil(lambda: bool(ctx.loaded))
    assert ctx.classifier.class_ids == ["twin_a", "twin_b"]
    assert QApplication.activeModalWidget() is None


def test_features_are_prepared_while_the_user_adds_photos(qtbot, open_dialog, base, tmp_path):
    """After an import the dialog computes, in the background, what a fast retrain needs."""
    import torch

    from model.retrain.features import FeatureCache
    ctx = Context(base)
    dialog = open_dialog(ctx)
    p = dialog.library.add("Yellow oil", "Aceite amarillo")
    dialog.refresh()
    import_by_keyboard(qtbot, dialog, photos(tmp_path / "oil", (220, 210, 40)))
    qtbot.waitUntil(lambda: dialog.warmer is not None, timeout=5000)
    qtbot.waitUntil(lambda: dialog.warmer is None, timeout=240_000)  # as a retrain: over 60 s under load 10
    cache = FeatureCache(load_checkpoint(base), torch.device("cpu"))
    files = dialog.library.photo_paths(p.id)
    assert len(files) == 8 and cache.batches_needed(files, ("photo", "mirror")) == 0
