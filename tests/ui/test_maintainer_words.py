"""Maintainer mode's pack words (issue 28: "the maintainer can see and edit them"): the retrain
can learn them (the box asks for WORD_PHOTOS photos a product), the report lists them, and
"Text of the packs…" changes one product's words by keyboard, written into the model."""
from __future__ import annotations

import pytest

from assistant.inference.checkpoint import load_checkpoint, read_metadata, save_checkpoint
from assistant.store import models
from tests.ui.helpers import press
from tests.ui.maintainer_helpers import Context, back_to, modal

pytest.importorskip("pytestqt")


@pytest.fixture
def worded(tiny_checkpoint, tmp_path):
    """The tiny model with pack words, activated (not the bundled one: that one is not changed)."""
    ckpt = load_checkpoint(tiny_checkpoint)
    meta = dict(ckpt.meta, label_words={"red_sauce": {"tomat": 1.0, "krossade": 0.5}, "green_tea": {}})
    return models.activate(save_checkpoint(tmp_path / "worded.safetensors", ckpt.state_dict, meta))


def test_the_retrain_box_asks_for_pack_words(worded):
    from assistant.maintainer.session import WORD_PHOTOS, MaintainerSession
    session = MaintainerSession()
    assert session.config(words=True).label_words == WORD_PHOTOS > 0
    assert session.config().label_words == 0


def test_a_products_pack_words_are_changed_by_keyboard(qtbot, open_dialog, worded):  # noqa: F811
    from assistant.ui.maintainer.words import WordsDialog
    ctx = Context(worded)
    dialog = open_dialog(ctx)
    press(qtbot, dialog, "Alt+X")
    edit = modal(qtbot, WordsDialog)
    listed = [edit.products.itemText(i) for i in range(edit.products.count())]
    assert listed == ["blue milk: none", "green tea: none", "tomato sauce: tomat, krossade"]
    assert edit.choice == "red_sauce" and edit.edit.text() == "tomat krossade"  # the first with words
    press(qtbot, edit.products, "Tab")
    edit.edit.selectAll()
    qtbot.keyClicks(edit.edit, "Tomat, passata")
    press(qtbot, edit.edit, "Return")
    back_to(qtbot, dialog)
    # the child process (models words) writes them; the window says what the model holds now
    qtbot.waitUntil(lambda: ctx.speaker.heard("Words for tomato sauce saved: passata, tomat."),
                    timeout=120_000)
    assert set(read_metadata(worded)["label_words"]["red_sauce"]) == {"tomat", "passata"}


def test_the_bundled_models_words_are_not_changed(qtbot, open_dialog):  # noqa: F811
    ctx = Context(models.bundled_default())
    dialog = open_dialog(ctx)
    press(qtbot, dialog, "Alt+X")
    qtbot.waitUntil(lambda: ctx.speaker.heard("is not changed: retrain first"), timeout=5000)
