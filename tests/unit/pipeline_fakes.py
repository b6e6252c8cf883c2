"""Fakes and waits the tests of the live pipeline share (tests/unit/test_pipeline*.py,
test_reading_watch.py): an event recorder, a fake classifier that names a frame's dominant
colour, frames of a colour, a scripted source, and one assistant wired to them."""
from __future__ import annotations

import threading
import time

import numpy as np

from assistant.inference.calibration import Calibration
from assistant.inference.checkpoint import load_checkpoint
from assistant.inference.prediction import Prediction
from assistant.live.announcer import Announcer, AnnouncerSettings
from assistant.live.camera import FrameSource
from assistant.live.pipeline import Assistant
from assistant.live.settings import Settings
from assistant.live.speech import RecordingEngine, Speaker
from tests.helpers import wait_until  # noqa: F401  (re-exported: the pipeline tests wait with it)

FAST = AnnouncerSettings(leave_after=0.4, hint_after=30.0)


class Events:
    def __init__(self):
        self.items, self.lock = [], threading.Lock()

    def __call__(self, name, payload):
        with self.lock:
            self.items.append((name, payload))

    def of(self, name):
        with self.lock:
            return [p for n, p in self.items if n == name]


def run_to_end(assistant, speaker, timeout=30.0):
    assistant.start()
    try:
        assert wait_until(lambda: assistant.source_ended, timeout)
        assert speaker.wait_idle(10)
    finally:
        assistant.stop()


class ColourClassifier:
    """Names the dominant colour channel; optionally slow, or failing on some calls."""

    def __init__(self, checkpoint, delay=0.0, fail_on=()):
        self.checkpoint = checkpoint
        self.class_ids = checkpoint.class_ids          # blue_milk, green_tea, red_sauce
        self.calibration = Calibration()               # no bands of its own: the settings' apply
        self.delay, self.fail_on, self.calls = delay, set(fail_on), 0
        self.seen: list[int] = []

    def predict(self, rgb):
        self.calls += 1
        if self.calls in self.fail_on:
            raise RuntimeError("model exploded")
        time.sleep(self.delay)
        self.seen.append(int(rgb[0, 0, 1]))
        channel = int(np.argmax(rgb.reshape(-1, 3).mean(axis=0)))
        label = {0: "red_sauce", 1: "green_tea", 2: "blue_milk"}[channel]
        return Prediction([(label, 0.95)] + [(c, 0.025) for c in self.class_ids if c != label])


def textured(colour, marker=0):
    rng = np.random.default_rng(0)
    frame = rng.integers(0, 60, (224, 224, 3), dtype=np.uint8)   # sharp: no upscaling
    frame[..., ["red", "green", "blue"].index(colour)] += 150
    frame[0, 0, 1] = marker
    return frame


class ScriptedSource(FrameSource):
    """Plays a list of frames at fps; a frame given as an exception is raised (a lost camera);
    one given as a threading.Event holds the source there until the test sets it."""

    live = True

    def __init__(self, frames, fps=50.0):
        self.name, self.frames, self.fps, self.i = "scripted", list(frames), fps, 0

    def open(self):
        self.opened = True

    def read(self):
        time.sleep(1.0 / self.fps)
        if self.i >= len(self.frames):
            return None
        frame = self.frames[self.i]
        if isinstance(frame, threading.Event):
            frame.wait(30)
            self.i += 1
            return self.read()
        self.i += 1
        if isinstance(frame, Exception):
            raise frame
        return frame


def make(tiny_checkpoint, frames, engine=None, classifier=None, fps=50.0, **settings):
    engine = engine or RecordingEngine()
    speaker = Speaker(engine)
    events = Events()
    classifier = classifier or ColourClassifier(load_checkpoint(tiny_checkpoint))
    assistant = Assistant(classifier, ScriptedSource(frames, fps), speaker, Announcer(FAST),
                          Settings(**settings), on_event=events, say_ready=False)
    return assistant, speaker, engine, events
