"""Maintainer mode's background work: retraining in a QThread and webcam capture on a timer.

The worker talks to the dialog through signals only (Qt queues them into the GUI thread); its
errors become a failed(message) signal that the dialog shows and speaks, never a dead thread.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QObject, Qt, QThread, QTimer, Signal, Slot

from assistant.store.library import CaptureSession, Library
from assistant.ui.maintainer.texts import tr
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
        self.worker.message.emit(f"epoch {epoch}: loss {row['train_loss']:.3f}"
                                 + (f", validation {acc:.0%}" if acc is not None else ""))

    def on_message(self, text: str) -> None:
        self.worker.message.emit(text)

    def cancelled(self) -> bool:
        return self.stop.is_set()


class RetrainWorker(QObject):
    """model.retrain.retrain(cfg) in its own thread."""

    progress = Signal(float, float)   # fraction done, seconds left (-1: not known yet)
    message = Signal(str)
    finished = Signal(object)         # RetrainResult (cancelled or not)
    failed = Signal(str)

    def __init__(self, cfg) -> None:
        super().__init__()
        self.cfg = cfg
        self.callback = SignalProgress(self)
        self.thread = QThread()
        self.thread.setObjectName("retrain")
        self.moveToThread(self.thread)
        self.thread.started.connect(self.run)
        # direct: quit from the worker's own thread. Queued to the GUI thread, the quit never
        # came while the GUI thread waited for this thread (closing the dialog took 60 s).
        self.finished.connect(self.thread.quit, Qt.ConnectionType.DirectConnection)
        self.failed.connect(self.thread.quit, Qt.ConnectionType.DirectConnection)

    def start(self) -> None:
        self.thread.start(QThread.Priority.LowPriority)  # the assistant's own work comes first

    def cancel(self) -> None:
        self.callback.stop.set()

    def wait(self, ms: int) -> bool:
        return self.thread.wait(ms)

    @Slot()
    def run(self) -> None:
        from assistant.errors import user_message
        from model.retrain import retrain
        try:
            result = retrain(self.cfg, self.callback)
        except Exception as exc:  # reaches the user, spoken and shown
            message = user_message(exc)
            if message is None:
                log.exception("retraining failed")
                message = f"{type(exc).__name__}: {exc}"
            self.failed.emit(message)
            return
        self.finished.emit(result)


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
        start = tr("capture_start", self.language, name=self.name)
        self.said.emit(f"{self.preface} {start}" if self.preface else start, True)
        self._timer.start(countdown_ms)

    def stop(self) -> None:
        if not self.running:
            return
        self.running = False
        self._timer.stop()
        s = self.session
        rejected = sum(s.rejected.values())
        self.said.emit(tr("capture_done", self.language, n=len(s.kept), r=rejected), True)
        self.finished.emit(len(s.kept), rejected)

    def _tick(self) -> None:
        if self._count:
            self.said.emit(self._count.pop(0), True)
            return
        if not self._started:
            self._started = self._last_seen = time.monotonic()
            self.said.emit(tr("capture_go", self.language), True)
            self._timer.setInterval(int(self.session.interval * 1000))
            return
        now = time.monotonic()
        frame = self.grab()
        if frame is None:
            if now - self._last_seen > 3.0:
                self.said.emit(tr("capture_no_camera", self.language), True)
                self.stop()
            return
        self._last_seen = now
        verdict = self.session.offer(frame)
        if verdict.ok and self.session.milestone():
            self.said.emit(tr("capture_count", self.language, n=len(self.session.kept)), False)
        elif verdict.reason in ("dark", "bright", "blurred") and now - self._last_complaint >= self.complaint_gap:
            self._last_complaint = now
            self.said.emit(tr(f"capture_{verdict.reason}", self.language), False)
        if self.session.done or now - self._started > self.session.limit:
            self.stop()


class CallWorker(QObject):
    """Run fn() in a thread (e.g. importing a folder of photos); finished(result) or failed(text)."""

    finished = Signal(object)
    failed = Signal(str)

    def __init__(self, fn: Callable[[], object], low_priority: bool = False) -> None:
        super().__init__()
        self.fn = fn
        self.low_priority = low_priority
        self.thread = QThread()
        self.moveToThread(self.thread)
        self.thread.started.connect(self.run)
        # direct: quit from the worker's own thread. Queued to the GUI thread, the quit never
        # came while the GUI thread waited for this thread (closing the dialog took 60 s).
        self.finished.connect(self.thread.quit, Qt.ConnectionType.DirectConnection)
        self.failed.connect(self.thread.quit, Qt.ConnectionType.DirectConnection)

    def start(self) -> None:
        self.thread.start(QThread.Priority.LowestPriority if self.low_priority
                          else QThread.Priority.InheritPriority)

    @Slot()
    def run(self) -> None:
        from assistant.errors import user_message
        try:
            result = self.fn()
        except Exception as exc:
            message = user_message(exc)
            if message is None:
                log.exception("maintainer task failed")
                message = f"{type(exc).__name__}: {exc}"
            self.failed.emit(message)
            return
        self.finished.emit(result)
