"""Frame sources and the grabber: replayed video and photos, newest-frame-only, lost cameras."""
from __future__ import annotations

import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from assistant.inference.vision import sharpness
from assistant.live import camera
from assistant.live.camera import (
    CameraError,
    FrameSource,
    PhotoFolderSource,
    VideoFileSource,
    WebcamSource,
    open_source,
)
from assistant.live.grabber import FrameGrabber

COLOURS_RGB = [(220, 20, 20), (20, 200, 40), (30, 40, 210)]


def write_video(path: Path, frames_per_colour: int = 4, fps: float = 20.0) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (64, 48))
    assert writer.isOpened()
    for rgb in COLOURS_RGB:
        for _ in range(frames_per_colour):
            frame = np.zeros((48, 64, 3), np.uint8)
            frame[:] = rgb[::-1]                      # OpenCV writes BGR
            writer.write(frame)
    writer.release()
    return path


def dominant(frame: np.ndarray) -> int:
    return int(np.argmax(frame.reshape(-1, 3).mean(axis=0)))


def read_all(source: FrameSource, limit: int = 10_000) -> list[np.ndarray]:
    out = []
    with source:
        while len(out) < limit and (frame := source.read()) is not None:
            out.append(frame)
    return out


def test_video_file_gives_rgb_frames_in_order_then_ends(tmp_path):
    frames = read_all(VideoFileSource(write_video(tmp_path / "clip.avi"), realtime=False))
    assert len(frames) == 12
    assert all(f.dtype == np.uint8 and f.shape == (48, 64, 3) for f in frames)
    assert [dominant(f) for f in frames] == [0] * 4 + [1] * 4 + [2] * 4   # red, green, blue


def test_video_file_loops_when_asked(tmp_path):
    frames = read_all(VideoFileSource(write_video(tmp_path / "clip.avi"), loop=True,
                                      realtime=False), limit=30)
    assert len(frames) == 30 and dominant(frames[12]) == 0


def test_video_is_paced_at_its_frame_rate(tmp_path):
    source = VideoFileSource(write_video(tmp_path / "clip.avi", fps=20.0))
    t0 = time.monotonic()
    assert len(read_all(source)) == 12
    assert time.monotonic() - t0 >= 11 / 20.0 * 0.9


@pytest.mark.parametrize("name, content", [("missing.avi", None), ("broken.avi", b"not a video")])
def test_unreadable_video_is_a_clear_error(tmp_path, name, content):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(CameraError, match=name):
        VideoFileSource(path).open()


def test_photo_folder_holds_each_photo_then_ends(photo_dir):
    source = PhotoFolderSource(photo_dir, hold_seconds=0.3, fps=10, realtime=False)
    shown = []
    with source:
        while source.read() is not None:
            shown.append(source.showing)
    assert len(source.photos) == 24
    assert len(shown) == 24 * 3
    assert shown[:3] == [source.photos[0]] * 3 and shown[3] == source.photos[1]


def test_photo_folder_gap_is_an_empty_blurred_view(photo_dir):
    source = PhotoFolderSource(photo_dir / "red_sauce", hold_seconds=0.2, fps=10,
                               gap_seconds=0.2, realtime=False)
    with source:
        frames = [source.read() for _ in range(4)]     # 2 held, 2 gap
        assert source.showing is None
        third = source.read()
    held, gap = frames[0], frames[3]
    assert sharpness(gap) < 5 < sharpness(held)
    assert np.array_equal(frames[0], frames[1]) and np.array_equal(frames[2], frames[3])
    assert source.showing == source.photos[1] and third.shape == held.shape


def test_photo_folder_is_paced_in_real_time(photo_dir):
    source = PhotoFolderSource(photo_dir / "green_tea", hold_seconds=0.1, fps=20)
    t0 = time.monotonic()
    frames = read_all(source)
    assert len(frames) == 8 * 2
    assert time.monotonic() - t0 >= 15 / 20.0 * 0.9


def test_photo_folder_skips_broken_photos_and_loops(photo_dir):
    (photo_dir / "blue_milk" / "zz_broken.jpg").write_bytes(b"\xff\xd8 not really")
    source = PhotoFolderSource(photo_dir / "blue_milk", hold_seconds=0.1, fps=10, loop=True,
                               realtime=False)
    frames = read_all(source, limit=20)
    assert len(frames) == 20
    assert [p.name for p, _ in source.skipped] == ["zz_broken.jpg"]


def test_photo_folder_frames_are_independent_copies(photo_dir):
    with PhotoFolderSource(photo_dir, hold_seconds=0.2, fps=10, realtime=False) as source:
        a = source.read()
        a[:] = 0                                   # a consumer scribbling on its frame
        assert source.read().any()


@pytest.mark.parametrize("make", [lambda p: p / "nothing", lambda p: p / "empty"])
def test_empty_or_missing_folder_is_a_clear_error(tmp_path, make):
    (tmp_path / "empty").mkdir()
    with pytest.raises(CameraError, match="photo"):
        PhotoFolderSource(make(tmp_path)).open()


def test_a_missing_webcam_cannot_be_opened():
    with pytest.raises(CameraError, match="camera 97"):
        WebcamSource(97).open()


def test_open_source_understands_each_kind_of_spec(tmp_path, photo_dir):
    assert isinstance(open_source(2), WebcamSource) and open_source("3").index == 3
    video = open_source(str(write_video(tmp_path / "clip.avi")))
    assert isinstance(video, VideoFileSource) and video.opened
    folder = open_source(str(photo_dir), hold=0.5)
    assert isinstance(folder, PhotoFolderSource) and folder.hold == 0.5
    one = open_source(str(next((photo_dir / "green_tea").iterdir())))
    assert isinstance(one, PhotoFolderSource) and len(one.photos) == 1
    with pytest.raises(CameraError, match="no such camera, video file or photo folder"):
        open_source(str(tmp_path / "nope"))


def test_no_webcam_means_the_demo(monkeypatch, photo_dir):
    def refuse(self):
        raise CameraError("camera 0 cannot be opened")
    monkeypatch.setattr(WebcamSource, "open", refuse)
    monkeypatch.setattr(camera, "DEMO_DIR", photo_dir)
    monkeypatch.setattr(camera.DemoSource.__init__, "__defaults__",
                        (True, True, photo_dir, 3.0, 1.5))
    source = open_source(None)
    assert source.name == "demo" and source.opened and source.loop
    source.close()


class CountingSource(FrameSource):
    """Frames whose pixels hold their number; blocks after `burst` frames until released."""

    live = True

    def __init__(self, burst: int = 5):
        self.name, self.n, self.burst = "counter", 0, burst
        self.release = threading.Event()

    def open(self):
        self.opened = True

    def read(self):
        if self.n >= self.burst:
            self.release.wait(5)
            self.release.clear()
        self.n += 1
        return np.full((8, 8, 3), self.n % 256, np.uint8)


def test_grabber_keeps_only_the_newest_frame():
    source = CountingSource(burst=5)
    statuses = []
    grabber = FrameGrabber(source, statuses.append)
    grabber.start()
    try:
        frame, seq = grabber.wait_new(4, timeout=5)
        assert seq == 5 and frame[0, 0, 0] == 5      # frames 1-4 were replaced, not queued
        assert grabber.latest()[1] == 5
        source.release.set()
        frame, seq = grabber.wait_new(5, timeout=5)
        assert seq == 6 and frame[0, 0, 0] == 6
    finally:
        source.release.set()
        grabber.stop()
    assert statuses == []


class FlakySource(FrameSource):
    """A webcam that sends 3 frames, is unplugged (2 failed re-opens), then works again."""

    live = True
    name = "flaky camera"

    def __init__(self):
        self.reads = 0
        self.opens = 0

    def open(self):
        self.opens += 1
        if 2 <= self.opens <= 3:
            raise CameraError("flaky camera cannot be opened")
        self.opened = True

    def read(self):
        self.reads += 1
        if self.reads == 4:
            raise CameraError("flaky camera stopped sending pictures")
        time.sleep(0.01)
        return np.full((8, 8, 3), self.reads, np.uint8)


def test_camera_lost_mid_stream_is_reported_then_reconnected():
    statuses = []
    grabber = FrameGrabber(FlakySource(), statuses.append, retry_delays=(0.01, 0.02))
    grabber.start()
    try:
        frame, seq = grabber.wait_new(3, timeout=5)
        deadline = time.monotonic() + 5
        while seq < 6 and time.monotonic() < deadline:
            frame, seq = grabber.wait_new(seq, timeout=1)
    finally:
        grabber.stop()
    assert statuses == ["camera_disconnected", "camera_reconnected"]
    assert seq >= 6 and not grabber.ended and grabber.error is None


def test_a_camera_missing_at_start_is_retried():
    source = FlakySource()
    source.opens = 1                       # the next two opens fail
    statuses = []
    grabber = FrameGrabber(source, statuses.append, retry_delays=(0.01,))
    grabber.start()
    try:
        assert grabber.wait_new(0, timeout=5)[1] == 1
    finally:
        grabber.stop()
    assert statuses == ["camera_failed", "camera_reconnected"]


def test_a_finite_source_ends_and_a_broken_file_fails(tmp_path, photo_dir):
    statuses = []
    grabber = FrameGrabber(PhotoFolderSource(photo_dir / "red_sauce", hold_seconds=0.1,
                                             realtime=False), statuses.append)
    grabber.start()
    deadline = time.monotonic() + 5
    while not grabber.ended and time.monotonic() < deadline:
        time.sleep(0.01)
    grabber.stop()
    assert statuses == ["source_ended"] and grabber.latest()[1] == 8

    statuses.clear()
    broken = FrameGrabber(VideoFileSource(tmp_path / "gone.avi"), statuses.append)
    broken.start()
    broken.wait_new(0, timeout=5)
    broken.stop()
    assert statuses == ["source_failed"] and broken.ended and "gone.avi" in broken.error


FREIBURG = {"beans", "cake", "candy", "cereal", "chips", "chocolate", "coffee", "corn", "fish",
            "flour", "honey", "jam", "juice", "milk", "nuts", "oil", "pasta", "rice", "soda",
            "spices", "sugar", "tea", "tomato_sauce", "vinegar", "water"}


def test_the_bundled_demo_plays_products_the_model_knows_with_its_licence():
    demo = camera.DemoSource(realtime=False)
    with demo:
        frames = [demo.read() for _ in range(len(demo.photos) * 50)]    # more than one loop
    assert all(f is not None and f.ndim == 3 for f in frames)
    expected = demo.expected()
    assert set(expected) == {p.name for p in demo.photos} and len(expected) >= 4
    assert set(expected.values()) <= FREIBURG and len(set(expected.values())) >= 2
    folder = camera.DEMO_DIR
    assert "MIT License" in (folder / "LICENSE").read_text()
    assert "Klasson" in (folder / "ATTRIBUTION.md").read_text()
    assert sum(p.stat().st_size for p in folder.iterdir()) < 2_000_000


def test_the_photo_time_holds_the_demo_too(monkeypatch):
    """--hold (the settings' photo time) is how long the demo holds each product up, as for any
    photo folder, named or fallen back to without a webcam; the gap between products is half of
    it, 1.5 s at most. (It was ignored: `app --source demo --hold 0.2 --once` took 36 s.)"""
    def no_webcam(self):
        raise camera.CameraError("no webcam here")
    monkeypatch.setattr(camera.WebcamSource, "open", no_webcam)
    for spec in ("demo", None):
        quick = camera.open_source(spec, 0.4)
        assert isinstance(quick, camera.DemoSource) and (quick.hold, quick.gap) == (0.4, 0.2)
        slow = camera.open_source(spec, 5.0)
        assert (slow.hold, slow.gap) == (5.0, 1.5)
        for s in (quick, slow):
            s.close()
