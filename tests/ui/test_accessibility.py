"""Screen-reader and low-vision checks: names on every focusable control, tab order, visible
focus, announcements, the system font size and 200 % scale."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import unavailable
from tests.ui.helpers import press

ROOT = Path(__file__).resolve().parents[2]
ATSPI_LIVE_POLITE = 1  # AT-SPI politeness: 1 polite, 2 assertive


def unnamed(root) -> list[str]:
    """Focusable widgets under root lacking an accessible name or description."""
    from assistant.ui.accessibility import focusable_widgets
    bad = []
    for widget in focusable_widgets(root):
        if not widget.accessibleName().strip() or not widget.accessibleDescription().strip():
            bad.append(f"{type(widget).__name__} {widget.objectName()!r} "
                       f"name={widget.accessibleName()!r} "
                       f"description={widget.accessibleDescription()!r}")
    return bad


@pytest.mark.parametrize("language", ["en", "es"])
def test_every_focusable_control_has_a_name_and_description(make_window, qtbot, language):
    from assistant.ui.dialogs import CameraDialog, HelpDialog
    from assistant.ui.settings_dialog import SettingsDialog

    window = make_window(language=language)
    assert unnamed(window) == []
    dialogs = [SettingsDialog(window, window.settings, ["en-us", "es"], language),
               CameraDialog(window, None, language),
               HelpDialog(window, window.actions_by_id, language)]
    for dialog in dialogs:
        dialog.show()
        qtbot.waitExposed(dialog)
        # every tab of the settings, not only the first one shown
        tabs = getattr(dialog, "tabs", None)
        for index in range(tabs.count() if tabs else 1):
            if tabs:
                tabs.setCurrentIndex(index)
            assert unnamed(dialog) == [], type(dialog).__name__
        dialog.close()


def test_the_walk_catches_an_unnamed_control(make_window):
    from PySide6.QtWidgets import QPushButton
    window = make_window()
    button = QPushButton("?", window.centralWidget())
    button.show()
    assert any("QPushButton" in entry for entry in unnamed(window))


def test_tab_walks_the_controls_in_reading_order(make_window, qtbot):
    from PySide6.QtWidgets import QApplication

    from assistant.ui.main_window import BUTTONS
    window = make_window()
    window.buttons["identify"].setFocus()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is window.buttons["identify"])
    visited = [QApplication.focusWidget()]
    for _ in range(len(BUTTONS)):
        press(qtbot, QApplication.focusWidget(), "Tab")
        visited.append(QApplication.focusWidget())
    assert visited == [window.buttons[c] for c in BUTTONS] + [window.history]
    press(qtbot, QApplication.focusWidget(), "Tab")
    assert QApplication.focusWidget() is window.buttons["identify"]  # and round again


def test_focus_is_visible(make_window, qtbot):
    """The focused button looks clearly different (the thick outline of FOCUS_STYLE)."""
    from PySide6.QtWidgets import QApplication
    window = make_window()
    button = window.buttons["repeat"]
    window.buttons["identify"].setFocus()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is window.buttons["identify"])
    before = button.grab().toImage()
    button.setFocus()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is button)
    after = button.grab().toImage()
    changed = sum(before.pixel(x, y) != after.pixel(x, y)
                  for x in range(0, before.width(), 2) for y in range(0, before.height(), 2))
    assert changed > 0.2 * (before.width() * before.height() / 4)


def _screen_reader_bus_missing() -> str | None:
    from tests.ui.atspi_listener import bus_launcher
    for tool in ("dbus-run-session", "dbus-send", "xvfb-run"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    return None if bus_launcher() else "at-spi2-core (the accessibility bus) is not installed"


@pytest.mark.timeout(240)
def test_a_screen_reader_hears_everything_said(tmp_path, photo_dir, ready_checkpoint,
                                               isolated_home):
    """The real path to Orca: the app on an X display with Qt's AT-SPI bridge, a listener on the
    accessibility bus registered for announcements. Every utterance of the transcript reaches the
    bus, with its words, in order: products and messages politely, nothing assertive."""
    missing = _screen_reader_bus_missing()
    if missing is not None:
        unavailable(missing)
    transcript, heard = tmp_path / "said.tsv", tmp_path / "heard.jsonl"
    env = dict(os.environ, GROCERY_ASSISTANT_HOME=str(isolated_home))
    env.pop("QT_QPA_PLATFORM", None)
    run = subprocess.run(
        ["dbus-run-session", "--", "xvfb-run", "-a", sys.executable,
         str(ROOT / "tests" / "ui" / "atspi_listener.py"), str(heard), "--",
         sys.executable, str(ROOT / "main.py"), "app", "--source", str(photo_dir / "red_sauce"),
         "--hold", "0.4", "--once", "--transcript", str(transcript),
         "--model", str(ready_checkpoint), "--engine", "silent"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=200, stdin=subprocess.DEVNULL)
    assert run.returncode == 0, run.stderr[-3000:]
    said = [line.split("\t")[-1] for line in transcript.read_text(encoding="utf-8").splitlines()]
    received = [json.loads(line) for line in heard.read_text(encoding="utf-8").splitlines()]
    assert len(said) >= 3, said  # ready, at least one product, the end of the photos
    assert [r["text"] for r in received] == said
    assert {r["politeness"] for r in received} == {ATSPI_LIVE_POLITE}


def test_the_product_name_follows_the_system_font(make_window, qtbot):
    from PySide6.QtGui import QFont
    from PySide6.QtWidgets import QApplication

    from assistant.ui.widgets import PRODUCT_SCALE
    window = make_window()
    window.context.stop()
    window.product.show_product("tea")   # a short name: drawn at full size (a long one is
    app = QApplication.instance()        # scaled to fit: tests/ui/test_long_sentences.py)
    original = app.font()
    try:
        for size in (10.0, 20.0):
            font = QFont(original)
            font.setPointSizeF(size)
            app.setFont(font)
            qtbot.waitUntil(lambda s=size: window.product.font().pointSizeF()
                            == pytest.approx(s * PRODUCT_SCALE))
            qtbot.waitUntil(lambda s=size: window.status_label.font().pointSizeF()
                            == pytest.approx(s * 1.4))
    finally:
        app.setFont(original)


SCALED = """
import sys
from PySide6.QtWidgets import QApplication
app = QApplication([])
from tests.ui.helpers import app_args
from assistant.ui.app import build
from assistant.ui.main_window import MainWindow
context, _ = build(app_args(source=sys.argv[1], model=sys.argv[2], hold=5.0))
window = MainWindow(context)
window.show()
app.processEvents()
print("ratio", window.devicePixelRatio())
for cid, button in window.buttons.items():
    need = button.fontMetrics().horizontalAdvance(button.text())
    print("button", cid, need, button.width(), button.height(), button.fontMetrics().height())
print("product", window.product.height(), window.product.fontMetrics().height())
from assistant.ui.dialogs import HelpDialog
from assistant.ui.settings_dialog import SettingsDialog
dialog = SettingsDialog(window, window.settings, [], "es")
dialog.show()
dialog.tabs.setCurrentIndex(2)
app.processEvents()
for cid, edit in dialog.key_edits.items():
    shown = edit.keySequence().toString()
    print("key", cid, edit.fontMetrics().horizontalAdvance(shown), edit.width())
help_dialog = HelpDialog(window, window.actions_by_id, "es")
help_dialog.show()
app.processEvents()
print("help_scroll", help_dialog.list.verticalScrollBar().maximum())
context.stop()
"""


def test_usable_at_200_percent_scale(ready_checkpoint, photo_dir):
    """At QT_SCALE_FACTOR=2 every button shows its whole label and the product name fits."""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", QT_SCALE_FACTOR="2",
               PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-c", SCALED, str(photo_dir), str(ready_checkpoint)],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    lines = [line.split() for line in out.stdout.splitlines()]
    assert ["ratio", "2.0"] in lines
    buttons = [line for line in lines if line[0] == "button"]
    assert len(buttons) >= 5
    for _, cid, need, width, height, text_height in buttons:
        assert int(need) <= int(width), f"{cid} button cuts its label at 200 %"
        assert int(text_height) <= int(height), f"{cid} button cuts its label at 200 %"
    (_, product_height, product_text_height), = [line for line in lines if line[0] == "product"]
    assert int(product_text_height) <= int(product_height)
    keys = [line for line in lines if line[0] == "key"]
    assert len(keys) >= 10
    for _, cid, need, width in keys:
        assert int(need) < int(width), f"the key editor of {cid} cuts its key at 200 %"
    assert ["help_scroll", "0"] in lines, "the F1 list needs scrolling at 200 %"


def test_alt_h_jumps_to_the_history(make_window, qtbot):
    from PySide6.QtWidgets import QApplication
    window = make_window()
    press(qtbot, QApplication.focusWidget() or window, "Alt+H")
    qtbot.waitUntil(lambda: QApplication.focusWidget() is window.history)
