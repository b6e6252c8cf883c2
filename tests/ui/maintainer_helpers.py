"""What the maintainer-mode tests share: the window's context with a camera of chosen frames and a
recording speaker, photo folders, and the keyboard's ways through the dialog."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from tests.helpers import write_products
from tests.ui.helpers import press


class RecordingSpeaker:
    def __init__(self) -> None:
        self.said: list[str] = []

    def say(self, text, language=None, priority=None, kind="message", key=None) -> None:
        self.said.append(text)

    def heard(self, words: str) -> bool:
        return any(words in s for s in self.said)


class Context:
    """What the window hands maintainer mode, with a camera that shows `frames` in turn."""

    def __init__(self, model: Path, language: str = "en") -> None:
        from assistant.inference.classifier import Classifier
        from assistant.live.settings import Settings
        self.classifier = Classifier(model, device="cpu", bf16=False)
        self.speaker = RecordingSpeaker()
        self.settings = Settings(language=language)
        self.loaded: list[Path] = []
        self.frames: list[np.ndarray] = []

    def reload_model(self, path):
        from assistant.inference.classifier import Classifier
        self.classifier = Classifier(path, device="cpu", bf16=False)
        self.loaded.append(Path(path))
        return self.classifier

    def latest_frame(self):
        return self.frames.pop(0) if self.frames else None


def photos(folder: Path, color, n: int = 8, seed: int = 0) -> Path:
    """n photos of one product, in folder itself."""
    return write_products(folder.parent, {folder.name: color}, n, seed) / folder.name


def modal(qtbot, kind):
    from PySide6.QtWidgets import QApplication

    def ready() -> bool:  # shown, and holding the keyboard focus
        w, focus = QApplication.activeModalWidget(), QApplication.focusWidget()
        return isinstance(w, kind) and focus is not None and focus.window() is w
    qtbot.waitUntil(ready, timeout=5000)
    return QApplication.activeModalWidget()


def back_to(qtbot, dialog) -> None:
    """A closed sub-dialog hands activation back (a window manager does it on a desktop)."""
    dialog.activateWindow()
    qtbot.waitUntil(dialog.isActiveWindow, timeout=5000)


def type_text(qtbot, text: str) -> None:
    from PySide6.QtWidgets import QApplication
    qtbot.keyClicks(QApplication.focusWidget(), text)


def add_product_by_keyboard(qtbot, dialog, english: str, spanish: str) -> None:
    from assistant.ui.maintainer.dialogs import NamesDialog
    press(qtbot, dialog, "Alt+C")
    names = modal(qtbot, NamesDialog)
    type_text(qtbot, english)
    press(qtbot, names.english, "Tab")
    type_text(qtbot, spanish)
    press(qtbot, names.spanish, "Return")
    qtbot.waitUntil(lambda: not names.isVisible())
    back_to(qtbot, dialog)


def import_by_keyboard(qtbot, dialog, folder: Path) -> None:
    from PySide6.QtWidgets import QApplication, QFileDialog
    before = sum(dialog.library.counts().values())
    press(qtbot, dialog, "Alt+S")
    chooser = modal(qtbot, QFileDialog)
    edit = QApplication.focusWidget()
    edit.clear()
    qtbot.keyClicks(edit, str(folder))
    press(qtbot, edit, "Return")
    qtbot.waitUntil(lambda: dialog.importer is None and sum(dialog.library.counts().values()) > before,
                    timeout=30000)
    assert not chooser.isVisible()
    back_to(qtbot, dialog)


#: how long a retrain may take to start after Retrain: the warm-up child running since an
#: import is ended first, which took over 5 s (pytest-qt's default) under load 10 on 2 cores;
#: only a retrain that never starts waits it out
STARTS_MS = 60_000


def wait_retrained(qtbot, dialog, timeout=240_000) -> None:
    qtbot.waitUntil(lambda: dialog.worker is None, timeout=timeout)
