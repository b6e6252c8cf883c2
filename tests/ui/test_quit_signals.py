"""A polite kill (SIGTERM) or Ctrl+C ends the app whenever it comes, even during the start,
before Qt's event loop runs (assistant.ui.app._quit_on_signals)."""
from __future__ import annotations

from tests.helpers import run_python

EARLY_KILL = """
import os, signal, sys
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QWidget
from assistant.ui.app import _quit_on_signals
app = QApplication([])
window = QWidget()
window.show()
_quit_on_signals(window)
os.kill(os.getpid(), signal.SIGTERM)   # handled here, before the event loop runs
QTimer.singleShot(20000, lambda: app.exit(99))  # only a loop left running waits this out
print(app.exec(), window.isVisible())
"""


def test_a_kill_during_the_start_still_ends_the_app():
    done = run_python("-c", EARLY_KILL, env_extra={"QT_QPA_PLATFORM": "offscreen"}, timeout=120,
                      check=True)
    assert done.stdout.split() == ["0", "False"], done.stdout + done.stderr
