"""Frame sources (webcam, video file, photo folder, bundled demo) and a grabber thread. No Qt.

Every source yields RGB uint8 frames. The grabber keeps only the newest frame, so the
classifier never works through a backlog of stale pictures.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path

import numpy as np

DEMO_DIR = Path(__file__).resolve().parents[1] / "assets" / "demo"


class CameraError(Exception):
    """A source that cannot be opened or read; str() is a sentence for the user."""


class FrameSource(ABC):
    """One place frames come from. read() returns an RGB uint8 frame, or None when a
    finite source has ended; a live source that fails raises CameraError."""

    name: str = "source"
    live: bool = False

    @abstractmethod
    def open(self) -> None:
        """Acquire the device or file; raises CameraError."""

    @abstractmethod
    def read(self) -> np.ndarray | None:
        """The next frame (paced in real time for replayed sources), or None at the end."""

    def close(self) -> None:
        """Release the device or file; safe to call twice."""


class WebcamSource(FrameSource):
    """A webcam by OpenCV index."""

    live = True

    def __init__(self, index: int = 0) -> None:
        raise NotImplementedError


class VideoFileSource(FrameSource):
    """A video file replayed at its own frame rate (realtime=False: as fast as read)."""

    def __init__(self, path: str | Path, loop: bool = False, realtime: bool = True) -> None:
        raise NotImplementedError


class PhotoFolderSource(FrameSource):
    """A folder of photos, each held in view for hold_seconds at fps frames per second, as
    if a shopper held it up; gap_seconds of empty view between photos."""

    def __init__(self, path: str | Path, hold_seconds: float = 2.0, loop: bool = False,
                 fps: float = 10.0, gap_seconds: float = 0.0, realtime: bool = True) -> None:
        raise NotImplementedError


class DemoSource(FrameSource):
    """The bundled demo in assets/demo/ (GroceryStore photos), looping."""

    def __init__(self, loop: bool = True, realtime: bool = True) -> None:
        raise NotImplementedError


def open_source(spec: str | int | None, hold: float = 2.0) -> FrameSource:
    """int or "0" -> webcam; a video file; a photo folder; "demo"; None -> webcam 0 if it
    opens, else the demo source. The returned source is already open."""
    raise NotImplementedError


class FrameGrabber:
    """Reads a source in its own thread and keeps only the newest frame.

    on_status(id) receives "camera_disconnected", "camera_reconnected", "source_ended"
    (a finite source ran out) or "camera_failed" (could not open at all, still retrying).
    on_frame(frame, seq), if given, is called from the grabber thread for every new frame.
    """

    def __init__(self, source: FrameSource, on_status: Callable[[str], None],
                 on_frame: Callable[[np.ndarray, int], None] | None = None,
                 retry_delays: tuple[float, ...] = (0.5, 1.0, 2.0, 4.0)) -> None:
        raise NotImplementedError

    @property
    def ended(self) -> bool:
        """True once a finite source has run out."""
        raise NotImplementedError

    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        """Stop the thread and close the source."""
        raise NotImplementedError

    def latest(self) -> tuple[np.ndarray | None, int]:
        """(newest frame, its sequence number); (None, 0) before the first frame."""
        raise NotImplementedError

    def wait_new(self, after_seq: int, timeout: float) -> tuple[np.ndarray | None, int]:
        """Block until a frame newer than after_seq (or the timeout, or the end)."""
        raise NotImplementedError
