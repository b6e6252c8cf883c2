"""Trial item 9: only cameras that open are offered, numbered as --source numbers them."""
from __future__ import annotations

import assistant.live.camera as camera


class FakeCapture:
    opens = {2}

    def __init__(self, index):
        self.index = index

    def isOpened(self):
        return self.index in self.opens

    def release(self):
        pass


def test_only_the_video_devices_that_open_are_listed(tmp_path, monkeypatch):
    for name in ("video0", "video2", "video5", "null"):
        (tmp_path / name).touch()
    monkeypatch.setattr(camera.cv2, "VideoCapture", FakeCapture)
    assert camera.available_cameras(devices=tmp_path) == [2]


def test_a_machine_without_video_devices_lists_none_and_probes_nothing(tmp_path, monkeypatch):
    (tmp_path / "null").touch()

    def no_probe(index):
        raise AssertionError("probed a camera that has no device")
    monkeypatch.setattr(camera.cv2, "VideoCapture", no_probe)
    assert camera.available_cameras(devices=tmp_path) == []


def test_the_number_listed_is_the_number_said():
    assert camera.WebcamSource(2).name == "camera 2"
