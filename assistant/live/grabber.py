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
#: seconds between copies of a held photo while the consumer has not classified it
HOLD_REPEAT = 1.0


class FrameGrabber:
    """Reads a source in its own thread and keeps only the newest frame.

    A source that can wait (a photo folder: .waits) does not move on from a photo until it has
    been classified min_looks times (the consumer calls looked(seq) after each frame it
    classified): on a busy computer the same picture is handed out again instead, so every
    photo is recognised before the next, however slow the classifier.

    on_status(id) receives "camera_failed" (could not open at first; retrying),
    "camera_disconnected" (lost while running; retrying), "camera_reconnected",
    "source_failed" (a file that broke; no retry) and "source_ended" (a finite source ran
    out). on_frame(frame, seq), if given, is called from the grabber thread for each frame.
    """

    def __init__(self, source: FrameSource, on_status: Callable[[str], None],
                 on_frame: Callable[[np.ndarray, int], None] | None = None,
                 retry_delays: tuple[float, ...] = (0.5, 1.0, 2.0, 4.0),
                 min_looks: int = 0) -> None:
        self.source = source
        self.min_looks = min_looks if source.waits else 0
        self.on_status, self.on_frame = on_status, on_frame
        self.retry_delays = retry_delays or (1.0,)
        self.error: str | None = None      # the last problem, for the status line
        self._cond = threading.Condition()
        self._frame: np.ndarray | None = None
        self._seq = 0
        self._items: dict[int, tuple[str, object]] = {}  # seq -> (item, showing), last frames
        self._looks = 0                    # classifications of what is in view now
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
            return self._items.get(seq, ("", None))[0]

    def showing(self, seq: int):
        """The photo frame seq showed (the source's .showing when it was read), or None."""
        with self._cond:
            return self._items.get(seq, ("", None))[1]

    def looked(self, seq: int) -> None:
        """The consumer classified frame seq: a waiting source may move on once the photo in
        view has had its min_looks."""
        with self._cond:
            if seq in self._items and self._items[seq][1] == self._showing_now():
                self._looks += 1
                self._cond.notify_all()

    def _showing_now(self):
        return self._items.get(self._seq, ("", None))[1]

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
                    self._hold(None)
                    self._finish("source_ended")
                    return
                if down is not None:      # back only once it really sends pictures
                    log.info("%s is back", src.name)
                    down, attempt, self.error = None, 0, None
                    self._status("camera_reconnected")
                showing = src.showing
                self._hold(showing)
                self._publish(frame, src.item, showing)
        except Exception:   # a bug here must still reach the user, not kill silently
            log.exception("frame grabber crashed")
            self.error = "internal error in the camera reader"
            self._finish("source_failed")

    def _publish(self, frame: np.ndarray, item: str, showing) -> None:
        with self._cond:
            if showing is not None and showing != self._showing_now():
                self._looks = 0
            self._frame = frame      # the previous one, if untaken, is dropped here
            self._seq += 1
            seq = self._seq
            self._items[seq] = (item, showing)
            self._items.pop(seq - ITEMS_KEPT, None)
            self._cond.notify_all()
        if self.on_frame is not None:
            try:
                self.on_frame(frame, seq)
            except Exception:
                log.exception("frame listener failed")

    def _hold(self, coming) -> None:
        """Before a waiting source shows something else (or ends): hand out the photo in view
        again, one copy per classification, until it has had its min_looks."""
        if not self.min_looks:
            return
        while not self._stop.is_set():
            with self._cond:
                item, showing = self._items.get(self._seq, ("", None))
                frame, looks = self._frame, self._looks
                if showing is None or showing == coming or looks >= self.min_looks:
                    return
            self._publish(frame.copy(), item, showing)
            with self._cond:   # woken by looked() or stop(); else the picture is handed out
                # again each second, as a camera would, so a stalled consumer still hears of it
                self._cond.wait_for(lambda looks=looks: self._looks > looks
                                    or self._stop.is_set(), HOLD_REPEAT)

    def _finish(self, status: str) -> None:
        with self._cond:
            self._ended = True
            self._cond.notify_all()
        self._status(status)
