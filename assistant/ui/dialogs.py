"""Small keyboard-first dialogs: the F1 command list and the camera chooser."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
)

from assistant.catalog import phrase, plain
from assistant.ui import accessibility as a11y
from assistant.ui.commands import help_rows
from assistant.ui.qt_language import file_chooser


def ok_cancel(dialog: QDialog, language: str, ok_desc: str = "dialog_ok_desc") -> QDialogButtonBox:
    """The OK and Cancel buttons of a dialog, named for screen readers in the language (ok_desc:
    the catalog key of what OK does here), wired to accept and reject."""
    box = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
    for which, key, desc in ((QDialogButtonBox.StandardButton.Ok, "dialog_ok", ok_desc),
                             (QDialogButtonBox.StandardButton.Cancel, "dialog_cancel", "dialog_cancel_desc")):
        button = box.button(which)
        button.setText(phrase(key, language))
        a11y.name(button, plain(phrase(key, language)), phrase(desc, language))
    box.accepted.connect(dialog.accept)
    box.rejected.connect(dialog.reject)
    return box


class HelpDialog(QDialog):
    """Every command of the table with its key, in a list the arrow keys walk."""

    def __init__(self, parent: QWidget | None, actions: dict, language: str) -> None:
        super().__init__(parent)
        self.setObjectName("help_dialog")
        self.setStyleSheet(a11y.FOCUS_STYLE)
        self.setWindowTitle(phrase("help_title", language))
        layout = QVBoxLayout(self)
        self.list = QListWidget()
        self.list.setObjectName("help_list")
        label = QLabel(phrase("help_list", language))
        label.setBuddy(self.list)
        a11y.name(self.list, phrase("help_list", language), phrase("help_list_desc", language))
        for cid, key, description in help_rows(actions, language):
            item = QListWidgetItem(f"{key}: {description}")
            item.setData(Qt.ItemDataRole.UserRole, cid)
            self.list.addItem(item)
        self.list.setCurrentRow(0)
        # every command in view without scrolling, at any font size or scale
        frame = 2 * self.list.frameWidth() + 8
        self.list.setMinimumWidth(self.list.sizeHintForColumn(0) + frame + 24)
        self.list.setMinimumHeight(self.list.sizeHintForRow(0) * (self.list.count() + 1) + frame)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close = buttons.button(QDialogButtonBox.StandardButton.Close)
        close.setText(phrase("dialog_close", language))
        a11y.name(close, plain(phrase("dialog_close", language)), phrase("dialog_close_desc", language))
        buttons.rejected.connect(self.reject)
        layout.addWidget(label)
        layout.addWidget(self.list)
        layout.addWidget(buttons)
        self.list.setFocus()

    def lines(self) -> list[str]:
        return [self.list.item(i).text() for i in range(self.list.count())]


class CameraDialog(QDialog):
    """Pick a webcam, the demo, a video file or a photo folder; .choice is the source spec
    (an int index, "demo", or a path) once accepted."""

    def __init__(self, parent: QWidget | None, current, language: str,
                 cameras: list[int] | None = None) -> None:
        """cameras: the webcam indices that open (default: camera.available_cameras())."""
        super().__init__(parent)
        self.setObjectName("camera_dialog")
        self.setStyleSheet(a11y.FOCUS_STYLE)
        self.setWindowTitle(phrase("camera_title", language))
        self.language = language
        self.choice = None
        layout = QVBoxLayout(self)
        self.list = QListWidget()
        self.list.setObjectName("camera_list")
        label = QLabel(phrase("camera_list", language))
        label.setBuddy(self.list)
        a11y.name(self.list, phrase("camera_list", language), phrase("camera_list_desc", language))
        if cameras is None:
            from assistant.live.camera import available_cameras
            cameras = available_cameras()
        self.cameras = list(cameras)
        # numbered as --source and the spoken "Camera: camera 0" number them
        entries = [(phrase("webcam", language, n=i), i) for i in cameras]
        entries += [(phrase("demo", language), "demo"), (phrase("video_file", language), "?video"),
                    (phrase("photo_folder", language), "?folder")]
        for words, spec in entries:
            item = QListWidgetItem(words)
            item.setData(Qt.ItemDataRole.UserRole, spec)
            self.list.addItem(item)
            if spec == current or (current is None and spec == (cameras or ["demo"])[0]):
                self.list.setCurrentItem(item)
        if self.list.currentRow() < 0:
            self.list.setCurrentRow(0)
        self.list.itemActivated.connect(lambda _item: self.accept())
        buttons = ok_cancel(self, language)
        layout.addWidget(label)
        layout.addWidget(self.list)
        layout.addWidget(buttons)
        self.list.setFocus()

    def accept(self) -> None:
        item = self.list.currentItem()
        spec = item.data(Qt.ItemDataRole.UserRole) if item else None
        if spec in ("?video", "?folder"):
            video = spec == "?video"
            chooser = file_chooser(self, plain(phrase("video_file" if video else "photo_folder",
                                                    self.language)), self.language,
                                   folders=not video,
                                   name_filter="Video (*.mp4 *.avi *.mkv *.mov *.webm)" if video else None)
            spec = chooser.selectedFiles()[0] if chooser.exec() and chooser.selectedFiles() else ""
        if spec in ("", None):
            return  # the file chooser was cancelled: stay in this dialog, nothing lost
        self.choice = spec
        super().accept()
