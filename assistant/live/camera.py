"""Frame sources (webcam, video file, photo folder, bundled demo) and a grabber thread. No Qt.

Every source yields RGB uint8 frames. Replayed sources are paced in real time, as a camera
would be. The grabber keeps only the newest frame, so the classifier never works through
a backlog of stale pictures, and it survives a camera that disappears and comes back
(FrameGrabber, in assistant/live/grabber.py).
"""
from __future__ import annotations

import datetime as _dt
import json
import logging
import time
from abc import ABC, abstractmethod
from pathlib import Path

import cv2
import numpy as np

from assistant import paths
from assistant.files import is_photo
from assistant.inference.vision import ImageError, bgr_to_rgb, load_image

log = logging.getLogger(__name__)

DEMO_DIR = paths.ASSETS_DIR / "demo"


class CameraError(Exception):
    """A source that cannot be opened or read; str() is a sentence for the user."""


class FrameSource(ABC):
    """One place frames come from. read() returns an RGB uint8 frame, or None when a
    finite source has ended; a source that fails raises CameraError."""

    name: str = "source"
    live: bool = False
    opened: bool = False
    #: the catalogue's sentence for the end of this source (a folder of photos is no video)
    ended_message: str = "source_ended"
    #: the photo in view, for sources made of photos (each one is a new appearance)
    showing: Path | None = None
    #: what the last frame read shows, for the records: the photo's name in a folder, the
    #: position in a video, the capture time from a camera ("" when nothing is in view)
    item: str = ""
    #: a source that can wait: it does not move on from what is in view until that has been
    #: recognised (a folder of photos; a live camera cannot wait and keeps the newest frame)
    waits: bool = False

    @abstractmethod
    def open(self) -> None:
        """Acquire the device or file; raises CameraError."""

    @abstractmethod
    def read(self) -> np.ndarray | None:
        """The next frame (paced in real time for replayed sources), or None at the end."""

    def close(self) -> None:
        """Release the device or file; safe to call twice."""
        self.opened = False

    def __enter__(self) -> FrameSource:
        self.open()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"


class _Pacer:
    """Sleeps so that frame k is handed out at start + k / fps (no sleeping if not realtime)."""

    def __init__(self, fps: float, realtime: bool) -> None:
        self.period = 1.0 / fps
        self.realtime = realtime
        self.start: float | None = None
        self.count = 0

    def wait(self) -> None:
        now = time.monotonic()
        if self.start is None:
            self.start = now
        due = self.start + self.count * self.period
        if self.realtime and due > now:
            time.sleep(due - now)
        elif self.realtime and now - due > 1.0:
            self.start, self.count = now, 0   # fell far behind (paused): do not race to catch up
        self.count += 1


class _CaptureSource(FrameSource):
    """A source read through an OpenCV VideoCapture (a webcam or a video file)."""

    _cap: cv2.VideoCapture | None = None

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None
        self.opened = False


class WebcamSource(_CaptureSource):
    """A webcam by OpenCV index."""

    live = True

    def __init__(self, index: int = 0) -> None:
        self.index = int(index)
        self.name = f"camera {self.index}"
        self._cap: cv2.VideoCapture | None = None

    def open(self) -> None:
        if self.opened:
            return
        dev = Path("/dev")
        if (dev / "null").exists() and not (dev / f"video{self.index}").exists():
            # Linux without that device: say so, without OpenCV's warnings on the terminal
            raise CameraError(f"{self.name} cannot be opened (no such camera is connected)")
        cap = cv2.VideoCapture(self.index)
        if not cap.isOpened():
            cap.release()
            raise CameraError(f"{self.name} cannot be opened (is it connected, or used by "
                              f"another program?)")
        cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)   # keep the driver from queueing old frames
        self._cap, self.opened = cap, True

    def read(self) -> np.ndarray | None:
        if self._cap is None:
            raise CameraError(f"{self.name} is not open")
        ok, frame = self._cap.read()
        if not ok or frame is None:
            raise CameraError(f"{self.name} stopped sending pictures")
        self.item = _dt.datetime.now().astimezone().isoformat(timespec="milliseconds")
        return bgr_to_rgb(frame)



class VideoFileSource(_CaptureSource):
    """A video file replayed at its own frame rate (realtime=False: as fast as read)."""

    def __init__(self, path: str | Path, loop: bool = False, realtime: bool = True) -> None:
        self.path = Path(path)
        self.loop, self.realtime = loop, realtime
        self.name = self.path.name
        self.fps = 25.0
        self._cap: cv2.VideoCapture | None = None
        self._pacer = _Pacer(self.fps, realtime)

    def open(self) -> None:
        if self.opened:
            return
        if not self.path.is_file():
            raise CameraError(f"{self.path}: no such video file")
        cap = cv2.VideoCapture(str(self.path))
        if not cap.isOpened():
            cap.release()
            raise CameraError(f"{self.path}: not a video that can be read")
        fps = cap.get(cv2.CAP_PROP_FPS)
        self.fps = fps if 1.0 <= fps <= 240.0 else 25.0
        self._pacer = _Pacer(self.fps, self.realtime)
        self._cap, self.opened = cap, True

    def read(self) -> np.ndarray | None:
        if self._cap is None:
            raise CameraError(f"{self.path}: not open")
        self._pacer.wait()
        ok, frame = self._cap.read()
        if not ok and self.loop and self._pacer.count > 1:
            self._cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
            ok, frame = self._cap.read()
        if not ok or frame is None:
            self.item = ""
            return None
        self.item = f"{self._cap.get(cv2.CAP_PROP_POS_MSEC) / 1000:.2f} s"
        return bgr_to_rgb(frame)



def available_cameras(limit: int = 8, devices: Path = Path("/dev")) -> list[int]:
    """The webcam indices that open now (a list for the chooser: offering cameras that are not
    there misleads). On Linux only the /dev/video* devices are tried, so a machine without a
    camera answers at once."""
    if devices.is_dir() and any(devices.glob("video*")):
        indices = sorted(int(p.name[5:]) for p in devices.glob("video*") if p.name[5:].isdigit())
    elif devices.is_dir() and (devices / "null").exists():
        return []   # a Linux without video devices
    else:
        indices = list(range(limit))
    found = []
    for index in indices[:limit]:
        cap = cv2.VideoCapture(index)
        try:
            if cap.isOpened():
                found.append(index)
        finally:
            cap.release()
    return found


def list_photos(path: Path) -> list[Path]:
    """Photo files in a folder and its sub-folders (sorted), or the one photo file."""
    if path.is_file():
        return [path]
    return sorted(p for p in path.rglob("*") if is_photo(p) and p.is_file())


class PhotoFolderSource(FrameSource):
    """A folder of photos, each held in view for hold_seconds at fps frames per second, as
    if a shopper held it up; gap_seconds of empty view between photos (a blurred, darker
    copy, as when the hand moves away), so each photo is announced on its own.

    .showing is the photo in view now (None during a gap); unreadable photos are skipped
    with a warning.
    """

    ended_message = "photos_ended"
    waits = True

    def __init__(self, path: str | Path, hold_seconds: float = 2.0, loop: bool = False,
                 fps: float = 10.0, gap_seconds: float = 0.0, realtime: bool = True) -> None:
        self.path = Path(path)
        if hold_seconds <= 0 or fps <= 0 or gap_seconds < 0:
            raise CameraError("hold and fps must be positive, the gap not negative")
        self.hold, self.loop, self.fps, self.gap = hold_seconds, loop, fps, gap_seconds
        self.realtime = realtime
        self.name = self.path.name or str(self.path)
        self.photos: list[Path] = []
        self.showing: Path | None = None
        self.skipped: list[tuple[Path, str]] = []
        self._plan: list[tuple[int, bool]] = []   # (photo index, is gap) per frame
        self._pos = 0
        self._cache: tuple[int, np.ndarray, np.ndarray | None] | None = None
        self._pacer = _Pacer(fps, realtime)

    def open(self) -> None:
        if self.opened:
            return
        if not self.path.exists():
            raise CameraError(f"{self.path}: no such photo folder")
        self.photos = list_photos(self.path)
        if not self.photos:
            raise CameraError(f"{self.path}: no photos (.jpg, .png...) in this folder")
        held, gap = max(1, round(self.hold * self.fps)), round(self.gap * self.fps)
        self._plan = [(i, g) for i in range(len(self.photos))
                      for g in [False] * held + [True] * gap]
        self._pos, self._cache = 0, None
        self._pacer = _Pacer(self.fps, self.realtime)
        self.opened = True

    def read(self) -> np.ndarray | None:
        if not self.opened:
            raise CameraError(f"{self.path}: not open")
        while True:
            if self._pos >= len(self._plan):
                if not self.loop or len(self.skipped) >= len(self.photos):
                    self.showing, self.item = None, ""
                    return None
                self._pos = 0
            index, is_gap = self._plan[self._pos]
            self._pos += 1
            picture = self._picture(index, is_gap)
            if picture is not None:
                break
        self._pacer.wait()
        self.showing = None if is_gap else self.photos[index]
        self.item = "" if self.showing is None else self._name(self.showing)
        return picture

    def _name(self, photo: Path) -> str:
        """The photo as the records name it: its path inside the folder."""
        try:
            return photo.relative_to(self.path).as_posix() if photo != self.path else photo.name
        except ValueError:
            return photo.name

    def _picture(self, index: int, is_gap: bool) -> np.ndarray | None:
        if self._cache is None or self._cache[0] != index:
            path = self.photos[index]
            if any(p == path for p, _ in self.skipped):
                return None
            try:
                rgb = load_image(path)
            except ImageError as exc:
                log.warning("skipping photo %s", exc)
                self.skipped.append((path, str(exc)))
                return None
            self._cache = (index, rgb, None)
        index, rgb, gap = self._cache
        if not is_gap:
            return rgb.copy()   # each frame its own array, as from a camera (and writable)
        if gap is None:
            side = max(rgb.shape[:2])
            k = max(31, (side // 4) | 1)   # odd kernel; strong enough to wipe out detail
            gap = (cv2.GaussianBlur(rgb, (k, k), 0) * 0.6).astype(np.uint8)
            self._cache = (index, rgb, gap)
        return gap.copy()

    def close(self) -> None:
        self._cache = None
        self.opened = False


class DemoSource(PhotoFolderSource):
    """The bundled demo in assets/demo/ (GroceryStore photos, MIT licence), looping: each
    product is held up for a few seconds, then taken away."""

    def __init__(self, loop: bool = True, realtime: bool = True, folder: Path | None = None,
                 hold_seconds: float = 3.0, gap_seconds: float = 1.5) -> None:
        super().__init__(folder or DEMO_DIR, hold_seconds=hold_seconds, loop=loop,
                         gap_seconds=gap_seconds, realtime=realtime)
        self.name = "demo"

    @classmethod
    def held(cls, hold: float) -> DemoSource:
        """The demo with each photo held `hold` seconds (--hold, the settings' photo time), and
        taken away for half that between products, 1.5 s at most."""
        return cls(hold_seconds=hold, gap_seconds=min(1.5, hold / 2))

    def open(self) -> None:
        if not self.path.is_dir() or not list_photos(self.path):
            raise CameraError(f"the demo pictures are missing from {self.path}; "
                              f"reinstall the assistant or run scripts/make_demo.py")
        super().open()

    def expected(self) -> dict[str, str]:
        """Photo file name -> the product id it shows (from demo.json)."""
        try:
            entries = json.loads((self.path / "demo.json").read_text(encoding="utf-8"))
            return {e["file"]: e["class"] for e in entries}
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("demo.json unreadable: %s", exc)
            return {}


def open_source(spec: str | int | None, hold: float = 2.0) -> FrameSource:
    """int or "0" -> webcam; a video file; a photo folder (or one photo); "demo";
    None -> webcam 0 if it opens, else the demo source.

    Files and folders are checked (CameraError says what is wrong) and opened; a webcam
    given by index is returned even when it does not open now: the FrameGrabber keeps
    trying and says so.
    """
    if spec is None:
        cam = WebcamSource(0)
        try:
            cam.open()
            return cam
        except CameraError as exc:
            log.info("%s; playing the demo instead", exc)
            demo = DemoSource.held(hold)
            demo.open()
            return demo
    if isinstance(spec, bool):
        raise CameraError(f"{spec!r} is not a camera, video or folder")
    if isinstance(spec, int) or (isinstance(spec, str) and spec.strip().isdigit()):
        return WebcamSource(int(spec))
    if spec == "demo":
        source: FrameSource = DemoSource.held(hold)
    else:
        path = Path(spec).expanduser()
        if path.is_dir() or (path.is_file() and is_photo(path)):
            source = PhotoFolderSource(path, hold_seconds=hold)
        elif path.is_file():
            source = VideoFileSource(path)
        else:
            raise CameraError(f"{spec}: no such camera, video file or photo folder")
    source.open()
    return source


