"""Worker threads -> Qt signals: the only door through which the core reaches the window.

The core calls on_event(name, payload) and the Speaker's callbacks from its own threads; this
QObject lives in the GUI thread and re-emits them as signals, which Qt queues across threads,
so no widget is ever touched from a worker.
"""
from __future__ import annotations

import threading

from PySide6.QtCore import QObject, Signal


class EventBridge(QObject):
    """Thread-safe callbacks for the core, turned into GUI-thread signals."""

    #: a new camera frame is waiting in latest_frame() (coalesced: one pending at a time)
    frame_ready = Signal()
    prediction = Signal(dict)
    utterance = Signal(dict)
    status = Signal(dict)
    ready = Signal(dict)
    spoken = Signal(dict)
    speech_error = Signal(str)
    #: AppContext.reload_model() finished (maintainer mode may call it from its worker)
    model_changed = Signal(object)
    other = Signal(str, dict)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._lock = threading.Lock()
        self._frame = None
        self._newest = None
        self._frame_pending = False

    # --- called from any thread ---------------------------------------------------------
    def on_event(self, name: str, payload: dict) -> None:
        """The core's on_event callback."""
        payload = dict(payload or {})
        if name == "frame":
            # a slow GUI must not collect a queue of stale frames: keep only the newest and
            # signal once until the window has taken it
            with self._lock:
                self._frame = self._newest = payload.get("frame")
                if self._frame_pending:
                    return
                self._frame_pending = True
            self.frame_ready.emit()
            return
        signal = {"prediction": self.prediction, "utterance": self.utterance,
                  "status": self.status, "ready": self.ready, "spoken": self.spoken}.get(name)
        if signal is not None:
            signal.emit(payload)
        else:
            self.other.emit(name, payload)

    def on_speech_error(self, message: str) -> None:
        """The Speaker's on_error callback."""
        self.speech_error.emit(str(message))

    # --- called in the GUI thread -------------------------------------------------------
    def latest_frame(self):
        """Take the newest frame (None if it was already taken)."""
        with self._lock:
            frame, self._frame = self._frame, None
            self._frame_pending = False
        return frame

    def newest_frame(self):
        """The newest camera frame, taken or not (any thread; None before the first)."""
        with self._lock:
            return self._newest
