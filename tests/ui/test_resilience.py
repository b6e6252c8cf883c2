"""An unplugged camera, a dead voice, a failing recogniser, an absent webcam: the window keeps
running and says what happened (spoken, shown, and announced to the screen reader)."""
from __future__ import annotations

import threading

import numpy as np
import pytest

from assistant.live.camera import FrameSource
from tests.helpers import make_photo

pytestmark = pytest.mark.timeout(180)


class UnpluggedCamera(FrameSource):
    """A live camera that sends pictures, is unplugged mid-stream, and comes back (a
    FrameSource, as every source the assistant is given: what it declares is read as it is)."""

    live = True
    name = "test camera"

    def __init__(self, frames_before: int = 15, down_for: float = 1.5) -> None:
        from assistant.live.camera import CameraError
        self.error = CameraError
        self.opened = False
        self.sent = 0
        self.frames_before = frames_before
        self.down_for = down_for
        self.unplugged_at = None
        self.reopened = threading.Event()
        self.picture = make_photo((200, 30, 30), size=96)

    def open(self) -> None:
        import time
        if self.unplugged_at is not None and time.monotonic() - self.unplugged_at < self.down_for:
            raise self.error("test camera cannot be opened (unplugged)")
        if self.unplugged_at is not None:
            self.reopened.set()
        self.opened = True

    def read(self):
        import time
        time.sleep(0.05)
        self.sent += 1
        if self.sent == self.frames_before:
            self.unplugged_at = time.monotonic()
            raise self.error("test camera stopped sending pictures")
        return self.picture.copy()

    def close(self) -> None:
        self.opened = False


def test_an_unplugged_camera_is_announced_and_retried(make_window, qtbot, monkeypatch):
    import assistant.live.camera
    from assistant import catalog
    camera = UnpluggedCamera()
    real_open = assistant.live.camera.open_source
    monkeypatch.setattr(assistant.live.camera, "open_source",
                        lambda spec, hold=2.0: camera if spec == "unplug-me" else real_open(spec, hold))
    window = make_window(source="unplug-me")
    lost = catalog.phrase("camera_disconnected", "en")
    back = catalog.phrase("camera_reconnected", "en")
    qtbot.waitUntil(lambda: lost in window.engine.texts, timeout=20000)
    # the voice runs in its own thread; the screen follows through the event queue
    qtbot.waitUntil(lambda: lost in window.announcements, timeout=5000)
    assert any(line.endswith(lost) for line in window.history.lines())
    qtbot.waitUntil(lambda: back in window.engine.texts, timeout=20000)
    assert camera.reopened.is_set()
    assert window.isVisible() and window.context.assistant.running
    shown = window.preview.frames_shown
    qtbot.waitUntil(lambda: window.preview.frames_shown > shown + 3, timeout=10000)
    # and the shopper can still ask
    before = len(window.engine.spoken)
    window.actions_by_id["identify"].trigger()
    qtbot.waitUntil(lambda: len(window.engine.spoken) > before, timeout=10000)


class BrokenEngine:
    """A voice whose audio device is gone."""

    name = "broken"

    def speak(self, *args, **kwargs):
        from assistant.live.speech import SpeechError
        raise SpeechError("no audio device")

    def stop(self):
        pass

    def voices(self, language=None):
        raise RuntimeError("no voices either")

    def close(self):
        pass


def test_a_broken_voice_is_shown_and_recognition_goes_on(make_window, qtbot):
    window = make_window(engine=BrokenEngine())
    qtbot.waitUntil(lambda: window.speech_broken, timeout=20000)
    message = window.status_label.text()
    assert "no audio device" in message and "shown on screen" in message
    assert message in window.announcements
    # the lasting state stays in view after newer statuses, in short: the sentence is not twice
    assert "Voice: off" in window.mode_label.text() and message not in window.mode_label.text()
    classified = window.context.assistant.frames_classified
    qtbot.waitUntil(lambda: window.context.assistant.frames_classified > classified + 3,
                    timeout=20000)
    # results still reach the screen and the history
    lines = len(window.history.lines())
    window.actions_by_id["identify"].trigger()
    qtbot.waitUntil(lambda: len(window.history.lines()) > lines, timeout=10000)
    # and commands still answer on screen (a settings dialog opens without voices)
    window.actions_by_id["faster"].trigger()
    assert window.status_label.text() == "Faster."
    window.actions_by_id["settings"].trigger()
    qtbot.waitUntil(lambda: window._dialog is not None and window._dialog.isVisible())
    assert window._dialog.voice_box.count() == 1  # "default" only
    window._dialog.reject()


def test_a_recognition_error_is_said_and_the_app_keeps_running(make_window, qtbot):
    from assistant import catalog
    window = make_window()
    classifier = window.context.classifier
    real_predict = classifier.predict
    calls = []

    def flaky(rgb, k=3):
        calls.append(1)
        if len(calls) in (3, 4):
            raise RuntimeError("simulated out of memory")
        return real_predict(rgb, k)

    classifier.predict = flaky
    words = catalog.phrase("worker_failed", "en", detail="RuntimeError: simulated out of memory")
    qtbot.waitUntil(lambda: window.status_label.text() == words, timeout=20000)
    # the status line is set at once; the voice (its own thread) says it a moment later
    qtbot.waitUntil(lambda: words in window.engine.texts and words in window.announcements, timeout=20000)
    qtbot.waitUntil(lambda: len(calls) > 8, timeout=20000)  # it went on classifying
    assert window.context.assistant.running


def test_an_absent_webcam_is_said_and_the_old_source_stays(make_window, qtbot, monkeypatch):
    import assistant.live.camera
    window = make_window()
    old = window.context.source

    def absent(self):
        raise assistant.live.camera.CameraError(f"{self.name} cannot be opened (is it connected?)")

    monkeypatch.setattr(assistant.live.camera.WebcamSource, "open", absent)
    window.use_source(3)
    assert window.status_label.text().startswith("Cannot use that source: camera 3")
    assert window.context.source is old and window.context.settings.camera != 3
    frames = window.preview.frames_shown
    qtbot.waitUntil(lambda: window.preview.frames_shown > frames, timeout=10000)


def test_bad_settings_input_is_explained_and_nothing_is_lost(make_window, qtbot, tmp_path):
    from PySide6.QtGui import QKeySequence
    window = make_window()
    window.actions_by_id["settings"].trigger()
    dialog = window._dialog
    qtbot.waitUntil(dialog.isVisible)
    dialog.rate_box.setValue(300)
    dialog.camera_box.setEditText(str(tmp_path / "no such folder"))
    dialog.accept()
    assert dialog.isVisible() and "No such file or folder" in dialog.error.text()
    assert dialog.rate_box.value() == 300  # what was typed is still there
    dialog.camera_box.setCurrentIndex(0)
    dialog.key_edits["repeat"].setKeySequence(QKeySequence("F5"))  # identify's key
    dialog.accept()
    assert dialog.isVisible() and "F5" in dialog.error.text() and "twice" in dialog.error.text()
    dialog.say_box.setValue(20)
    dialog.maybe_box.setValue(50)  # "maybe" above "say": contradictory
    dialog.key_edits["repeat"].setKeySequence(QKeySequence("Ctrl+R"))
    dialog.accept()
    assert dialog.isVisible() and "threshold" in dialog.error.text()
    dialog.say_box.setValue(70)
    dialog.accept()
    assert not dialog.isVisible()
    settings = window.context.settings
    assert settings.rate == 300 and settings.announcer.say_threshold == pytest.approx(0.7)
    assert window.actions_by_id["repeat"].shortcut() == QKeySequence("Ctrl+R")
    assert np.isclose(window.context.speaker.rate, 300)
