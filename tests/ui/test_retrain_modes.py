"""Trial item 6: "Fast (about a minute)" took 9 minutes on a busy computer, and while it ran the
focus sat on "Stop retraining", where a stray Enter cancels it. The labels promise only what this
computer measured; the focus goes to the progress, and back to a working control at the end
(item 10)."""
from __future__ import annotations

import pytest

from tests.ui import test_maintainer as maintainer
from tests.ui.conftest import press

Context, photos, wait_retrained = maintainer.Context, maintainer.photos, maintainer.wait_retrained
STARTS_MS = maintainer.STARTS_MS
base, open_dialog = maintainer.base, maintainer.open_dialog  # the maintainer tests' fixtures

pytest.importorskip("pytestqt")
pytestmark = pytest.mark.usefixtures("no_export_in_children")  # as in test_maintainer.py


def labels(dialog):
    return [dialog.mode.itemText(i) for i in range(dialog.mode.count())]


@pytest.mark.parametrize("language", ["en", "es"])
def test_an_untimed_computer_is_promised_no_speed(qtbot, open_dialog, base, language):
    dialog = open_dialog(Context(base, language))
    words = " ".join(labels(dialog))
    assert "minute" not in words and "minuto" not in words
    assert all(("not yet timed" if language == "en" else "aún sin medir") in w
               for w in labels(dialog))


def test_a_mode_is_labelled_with_the_time_it_took_here(qtbot, open_dialog, base):
    from assistant.store import timings
    timings.record("fast", 540.0)
    dialog = open_dialog(Context(base))
    assert labels(dialog)[0] == "Fast (last layer; took 9 min here last time)"
    assert "not yet timed" in labels(dialog)[1]


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
    assert "fast" in timings.last_seconds() and "took" in labels(dialog)[0]
