"""Maintainer mode's retrain options, by keyboard: full mode cancelled halfway leaves the model in
use; the "Also adapt the upper blocks" box (Alt+B) makes the fast retrain change the upper half
of the network."""
from __future__ import annotations

import pytest
import torch

from assistant.inference.checkpoint import load_checkpoint
from assistant.store import models
from tests.ui import maintainer_helpers as maintainer
from tests.ui.helpers import press

Context, photos, wait_retrained = maintainer.Context, maintainer.photos, maintainer.wait_retrained
STARTS_MS = maintainer.STARTS_MS

pytest.importorskip("pytestqt")
pytestmark = pytest.mark.usefixtures("no_export_in_children")  # as in test_maintainer_retrain.py


def two_new_products_only(dialog, tmp_path) -> None:
    """Two products with photos in the library, and "only these products" ticked: full mode and
    the upper blocks change the network, so they need photos of every product it is to know."""
    for en, es, color in (("Yellow oil", "Aceite amarillo", (220, 210, 40)), ("Jam", "Mermelada", (130, 40, 150))):
        p = dialog.library.add(en, es)
        dialog.library.import_folder(p.id, photos(tmp_path / p.id, color))
    dialog.refresh()
    dialog.only.setChecked(True)


def test_cancel_by_keyboard_leaves_the_model_in_use(qtbot, open_dialog, base, tmp_path):
    ctx = Context(base)
    dialog = open_dialog(ctx)
    two_new_products_only(dialog, tmp_path)
    dialog.mode.setCurrentIndex(dialog.mode.findData("full"))  # minutes: time to cancel
    press(qtbot, dialog, "Alt+N")
    qtbot.waitUntil(lambda: dialog.worker is not None, timeout=STARTS_MS)
    press(qtbot, dialog, "Alt+E")
    qtbot.waitUntil(lambda: ctx.speaker.heard("Cancelling"))
    wait_retrained(qtbot, dialog)
    assert ctx.speaker.heard("Retraining cancelled")
    assert dialog.result is None and not dialog.activate_button.isEnabled()
    assert models.active_model_path() == base.resolve() and ctx.loaded == []


def test_the_upper_blocks_box_retrains_the_upper_half_too(qtbot, open_dialog, base, tmp_path):
    """Alt+B ticks "Also adapt the upper blocks": the fast retrain then changes the upper half of
    the network (the tiny ResNet-18's layer3-4) and leaves the lower half as it was."""
    ctx = Context(base)
    dialog = open_dialog(ctx)
    two_new_products_only(dialog, tmp_path)
    assert not dialog.block.isChecked()
    press(qtbot, dialog, "Alt+B")
    qtbot.waitUntil(dialog.block.isChecked)
    press(qtbot, dialog, "Alt+N")
    qtbot.waitUntil(lambda: dialog.worker is not None, timeout=STARTS_MS)
    wait_retrained(qtbot, dialog)
    assert dialog.result is not None and not dialog.result.cancelled, (dialog.report.toPlainText(), dialog.status.text())
    new = load_checkpoint(dialog.result.out)
    old = load_checkpoint(base).state_dict
    assert new.meta["retrain"]["adapt"] == "upper"
    assert not torch.equal(new.state_dict["layer4.1.conv2.weight"], old["layer4.1.conv2.weight"])
    assert torch.equal(new.state_dict["layer2.1.conv2.weight"], old["layer2.1.conv2.weight"])
