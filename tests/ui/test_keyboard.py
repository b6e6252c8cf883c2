"""Drive the window by keyboard alone through every command of the table, and check what the
voice was asked to say (a RecordingEngine stands in for espeak-ng)."""
from __future__ import annotations

import json
import sys

import pytest

from tests.ui.helpers import press

pytestmark = pytest.mark.timeout(180)


def key_of(window, command_id: str) -> str:
    from PySide6.QtGui import QKeySequence
    return window.actions_by_id[command_id].shortcut().toString(
        QKeySequence.SequenceFormat.PortableText)


def focused(window):
    from PySide6.QtWidgets import QApplication
    return QApplication.focusWidget() or window


class Voice:
    """Waits for, and finds, what the recording engine was asked to say."""

    def __init__(self, qtbot, engine) -> None:
        self.qtbot, self.engine = qtbot, engine
        self.mark = 0

    def said_after_key(self, window, key: str, expected=None, timeout: int = 20000):
        """Press key; return the first new (text, language, priority, rate, volume) that
        satisfies expected (a string, or a predicate on the text)."""
        self.mark = len(self.engine.spoken)
        press(self.qtbot, focused(window), key)
        return self.wait(expected, timeout)

    def wait(self, expected, timeout: int = 20000):
        def match(text: str) -> bool:
            return expected is None or (expected(text) if callable(expected) else text == expected)
        found = []

        def check() -> None:
            for i in range(self.mark, len(self.engine.spoken)):
                text, lang, priority = self.engine.spoken[i]
                if match(text):
                    rate, volume, _voice = self.engine.settings[i]
                    found.append((text, lang, priority, rate, volume))
                    return
            raise AssertionError(f"not said (yet): {expected!r}; said: "
                                 f"{self.engine.texts[self.mark:]}")
        self.qtbot.waitUntil(check, timeout=timeout)
        return found[0]


def test_every_command_by_keyboard(make_window, qtbot, monkeypatch, isolated_home, photo_dir):
    import assistant.live.camera
    from assistant import catalog
    from assistant.live.speech import Priority, RecordingEngine
    from assistant.ui.commands import COMMANDS

    # maintainer mode is another part of the app: here it is absent, and must be said so
    monkeypatch.setitem(sys.modules, "assistant.ui.maintainer", None)
    # the demo pictures are another part's assets: a photo folder plays the demo here
    monkeypatch.setattr(assistant.live.camera, "DEMO_DIR", photo_dir / "green_tea")
    # every sentence "lasts" 2 s unless interrupted, so stop has something to stop
    engine = RecordingEngine(delay=2.0)
    window = make_window(engine=engine)
    context = window.context
    voice = Voice(qtbot, engine)
    qtbot.waitUntil(lambda: context.assistant.ready_seconds is not None, timeout=20000)
    exercised = set()

    def run(command_id, expected=None, **kw):
        exercised.add(command_id)
        return voice.said_after_key(window, key_of(window, command_id), expected, **kw)

    # continuous mode off: from now on only what we ask for is said
    text, lang, priority, *_ = run("continuous", catalog.phrase("continuous_off", "en"))
    assert (lang, priority) == ("en", Priority.NOW)
    assert context.settings.continuous is False
    assert window.buttons["continuous"].isChecked() is False
    assert json.loads((isolated_home / "config" / "settings.json").read_text())["continuous"] is False
    run("continuous", catalog.phrase("continuous_on", "en"))
    assert context.settings.continuous is True
    run("continuous", catalog.phrase("continuous_off", "en"))

    # identify: the answer about the picture in view, interrupting whatever was said
    clf = context.classifier
    names = [clf.name(c, "en") for c in clf.class_ids]
    answers = set(names) | {catalog.phrase("not_sure_maybe", "en", name=n) for n in names}
    answers |= {catalog.phrase(m, "en") for m in ("nothing_recognised", "nothing_in_view",
                                                  "too_dark", "too_blurred", "no_picture")}
    with qtbot.waitSignal(window.bridge.utterance, timeout=10000) as blocker:
        answer, _, priority, *_ = run("identify", lambda t: t in answers, timeout=10000)
    assert priority == Priority.NOW
    assert blocker.args[0]["words"] == answer
    assert window.history.lines()[-1].endswith(answer)

    # repeat says the same words again; stop cuts them short
    run("repeat", answer)
    assert engine.texts.count(answer) >= 2
    exercised.add("stop")
    press(qtbot, focused(window), key_of(window, "stop"))
    qtbot.waitUntil(lambda: answer in engine.interrupted, timeout=3000)
    assert context.speaker.wait_idle(2.0)

    # read and date: the null text engine stands in for RapidOCR (tests/ui/test_reading_key.py)
    from assistant.reading import LabelReader, NullOcrEngine, TextBox
    label = [TextBox("Oatly", 0.9, ((10, 10), (60, 10), (60, 30), (10, 30))),
             TextBox("EXP 12/2099", 0.9, ((10, 60), (60, 60), (60, 70), (10, 70)))]
    context.reader = LabelReader(NullOcrEngine(label))
    run("read", "Expires end of December 2099. Oatly. EXP 12/2099.")
    run("date", "Expires end of December 2099.")

    # speed and volume: said at the new setting, remembered
    *_, rate, _ = run("faster", catalog.phrase("faster", "en"))
    assert rate == 175 + 20 == context.settings.rate
    *_, rate, _ = run("slower", catalog.phrase("slower", "en"))
    assert rate == 175 == context.settings.rate
    *_, volume = run("softer", catalog.phrase("volume_changed", "en", value=90))
    assert volume == pytest.approx(0.9)
    *_, volume = run("louder", catalog.phrase("volume_changed", "en", value=100))
    assert volume == pytest.approx(1.0)
    run("louder", "Loudest.")

    # language: Spanish words, Spanish window, then back
    text, lang, *_ = run("language", catalog.phrase("language_changed", "es"))
    assert lang == "es" and context.settings.language == "es"
    assert window.buttons["identify"].text().startswith("Identificar")
    run("language", catalog.phrase("language_changed", "en"))
    assert window.buttons["identify"].text().startswith("Identify")

    # camera: the chooser opens with the focus in its list; arrows + Enter pick the demo
    run("camera", catalog.phrase("camera_choose", "en") if "camera_choose" in catalog.PHRASES
        else "Choose the camera with the arrow keys, then press Enter.")
    dialog = window._dialog
    qtbot.waitUntil(dialog.isActiveWindow)
    assert focused(window) is dialog.list
    press(qtbot, focused(window), "Home")
    for _ in range(len(dialog.cameras)):  # the webcams that open here, then the demo
        press(qtbot, focused(window), "Down")
    voice.mark = len(engine.spoken)
    press(qtbot, focused(window), "Return")
    voice.wait(catalog.phrase("camera_changed", "en", name="demo"))
    assert context.settings.camera == "demo" and not dialog.isVisible()
    qtbot.waitUntil(window.isActiveWindow)  # back in the main window, as a person would wait

    # settings: Tab to the speed, one step up, Enter saves it
    run("settings", "Settings.")
    dialog = window._dialog
    qtbot.waitUntil(dialog.isActiveWindow)
    assert focused(window) is dialog.language_box
    press(qtbot, focused(window), "Tab")
    press(qtbot, focused(window), "Tab")
    assert focused(window) is dialog.rate_box
    press(qtbot, focused(window), "Up")
    voice.mark = len(engine.spoken)
    press(qtbot, focused(window), "Return")
    voice.wait("Settings saved.")
    qtbot.waitUntil(window.isActiveWindow)
    assert context.settings.rate == 185
    assert json.loads((isolated_home / "config" / "settings.json").read_text())["rate"] == 185

    run("maintainer", "Maintainer mode is not available.")
    assert window.status_label.text() == "Maintainer mode is not available."

    # help: every command, spoken and listed; Escape closes the list and its reading
    help_text, *_ = run("help", lambda t: t.startswith(catalog.phrase("help_intro", "en")))
    for cmd in COMMANDS:
        assert cmd.describe("en") in help_text
    dialog = window._dialog
    qtbot.waitUntil(dialog.isActiveWindow)
    assert focused(window) is dialog.list
    assert dialog.list.count() == len(COMMANDS)
    press(qtbot, focused(window), "Escape")
    qtbot.waitUntil(lambda: not dialog.isVisible())
    qtbot.waitUntil(lambda: help_text in engine.interrupted, timeout=3000)
    qtbot.waitUntil(window.isActiveWindow)

    exercised.add("quit")
    press(qtbot, focused(window), key_of(window, "quit"))
    qtbot.waitUntil(lambda: not window.isVisible())
    assert not context.assistant.running

    assert exercised == {c.id for c in COMMANDS}, "a command of the table was not driven"


def test_a_changed_key_works_and_the_old_one_does_not(make_window, qtbot, isolated_home):
    from assistant import catalog
    from assistant.live.settings import Settings

    Settings(shortcuts={"continuous": "Ctrl+J"}).save()
    window = make_window()
    assert window.actions_by_id["continuous"].shortcut().toString() == "Ctrl+J"
    voice = Voice(qtbot, window.engine)
    voice.said_after_key(window, "Ctrl+J", catalog.phrase("continuous_off", "en"))
    assert window.context.settings.continuous is False
    voice.mark = len(window.engine.spoken)
    press(qtbot, focused(window), "F6")
    qtbot.wait(300)
    assert window.context.settings.continuous is False
    assert catalog.phrase("continuous_on", "en") not in window.engine.texts[voice.mark:]


def test_the_product_in_view_changes_language_with_ctrl_l(make_window, qtbot):
    """The big label must not keep the old language until the next product."""
    from assistant.live.announcer import Utterance
    window = make_window(continuous=False)
    utterance = Utterance("product", "red_sauce", None, 0.9)
    window._on_utterance({"utterance": utterance, "words": "tomato sauce", "time": None})
    assert window.product.text() == "Tomato sauce"
    press(qtbot, window, "Ctrl+L")
    qtbot.waitUntil(lambda: window.language == "es")
    assert window.product.text() == "Salsa de tomate"
    assert window.product.accessibleDescription() == "salsa de tomate"


def test_command_feedback_is_in_the_history_and_the_transcript(make_window, qtbot, tmp_path):
    """Everything said is recorded: "Continuous mode off." and "Español." as well as products."""
    from assistant import catalog
    transcript = tmp_path / "said.tsv"
    window = make_window(continuous=True, transcript=str(transcript))
    press(qtbot, window, key_of(window, "continuous"))
    off = catalog.phrase("continuous_off", "en")
    qtbot.waitUntil(lambda: any(line.endswith(off) for line in window.history.lines()))
    press(qtbot, window, key_of(window, "language"))
    spanish = catalog.phrase("language_changed", "es")
    qtbot.waitUntil(lambda: any(line.endswith(spanish) for line in window.history.lines()))
    rows = [line.split("\t") for line in transcript.read_text(encoding="utf-8").splitlines()]
    said = [(ident, words) for _, _, ident, words in rows]
    assert ("continuous_off", off) in said
    assert ("language_changed", spanish) in said
