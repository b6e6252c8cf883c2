"""The interface walked in Spanish, as a Spanish-speaking maintainer meets it: the window, each
of its dialogs, maintainer mode with its file chooser and two refused actions (a retrain's
progress in Spanish: tests/model/test_retrain.py). Every text on screen or for the screen
reader is collected; an English sentence of the catalogue, or Qt's own English words, fails
the walk."""
from __future__ import annotations

import re

import pytest

from tests.ui.helpers import press

pytestmark = pytest.mark.timeout(300)

#: Qt's own English on buttons and labels of its dialogs (translated by qtbase_es)
QT_ENGLISH = {"Cancel", "Open", "Choose", "Look in:", "File name:", "Directory:", "Yes", "No",
              "Files of type:", "Back", "Forward", "Parent Directory", "Create New Folder",
              "List View", "Detail View"}


def english_fragments() -> list[str]:
    """Pieces of every catalogue sentence whose English differs from its Spanish: the text
    between {fields}, long enough (two words, 12 characters) not to occur in Spanish by chance."""
    from assistant.catalog import PHRASES
    pieces = set()
    for entry in PHRASES.values():
        if entry["en"] == entry.get("es"):
            continue
        for piece in re.split(r"\{[^}]*\}", entry["en"].replace("&", "")):
            piece = piece.strip(" .,:;()…")
            if len(piece) >= 12 and " " in piece:
                pieces.add(piece)
    return sorted(pieces)


def texts_of(root) -> list[str]:
    """Everything a widget tree shows or gives the screen reader."""
    from PySide6.QtWidgets import (
        QAbstractButton,
        QComboBox,
        QGroupBox,
        QLabel,
        QLineEdit,
        QListWidget,
        QPlainTextEdit,
        QTextEdit,
        QWidget,
    )
    found = [root.windowTitle()]
    for w in [root, *root.findChildren(QWidget)]:
        if not w.isVisible():
            continue
        found += [w.accessibleName(), w.accessibleDescription(), w.toolTip()]
        if isinstance(w, QLabel | QAbstractButton):
            found.append(w.text())
        if isinstance(w, QGroupBox):
            found.append(w.title())
        if isinstance(w, QLineEdit):
            found.append(w.placeholderText())
        if isinstance(w, QTextEdit | QPlainTextEdit):
            found.append(w.toPlainText())
        if isinstance(w, QListWidget):
            found += [w.item(i).text() for i in range(w.count())]
        if isinstance(w, QComboBox):
            found += [w.itemText(i) for i in range(w.count())]
    return [t.replace("&", "") for t in found if t]


def english_in(texts: list[str]) -> list[str]:
    fragments = english_fragments()
    bad = [t for t in texts if t.strip() in QT_ENGLISH]
    bad += [f"{t!r} holds {f!r}" for t in texts for f in fragments if f.lower() in t.lower()]
    return bad


def test_the_detector_sees_english():
    from assistant.catalog import phrase
    assert english_in([phrase("err_product_exists", "en", en="Rice", es="Arroz", pid="rice")])
    assert english_in(["Cancel"])
    assert not english_in([phrase("err_product_exists", "es", en="Rice", es="Arroz", pid="rice"),
                           "Cancelar"])


def test_walk_the_interface_in_spanish(make_window, qtbot, tmp_path):
    from PySide6.QtWidgets import QFileDialog

    from assistant.store import models
    from assistant.ui.maintainer import MaintainerDialog
    from tests.ui.maintainer_helpers import back_to, modal
    seen: dict[str, list[str]] = {}
    window = make_window(language="es", hold=0.3)
    qtbot.waitUntil(lambda: len(window.history.lines()) > 1, timeout=20000)
    seen["window"] = texts_of(window)
    for key in ("F1", "Ctrl+K", "Ctrl+,"):  # help, camera, settings
        press(qtbot, window, key)
        qtbot.waitUntil(lambda: window._dialog is not None and window._dialog.isVisible())
        seen[key] = texts_of(window._dialog)
        window._dialog.close()
        qtbot.waitUntil(lambda: window._dialog is None or not window._dialog.isVisible())
    press(qtbot, window, "Ctrl+Shift+M")
    qtbot.waitUntil(lambda: isinstance(getattr(window, "_dialog", None), MaintainerDialog),
                    timeout=5000)
    dialog = window._dialog
    qtbot.waitExposed(dialog)
    dialog.library.add("Rice", "Arroz")
    dialog.refresh()
    # a refused action: the same product again, and a roll-back with nothing to go back to
    dialog._guard(lambda: dialog.library.add("rice", "arroz"))
    assert "Ya hay un producto Arroz" in dialog.status.text()
    seen["refusal"] = [dialog.status.text()]
    dialog._guard(models.rollback)
    seen["maintainer"] = texts_of(dialog)
    # a refusal is urgent: it interrupts the one before if that is still being said, so only the
    # last is sure to be heard; the voice (its own thread) says it a moment after the status line
    last = dialog.status.text()
    qtbot.waitUntil(lambda: last in [t for t, *_ in window.engine.spoken], timeout=10000)
    dialog.activateWindow()
    back_to(qtbot, dialog)
    press(qtbot, dialog, "Alt+S")  # the file chooser, in Qt's own words
    chooser = modal(qtbot, QFileDialog)
    seen["file chooser"] = texts_of(chooser)
    chooser.reject()
    qtbot.waitUntil(lambda: not chooser.isVisible())
    said = [t for t, *_ in window.engine.spoken]
    seen["spoken"] = said
    seen["history"] = window.history.lines()
    bad = {where: english_in(texts) for where, texts in seen.items()}
    assert {where: b for where, b in bad.items() if b} == {}
    assert "Cancelar" in seen["file chooser"]
    dialog.close()
