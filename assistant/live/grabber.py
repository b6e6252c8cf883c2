"""The grabber thread: reads a frame source and keeps only the newest frame. No Qt.

A camera that disappears is reported and retried with back-off; a finite source that
ends (or a file that breaks) is reported once.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # camera.py re-exports this module's class: no import cycle at run time
    from assistant.live.camera import FrameSource

log = logging.getLogger(__name__)

#: how many recent frames remember what they showed (a slow classifier skips frames)
ITEMS_KEPT = 64


class FrameGrabber:
    """Reads a source in its own thread and keeps only the newest frame.

    on_status(id) receives "camera_failed" (could not open at first; retrying),
    "camera_disconnected" (lost while running; retrying), "camera_reconnected",
    "source_failed" (a file that broke; no retry) and "source_ended" (a finite source ran
    out). on_frame(frame, seq), if given, is called from the grabber thread for each frame.
    """

    def __init__(self, source: FrameSource, on_status: Callable[[str], None],
                 on_frame: Callable[[np.ndarray, int], None] | None = None,
                 retry_delays: tuple[float, ...] = (0.5, 1.0, 2.0, 4.0)) -> None:
        self.source = source
        self.on_status, self.on_frame = on_status, on_frame
        self.retry_delays = retry_delays or (1.0,)
        self.error: str | None = None      # the last problem, for the status line
        self._cond = threading.Condition()
        self._frame: np.ndarray | None = None
        self._seq = 0
        self._items: dict[int, str] = {}  # seq -> the source's item, for the last frames
        self._ended = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def ended(self) -> bool:
        """True once a finite source has run out (or broke)."""
        return self._ended

    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="frame-grabber", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 3.0) -> None:
        """Stop the thread and close the source."""
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)
        try:
            self.source.close()
        except Exception:
            log.warning("closing %s", self.source, exc_info=True)

    def latest(self) -> tuple[np.ndarray | None, int]:
        """(newest frame, its sequence number); (None, 0) before the first frame."""
        with self._cond:
            return self._frame, self._seq

    def item(self, seq: int) -> str:
        """What frame seq showed, for the records (the source's .item when it was read)."""
        with self._cond:
            return self._items.get(seq, "")

    def wait_new(self, after_seq: int, timeout: float) -> tuple[np.ndarray | None, int]:
        """Block until a frame newer than after_seq (or the timeout, the end, or stop)."""
        with self._cond:
            self._cond.wait_for(lambda: self._seq > after_seq or self._ended
                                or self._stop.is_set(), timeout)
            return self._frame, self._seq

    def _status(self, status: str) -> None:
        try:
            self.on_status(status)
        except Exception:
            log.exception("camera status listener failed")

    def _run(self) -> None:
        from assistant.live.camera import CameraError
        src = self.source
        attempt = 0
        down: str | None = None    # the status we reported while the source is unusable
        try:
            while not self._stop.is_set():
                if not src.opened:
                    try:
                        src.open()
                    except CameraError as exc:
                        self.error = str(exc)
                        if not src.live:
                            log.error("%s", exc)
                            self._finish("source_failed")
                            return
                        if down is None:
                            log.warning("%s; retrying", exc)
                            down = "camera_disconnected" if self._seq else "camera_failed"
                            self._status(down)
                        self._stop.wait(self.retry_delays[min(attempt, len(self.retry_delays) - 1)])
                        attempt += 1
                        continue
                try:
                    frame = src.read()
                except Exception as exc:  # CameraError, cv2.error, OSError: a lost device
                    self.error = str(exc)
                    log.warning("%s failed: %s", src.name, exc,
                                exc_info=not isinstance(exc, CameraError))
                    src.close()
                    if not src.live:
                        self._finish("source_failed")
                        return
                    if down is None:
                        down = "camera_disconnected"
                        self._status(down)
                    self._stop.wait(self.retry_delays[min(attempt, len(self.retry_delays) - 1)])
                    attempt += 1
                    continue
                if frame is None:
                    self._finish("source_ended")
                    return
                if down is not None:      # back only once it really sends pictures
                    log.info("%s is back", src.name)
                    down, attempt, self.error = None, 0, None
                    self._status("camera_reconnected")
                item = getattr(src, "item", "")
                with self._cond:
                    self._frame = frame      # the previous one, if untaken, is dropped here
                    self._seq += 1
                    seq = self._seq
                    self._items[seq] = item
                    self._items.pop(seq - ITEMS_KEPT, None)
                    self._cond.notify_all()
                if self.on_frame is not None:
                    try:
                        self.on_frame(frame, seq)
                    except Exception:
                        log.exception("frame listener failed")
        except Exception:   # a bug here must still reach the user, not kill silently
            log.exception("frame grabber crashed")
            self.error = "internal error in the camera reader"
            self._finish("source_failed")

    def _finish(self, status: str) -> None:
        with self._cond:
            self._ended = True
            self._cond.notify_all()
        self._status(status)
