"""Maintainer mode's library driven by keyboard as a person would: capture from the camera, rename,
merge, remove; names refused with a reason; every control named and its label whole. Its retrain:
tests/ui/test_maintainer_retrain.py."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from tests.helpers import make_photo
from tests.ui.helpers import press
from tests.ui.maintainer_helpers import Context, back_to, modal, photos, type_text

pytest.importorskip("pytestqt")
# the retrain child skips its ONNX export and precision: not this file's subject
# (tests/model/test_maintainer_session.py tests them)
pytestmark = pytest.mark.usefixtures("no_export_in_children")


def test_too_few_photos_is_said_and_nothing_starts(qtbot, open_dialog, base):
    ctx = Context(base)
    dialog = open_dialog(ctx)
    dialog.library.add("Vinegar", "Vinagre")
    dialog.refresh()
    press(qtbot, dialog, "Alt+N")
    qtbot.waitUntil(lambda: ctx.speaker.heard("Vinegar: fewer than 5 photos"))
    assert dialog.worker is None


def test_capture_counts_down_keeps_good_frames_and_rejects_bad_ones(qtbot, open_dialog, base):
    ctx = Context(base)
    dialog = open_dialog(ctx)
    dialog.library.add("Olive oil", "Aceite de oliva")
    dialog.refresh()
    good = [make_photo((60 + 20 * i, 200 - 15 * i, 90), size=160, seed=i) for i in range(6)]
    dark = (good[0] * 0.1).astype(np.uint8)
    blurred = cv2.GaussianBlur(good[1], (0, 0), 4)
    ctx.frames = [good[0], dark, good[1], blurred, good[2], good[2].copy(), good[3], good[4], good[5]]
    dialog.capture_photos()
    capture = dialog.capture
    capture.session.target, capture.session.interval = 6, 0.05
    capture.complaint_gap = 0.0  # every complaint spoken (2 s apart in real use)
    qtbot.waitUntil(lambda: dialog.capture is None, timeout=20000)
    assert capture.session.rejected == {"dark": 1, "blurred": 1, "same": 1}
    assert [w for w in ctx.speaker.said if w in ("3", "2", "1")] == ["3", "2", "1"]
    assert ctx.speaker.heard("Too dark") and ctx.speaker.heard("Blurred")
    assert ctx.speaker.heard("5 photos.")
    assert ctx.speaker.heard("Done: 6 photos kept, 3 rejected")
    assert dialog.library.counts() == {"olive_oil": 6}


def test_escape_stops_a_capture_without_closing(qtbot, open_dialog, base):
    ctx = Context(base)
    dialog = open_dialog(ctx)
    dialog.library.add("Olive oil", "Aceite de oliva")
    dialog.refresh()
    press(qtbot, dialog, "Alt+T")
    qtbot.waitUntil(lambda: dialog.capture is not None)
    press(qtbot, dialog, "Escape")
    assert dialog.capture is None and dialog.isVisible()
    assert ctx.speaker.heard("Done: 0 photos kept")


def test_rename_merge_remove_by_keyboard(qtbot, open_dialog, base, tmp_path):
    from PySide6.QtWidgets import QMessageBox

    from assistant.ui.maintainer.dialogs import ChoiceDialog, NamesDialog
    ctx = Context(base)
    dialog = open_dialog(ctx)
    for en, es, color in (("Oil", "Aceite", (200, 200, 40)), ("Olive oil", "Aceite de oliva", (90, 160, 40))):
        p = dialog.library.add(en, es)
        dialog.library.import_folder(p.id, photos(tmp_path / p.id, color, n=5, seed=len(en) * 10))
    dialog.refresh(select="oil")
    press(qtbot, dialog, "Alt+A")
    names = modal(qtbot, NamesDialog)
    names.english.selectAll()
    type_text(qtbot, "Sunflower oil")
    press(qtbot, names.english, "Return")
    qtbot.waitUntil(lambda: dialog.library.get("oil").names["en"] == "Sunflower oil")
    assert ctx.speaker.heard("Renamed to Sunflower oil")
    back_to(qtbot, dialog)
    dialog.refresh(select="olive_oil")
    press(qtbot, dialog, "Alt+I")
    chooser = modal(qtbot, ChoiceDialog)
    press(qtbot, chooser.list, "Return")
    qtbot.waitUntil(lambda: "olive_oil" not in dialog.library.counts())
    assert dialog.library.counts() == {"oil": 10}
    assert ctx.speaker.heard("Merged into Sunflower oil: 10 photos")
    back_to(qtbot, dialog)
    press(qtbot, dialog, "Alt+R")
    box = modal(qtbot, QMessageBox)
    press(qtbot, box, "Alt+Y")
    qtbot.waitUntil(lambda: not dialog.library.products())
    assert ctx.speaker.heard("Sunflower oil deleted")


def test_empty_names_are_refused_with_a_reason(qtbot, open_dialog, base):
    from assistant.ui.maintainer.dialogs import NamesDialog
    ctx = Context(base)
    dialog = open_dialog(ctx)
    press(qtbot, dialog, "Alt+C")
    names = modal(qtbot, NamesDialog)
    type_text(qtbot, "Rice")
    press(qtbot, names.english, "Return")
    assert names.isVisible() and ctx.speaker.heard("Please give both names")
    press(qtbot, names, "Escape")
    assert dialog.library.products() == []


@pytest.mark.parametrize("language", ["en", "es"])
def test_every_control_has_a_name_and_description(qtbot, open_dialog, base, language):
    from assistant.ui.accessibility import focusable_widgets
    from assistant.ui.maintainer.dialogs import ChoiceDialog, NamesDialog
    ctx = Context(base, language)
    dialog = open_dialog(ctx)
    dialog.library.add("Rice", "Arroz")
    dialog.library.add("Tea", "Té")
    dialog.refresh()
    subs = [NamesDialog(dialog, language), ChoiceDialog(dialog, language, "t", [("a", "a")], "l", "d")]
    for root in [dialog, *subs]:
        root.show()
        qtbot.waitExposed(root)
        widgets = focusable_widgets(root)
        assert len(widgets) >= (15 if root is dialog else 3)
        bad = [f"{type(w).__name__} {w.objectName()}" for w in widgets
               if not w.accessibleName().strip() or not w.accessibleDescription().strip()]
        assert bad == [], bad
        root.close()
    if language == "es":
        assert ctx.speaker.said[0].startswith("Mantenimiento")


def test_opened_from_the_app_it_captures_from_the_apps_camera(make_window, qtbot):
    """The real window: Ctrl+Shift+M opens maintainer mode; capture takes the app's frames
    (here a photo folder shown as a camera) and pauses, then resumes, recognition."""
    from assistant.ui.maintainer import MaintainerDialog
    window = make_window(hold=0.2)
    press(qtbot, window, "Ctrl+Shift+M")
    qtbot.waitUntil(lambda: isinstance(getattr(window, "_dialog", None), MaintainerDialog), timeout=5000)
    dialog = window._dialog
    dialog.library.add("Green tea", "Té verde")
    dialog.refresh()
    was = window.settings.continuous
    window.context.source.live = True  # the photo folder stands in for a webcam here
    dialog.capture_photos()
    assert window.settings.continuous is False  # paused: it would name the product at every turn
    dialog.capture.session.target, dialog.capture.session.interval = 3, 0.1
    qtbot.waitUntil(lambda: dialog.capture is None, timeout=120_000)  # only a capture that never ends waits it out
    assert dialog.library.counts() == {"green_tea": 3}
    spoken = lambda: [text for text, *_ in window.engine.spoken]  # noqa: E731
    # the voice speaks from its own thread: the last sentence may come a moment after the capture
    qtbot.waitUntil(lambda: any("Done: 3 photos kept" in t for t in spoken()), timeout=10000)
    assert any("Recognition paused" in t for t in spoken())
    assert window.settings.continuous == was
    dialog.close()


def test_taking_photos_from_a_photo_folder_is_refused(make_window, qtbot):
    """Trial item 11: "Take photos with the camera" with a photo folder as the source saved a
    soda picture as avocado. It is refused, said why, and nothing is saved."""
    from assistant.ui.maintainer import MaintainerDialog
    window = make_window(hold=0.2)
    press(qtbot, window, "Ctrl+Shift+M")
    qtbot.waitUntil(lambda: isinstance(getattr(window, "_dialog", None), MaintainerDialog), timeout=5000)
    dialog = window._dialog
    dialog.library.add("Avocado", "Aguacate")
    dialog.refresh()
    dialog.capture_photos()
    assert dialog.capture is None and dialog.library.counts() == {"avocado": 0}
    qtbot.waitUntil(lambda: any("not a camera" in t for t, *_ in window.engine.spoken), timeout=10000)
    dialog.close()


def test_every_button_shows_its_whole_label_in_spanish(qtbot, open_dialog, base):
    from PySide6.QtWidgets import QPushButton
    dialog = open_dialog(Context(base, language="es"))
    dialog.resize(400, 300)  # a small window: the buttons must not be squeezed below their text
    qtbot.wait(100)
    buttons = [b for b in dialog.findChildren(QPushButton) if b.isVisible()]
    assert buttons
    for b in buttons:
        needed = b.fontMetrics().horizontalAdvance(b.text().replace("&", ""))
        assert b.width() >= needed, f"{b.text()!r}: {b.width()} px for {needed} px of text"
