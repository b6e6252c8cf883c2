"""Maintainer mode's background work as signals: the session's retrain and warm-up (child
processes) and webcam capture on a timer."""
from __future__ import annotations

import logging
import time
from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal

from assistant.catalog import phrase
from assistant.maintainer.session import MaintainerSession
from assistant.store.library import CaptureSession, Library

log = logging.getLogger(__name__)


class RetrainBridge(QObject):
    """A retrain in the maintainer session's child process, heard as signals (emitted from the
    job's reader thread, delivered in the GUI thread). No training code runs in this process."""

    progress = Signal(float, float)   # fraction done, seconds left (-1: not known yet)
    message = Signal(str)
    finished = Signal(object)         # a model.retrain.RetrainResult, cancelled or not
    failed = Signal(str)

    def __init__(self, session: MaintainerSession, cfg) -> None:
        super().__init__()
        self.session, self.cfg = session, cfg
        self.job = None

    def start(self) -> None:
        self.job = self.session.start_retrain(self.cfg, self)

    # the session's RetrainListener, called in the reader thread: signals only
    def on_progress(self, fraction: float, eta: float) -> None:
        self.progress.emit(fraction, eta)

    def on_message(self, text: str) -> None:
        self.message.emit(text)

    def on_finished(self, result) -> None:
        self.finished.emit(result)

    def on_failed(self, message: str) -> None:
        self.failed.emit(message)

    def cancel(self) -> None:
        self.session.cancel_retrain()

    def wait(self, ms: int) -> bool:
        return self.job is None or self.job.wait(ms / 1000)


class WarmBridge(QObject):
    """The session's feature warm-up (a child process); counted(event) and ended(event) in the
    GUI thread."""

    ended = Signal(object)
    counted = Signal(object)   # {"cold": photo views not cached yet, "photos": n}, then {"cold_upper": ...}

    def __init__(self, session: MaintainerSession) -> None:
        super().__init__()
        self.session = session

    def start(self, only: bool = False) -> None:
        self.session.start_warm(self.ended.emit, self.counted.emit, only)

    def stop(self, wait_s: float | None = None) -> None:
        self.session.stop_warm(wait_s)


class CaptureController(QObject):
    """The webcam capture flow: a spoken countdown, then a frame every `interval` seconds,
    kept or rejected (dark, blurred, unchanged) on the spot, the count said every 5 photos."""

    said = Signal(str, bool)          # words, urgent
    finished = Signal(int, int)       # kept, rejected

    def __init__(self, library: Library, pid: str, name: str, grab: Callable[[], np.ndarray | None],
                 language: str, target: int = 30, interval: float = 0.3, countdown: int = 3,
                 limit: float = 60.0, parent: QObject | None = None, preface: str = "") -> None:
        super().__init__(parent)
        self.session = CaptureSession(library, pid, target, interval, countdown, limit)
        self.preface = preface  # said first, in the same utterance as the start
        self.name, self.grab, self.language = name, grab, language
        self._count = list(self.session.countdown_words())
        self._timer = QTimer(self)
        self._timer.timeout.connect(self._tick)
        self._started = 0.0
        self._last_seen = 0.0
        self._last_complaint = 0.0
        #: seconds between two spoken complaints (dark, blurred): say it, but not 5 times a second
        self.complaint_gap = 2.0
        self.running = False

    def start(self, countdown_ms: int = 1000) -> None:
        self.running = True
        start = phrase("capture_start", self.language, name=self.name)
        self.said.emit(f"{self.preface} {start}" if self.preface else start, True)
        self._timer.start(countdown_ms)

    def stop(self) -> None:
        if not self.running:
            return
        self.running = False
        self._timer.stop()
        s = self.session
        rejected = sum(s.rejected.values())
        self.said.emit(phrase("capture_done", self.language, n=len(s.kept), r=rejected), True)
        self.finished.emit(len(s.kept), rejected)

    def _tick(self) -> None:
        if self._count:
            self.said.emit(self._count.pop(0), True)
            return
        if not self._started:
            self._started = self._last_seen = time.monotonic()
            self.said.emit(phrase("capture_go", self.language), True)
            self._timer.setInterval(int(self.session.interval * 1000))
            return
        now = time.monotonic()
        frame = self.grab()
        if frame is None:
            if now - self._last_seen > 3.0:
                self.said.emit(phrase("capture_no_camera", self.language), True)
                self.stop()
            return
        self._last_seen = now
        verdict = self.session.offer(frame)
        if verdict.ok and self.session.milestone():
            self.said.emit(phrase("capture_count", self.language, n=len(self.session.kept)), False)
        elif verdict.reason in ("dark", "bright", "blurred") and now - self._last_complaint >= self.complaint_gap:
            self._last_complaint = now
            self.said.emit(phrase(f"capture_{verdict.reason}", self.language), False)
        if self.session.done or now - self._started > self.session.limit:
            self.stop()
