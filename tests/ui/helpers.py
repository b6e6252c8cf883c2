"""What the window tests share: a key press as a person makes it, the app's flags."""
from __future__ import annotations

import argparse


def app_args(**overrides) -> argparse.Namespace:
    """The flags of `main.py app` as run() receives them."""
    values = dict(source=None, hold=None, once=False, transcript=None, model=None,
                  language=None, engine="silent")
    values.update(overrides)
    return argparse.Namespace(**values)


def press(qtbot, widget, key_text: str) -> None:
    """Press the key written as 'Ctrl+Shift+Up' (as a person would) on widget."""
    from PySide6.QtGui import QKeySequence
    combo = QKeySequence(key_text)[0]
    qtbot.keyClick(widget, combo.key(), combo.keyboardModifiers())
