"""The command table feeds the F1 list, the spoken help and the README, in both languages."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.mark.parametrize("language", ["en", "es"])
def test_f1_lists_every_command_with_its_key(make_window, qtbot, language):
    from PySide6.QtGui import QKeySequence

    from assistant.ui.commands import COMMANDS
    window = make_window(language=language)
    qtbot.keyClick(window.focusWidget() or window, QKeySequence("F1")[0].key())
    qtbot.waitUntil(lambda: window._dialog is not None and window._dialog.isVisible())
    lines = window._dialog.lines()
    assert len(lines) == len(COMMANDS)
    for cmd, line in zip(COMMANDS, lines, strict=True):
        key = window.actions_by_id[cmd.id].shortcut().toString(QKeySequence.SequenceFormat.NativeText)
        assert line == f"{key}: {cmd.describe(language)}"
    first = COMMANDS[0].describe(language)
    qtbot.waitUntil(lambda: any(first in t for t in window.engine.texts))
    help_text = next(t for t in window.engine.texts if first in t)
    assert all(cmd.describe(language) in help_text for cmd in COMMANDS)


def test_spoken_help_says_keys_as_words():
    from assistant.ui.commands import spoken_help, spoken_key
    assert spoken_key("Ctrl+Shift+Up", "en") == "Control Shift Up arrow"
    assert spoken_key("Ctrl+Shift+Up", "es") == "Control Mayúsculas flecha arriba"
    assert spoken_key("Ctrl+,", "en") == "Control comma"
    assert spoken_key("Ctrl++", "en") == "Control plus"
    text = spoken_help(None, "en")
    assert "Escape: stop speaking." in text and "Ctrl" not in text


def test_shortcuts_avoid_what_screen_readers_and_buttons_need():
    """No bare letters (screen-reader quick keys), no Space/Enter/Tab (they press buttons
    and move focus), no Insert/CapsLock (the screen reader's own modifier keys)."""
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QKeySequence

    from assistant.ui.commands import COMMANDS
    reserved = {Qt.Key.Key_Space, Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Tab,
                Qt.Key.Key_Insert, Qt.Key.Key_CapsLock}
    keys = set()
    for cmd in COMMANDS:
        combo = QKeySequence(cmd.shortcut)[0]
        assert combo.key() not in reserved, cmd.id
        if combo.key().value <= Qt.Key.Key_AsciiTilde.value:  # letters, digits, punctuation
            assert combo.keyboardModifiers() & Qt.KeyboardModifier.ControlModifier, cmd.id
        keys.add(cmd.shortcut)
    assert len(keys) == len(COMMANDS), "two commands share a key"


def test_bad_overrides_keep_the_default_keys(caplog):
    from assistant.ui.commands import BY_ID, effective_shortcuts
    keys = effective_shortcuts({"identify": "Ctrl+I", "repeat": "F5", "stop": "not a key+++",
                                "nonsense": "F9"})
    assert keys["identify"] == "Ctrl+I"
    assert keys["repeat"] == "F5"  # free again once identify moved away
    assert keys["stop"] == BY_ID["stop"].shortcut
    keys = effective_shortcuts({"repeat": "F6"})  # taken by continuous mode
    assert keys["repeat"] == BY_ID["repeat"].shortcut
    assert "already used" in caplog.text and "unknown command" in caplog.text


def test_readme_lists_every_command_and_its_key():
    from PySide6.QtGui import QKeySequence

    from assistant.ui.commands import COMMANDS
    text = README.read_text(encoding="utf-8")
    section = re.search(r"### The window and its keys(.*?)(?:\n### |<!-- /section -->)", text, re.S)
    assert section, "README has no 'The window and its keys' sub-heading"
    rows = section.group(1)
    for cmd in COMMANDS:
        key = QKeySequence(cmd.shortcut).toString(QKeySequence.SequenceFormat.NativeText)
        assert re.search(rf"\|\s*`{re.escape(key)}`\s*\|\s*{re.escape(cmd.describe('en'))}\s*\|",
                         rows), f"README lacks the row for {cmd.id} ({key})"


def test_f1_keeps_the_status_line_short_and_the_layout_as_it_was(make_window, qtbot):
    """The whole spoken help once landed in the big status label and squeezed the product box
    and the history for good."""
    from PySide6.QtWidgets import QApplication
    window = make_window()
    window.resize(900, 700)
    qtbot.wait(200)
    before = (window.product.height(), window.history.height(), window.status_label.height())
    window.actions_by_id["help"].trigger()
    qtbot.waitUntil(lambda: window._dialog is not None and window._dialog.isVisible())
    assert window.status_label.text() == "Commands and keys"
    window._dialog.reject()
    QApplication.processEvents()
    window.show_status("A very long status " * 40)  # any long message: the layout holds
    qtbot.wait(200)
    assert (window.product.height(), window.history.height(), window.status_label.height()) == before
