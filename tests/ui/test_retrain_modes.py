"""Trial item 6: "Fast (about a minute)" took 9 minutes on a busy computer, and while it ran the
focus sat on "Stop retraining", where a stray Enter cancels it. The labels say what this
computer's measured speed makes of the library as it is now (photos already read cost nothing
again); the focus goes to the progress, which says the estimate; Stop stays one Shift+Tab away
and Escape stops; the focus goes back to a working control at the end (item 10)."""
from __future__ import annotations

import pytest

from tests.ui import maintainer_helpers as maintainer
from tests.ui.helpers import press

Context, photos, wait_retrained = maintainer.Context, maintainer.photos, maintainer.wait_retrained
STARTS_MS = maintainer.STARTS_MS

pytest.importorskip("pytestqt")
pytestmark = pytest.mark.usefixtures("no_export_in_children")  # as in test_maintainer_retrain.py


def labels(dialog):
    return [dialog.mode.itemText(i) for i in range(dialog.mode.count())]


@pytest.fixture
def no_warm_up(monkeypatch):
    """No features read ahead: the labels then rest on what the test recorded alone."""
    from assistant.maintainer.session import MaintainerSession
    monkeypatch.setattr(MaintainerSession, "start_warm", lambda self, *a, **k: None)


def library_of(tmp_path, n: int = 12):
    from assistant.store.library import Library
    library = Library()
    product = library.add("Yellow oil", "Aceite amarillo")
    library.import_folder(product.id, photos(tmp_path / "oil", (220, 210, 40), n=n))
    return library


@pytest.mark.parametrize("language", ["en", "es"])
def test_an_untimed_computer_is_promised_no_speed(qtbot, open_dialog, base, language):
    dialog = open_dialog(Context(base, language))
    words = " ".join(labels(dialog))
    assert "minute" not in words and "minuto" not in words
    assert all(("not yet timed" if language == "en" else "aún sin medir") in w
               for w in labels(dialog))


@pytest.mark.parametrize("language", ["en", "es"])
def test_the_labels_say_the_estimate_for_the_library_as_it_is(qtbot, open_dialog, base, tmp_path,
                                                               no_warm_up, language):
    from assistant.store import timings
    library_of(tmp_path, 12)
    timings.record(timings.model_key(base), view_s=5.0, fixed_s=20.0, full_photo_s=30.0)
    dialog = open_dialog(Context(base, language))
    fast, full = labels(dialog)
    # nothing counted yet: 12 photos, each read as the photo and its mirror image
    assert fast == {"en": "Fast (last layer): about 2 min for your 12 photos",
                    "es": "Rápido (última capa): unos 2 min para sus 12 fotos"}[language]
    assert full == {"en": "Full (whole network): about 6 min for your 12 photos",
                    "es": "Completo (toda la red): unos 6 min para sus 12 fotos"}[language]
    dialog.views._warm_counted({"cold": 0, "photos": 12})   # the warm-up found them all cached
    assert labels(dialog)[0].endswith({"en": "about 20 s for your 12 photos",
                                       "es": "unos 20 s para sus 12 fotos"}[language])
    dialog.block.setChecked(True)   # the upper blocks: not timed here yet
    assert labels(dialog)[0] == {"en": "Fast (last layer; not yet timed on this computer)",
                                 "es": "Rápido (última capa; aún sin medir en este ordenador)"}[language]


def test_the_focus_goes_to_the_progress_which_says_the_estimate(qtbot, open_dialog, base,
                                                                 tmp_path, no_warm_up):
    from assistant.store import timings
    ctx = Context(base)
    library_of(tmp_path, 8)
    timings.record(timings.model_key(base), view_s=0.5, fixed_s=300.0)
    dialog = open_dialog(ctx)
    dialog.refresh()
    press(qtbot, dialog, "Alt+N")                    # Retrain
    qtbot.waitUntil(lambda: dialog.worker is not None)
    assert dialog.focusWidget() is dialog.progress, dialog.focusWidget()
    assert "about 5 min on this computer" in dialog.progress.accessibleDescription()
    press(qtbot, dialog.progress, "Shift+Tab")        # Stop is one step away
    assert dialog.focusWidget() is dialog.views.cancel_button, dialog.focusWidget()
    press(qtbot, dialog.views.cancel_button, "Tab")
    assert dialog.focusWidget() is dialog.progress
    press(qtbot, dialog.progress, "Escape")           # Escape stops the retrain, not the window
    qtbot.waitUntil(lambda: ctx.speaker.heard("Cancelling"))
    wait_retrained(qtbot, dialog)
    assert dialog.isVisible() and dialog.result is None
    assert dialog.focusWidget() is dialog.views.retrain_button


def test_the_focus_follows_the_progress_then_the_result(qtbot, open_dialog, base, tmp_path):
    from assistant.store import timings
    ctx = Context(base)
    dialog = open_dialog(ctx)
    product = dialog.library.add("Yellow oil", "Aceite amarillo")
    dialog.library.import_folder(product.id, photos(tmp_path / "oil", (220, 210, 40)))
    dialog.refresh()
    press(qtbot, dialog, "Alt+N")                    # Retrain
    qtbot.waitUntil(lambda: dialog.worker is not None, timeout=STARTS_MS)
    assert dialog.focusWidget() is dialog.progress, dialog.focusWidget()
    press(qtbot, dialog.progress, "Return")           # a stray Enter cancels nothing
    wait_retrained(qtbot, dialog)
    assert dialog.result is not None and not dialog.result.cancelled
    assert dialog.focusWidget() is dialog.activate_button
    # the retrain measured this computer's speed: the labels now say an estimate
    assert "fixed_s" in timings.speed(timings.model_key(base))
    assert "about" in labels(dialog)[0]


def test_the_upper_blocks_estimate_counts_only_what_was_never_read(qtbot, open_dialog, base, tmp_path,
                                                                  no_warm_up):
    """A second retrain with the upper blocks reads nothing again: its label says the passes."""
    from assistant.store import timings
    library_of(tmp_path, 12)
    timings.record(timings.model_key(base), lower_view_s=5.0, upper_fixed_s=20.0, upper_photo_s=10.0)
    dialog = open_dialog(Context(base))
    dialog.block.setChecked(True)
    # nothing counted yet: three views of each photo, 36 x 5 s + 20 s + 12 photos x 10 s = 320 s
    assert labels(dialog)[0].endswith("about 5 min for your 12 photos"), labels(dialog)
    dialog.views._warm_counted({"cold_upper": 0})   # the warm-up found every photo read before
    assert labels(dialog)[0].endswith("about 2 min for your 12 photos"), labels(dialog)  # 140 s


def test_the_upper_blocks_box_follows_the_default_until_the_maintainer_chooses(qtbot, open_dialog, base,
                                                                             tmp_path, no_warm_up):
    """The warm-up says whether `retrain --adapt auto` would adapt the upper blocks for this
    library; the box shows it (and the label its time) until the maintainer ticks or clears it."""
    library_of(tmp_path, 12)
    dialog = open_dialog(Context(base))
    assert not dialog.block.isChecked()
    dialog.views._warm_counted({"cold_upper": 0, "upper": True})
    assert dialog.block.isChecked()
    dialog.block.click()  # the maintainer clears it (a click, as Space or the mouse)
    assert not dialog.block.isChecked()
    dialog.views._warm_counted({"cold_upper": 0, "upper": True})
    assert not dialog.block.isChecked()
