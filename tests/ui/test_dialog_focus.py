"""Trial item 10, the main window's side: when a dialog it opened closes (settings, the camera
list, the help list), the window is active again with the focus where it was, so the next key
works without a click. Run it on a real X server too (the offscreen platform activates windows
by itself): QT_QPA_PLATFORM=xcb xvfb-run -a .venv/bin/python -m pytest tests/ui/test_dialog_focus.py"""
from __future__ import annotations

import pytest

from tests.ui.helpers import press


@pytest.mark.parametrize("key", ["Ctrl+,", "Ctrl+K", "F1"])
def test_after_a_dialog_closes_the_window_has_the_keys_again(make_window, qtbot, key):
    from PySide6.QtWidgets import QApplication, QDialog
    window = make_window(engine=None)
    button = window.buttons["repeat"]
    button.setFocus()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is button)
    press(qtbot, window, key)
    qtbot.waitUntil(lambda: isinstance(QApplication.activeWindow(), QDialog), timeout=5000)
    dialog = QApplication.activeWindow()
    press(qtbot, QApplication.focusWidget() or dialog, "Escape")
    qtbot.waitUntil(lambda: not dialog.isVisible())
    qtbot.waitUntil(window.isActiveWindow, timeout=5000)
    qtbot.waitUntil(lambda: QApplication.focusWidget() is button, timeout=5000)
