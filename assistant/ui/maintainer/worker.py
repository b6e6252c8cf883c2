"""Maintainer mode's background work: retraining (a BackgroundTask) and webcam capture on a
timer. Both talk to the dialog through signals only."""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QObject, QThread, QTimer, Signal

from assistant.catalog import phrase
from assistant.store.library import CaptureSession, Library
from assistant.ui.tasks import BackgroundTask
from model.callbacks import ProgressEstimator, TrainCallback

log = logging.getLogger(__name__)


class SignalProgress(TrainCallback):
    """The training callback, forwarded as the worker's signals (called in the worker thread)."""

    def __init__(self, worker: RetrainWorker) -> None:
        self.worker = worker
        self.stop = threading.Event()
        self.estimator = ProgressEstimator()

    def on_start(self, epochs: int, steps_per_epoch: int) -> None:
        self.estimator.begin(epochs, steps_per_epoch)
        self.worker.progress.emit(0.0, -1.0)

    def on_step(self, epoch: int, step: int, steps: int, loss: float) -> None:
        fraction = self.estimator.fraction(epoch, step)
        eta = self.estimator.eta(epoch, step)
        self.worker.progress.emit(float(fraction), -1.0 if eta is None else float(eta))

    def on_epoch_end(self, epoch: int, row: dict) -> None:
        acc = row.get("val_acc")
        loss = f"{row['train_loss']:.3f}"
        if acc is None:
            self.note("retrain_epoch", epoch=epoch, loss=loss)
        else:
            self.note("retrain_epoch_val", epoch=epoch, loss=loss, acc=f"{acc:.0%}")

    def on_message(self, text: str) -> None:
        self.worker.message.emit(text)

    def cancelled(self) -> bool:
        return self.stop.is_set()


class RetrainWorker(BackgroundTask):
    """model.retrain.retrain(cfg) in its own thread, its progress forwarded as signals."""

    progress = Signal(float, float)   # fraction done, seconds left (-1: not known yet)
    message = Signal(str)

    def __init__(self, cfg, language: str = "en") -> None:
        # low priority: the assistant first
        super().__init__(self._retrain, QThread.Priority.LowPriority, "retrain", language)
        self.cfg = cfg
        self.callback = SignalProgress(self)
        self.callback.language = language

    def _retrain(self):
        from model.retrain import retrain
        return retrain(self.cfg, self.callback)  # a RetrainResult, cancelled or not

    def cancel(self) -> None:
        self.callback.stop.set()


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
