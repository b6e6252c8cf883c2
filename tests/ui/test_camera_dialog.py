"""Trial item 9: Ctrl+K lists only the cameras that open, each numbered as the assistant says
it ("Webcam 2" is "camera 2"), then the demo, a video and a folder."""
from __future__ import annotations

import pytest


@pytest.mark.parametrize("language", ["en", "es"])
def test_the_chooser_lists_the_cameras_that_open_by_their_number(qtbot, language):
    from PySide6.QtCore import Qt

    from assistant.catalog import phrase
    from assistant.catalog import phrase as text
    from assistant.live.camera import WebcamSource
    from assistant.ui.dialogs import CameraDialog
    dialog = CameraDialog(None, None, language, cameras=[2])
    qtbot.addWidget(dialog)
    entries = [dialog.list.item(i) for i in range(dialog.list.count())]
    specs = [item.data(Qt.ItemDataRole.UserRole) for item in entries]
    assert specs == [2, "demo", "?video", "?folder"]
    assert entries[0].text() == text("webcam", language, n=2)
    assert "2" in phrase("camera_changed", language, name=WebcamSource(2).name)
    dialog.list.setCurrentRow(0)
    dialog.accept()
    assert dialog.choice == 2


def test_without_a_camera_the_demo_is_offered_first(qtbot):
    from PySide6.QtCore import Qt

    from assistant.ui.dialogs import CameraDialog
    dialog = CameraDialog(None, None, "en", cameras=[])
    qtbot.addWidget(dialog)
    assert dialog.list.currentItem().data(Qt.ItemDataRole.UserRole) == "demo"
