"""Maintainer mode's photo half: import a folder into a product (in a thread; unreadable or
odd files are listed), or capture from the camera with a spoken countdown while recognition
pauses (it would name the product at every turn)."""
from __future__ import annotations

from pathlib import Path

from assistant.ui.maintainer.texts import tr
from assistant.ui.maintainer.worker import CaptureController
from assistant.ui.tasks import BackgroundTask
from assistant.ui.texts import file_chooser


class PhotoActions:
    """Mixed into MaintainerDialog (which provides the widgets, tell() and the library)."""

    def import_photos(self) -> None:
        pid = self._need_selection()
        if pid is None:
            return
        name = self.library.get(pid).name(self.language)
        dialog = file_chooser(self, tr("folder_title", self.language, name=name), self.language)
        dialog.setObjectName("folder_dialog")
        dialog.fileSelected.connect(lambda folder: self._import(pid, name, folder))
        self.tell(tr("folder_title", self.language, name=name))
        dialog.open()

    def _import(self, pid: str, name: str, folder: str) -> None:
        # signals from the worker thread reach bound methods of this dialog (queued into the
        # GUI thread); a lambda here would run in the worker thread and touch widgets there
        self._importing = (pid, name)
        self.importer = BackgroundTask(lambda: self.library.import_folder(pid, folder),
                                       name="import photos", language=self.language)
        self.importer.finished.connect(self._imported)
        self.importer.failed.connect(self._import_failed)
        self.importer.start()

    def _import_failed(self, why: str) -> None:
        self.importer.thread.wait(5000)
        self.importer = None
        self.tell(tr("error", self.language, why=why), urgent=True)

    def _imported(self, report) -> None:
        self.importer.thread.wait(5000)
        self.importer = None
        pid, name = self._importing
        self.refresh(select=pid)
        lines = [tr("skipped_item", self.language, file=Path(f).name, why=why) for f, why in report.skipped]
        self.report.setPlainText("\n".join(lines))
        self.tell(tr("imported", self.language, n=len(report.added), name=name, d=report.duplicates,
                     s=len(report.skipped)))
        self.start_warm()

    def capture_photos(self) -> None:
        pid = self._need_selection()
        if pid is None:
            return
        grab = self._frame_source()
        if grab is None:
            return
        assistant = getattr(self.ctx, "assistant", None)
        self._was_continuous = None
        preface = ""
        if assistant is not None and hasattr(assistant, "set_continuous"):
            self._was_continuous = bool(getattr(self.ctx.settings, "continuous", True))
            assistant.set_continuous(False)  # it would name the product at every turn
            # said in the same utterance as the start of the countdown: a separate, queued
            # sentence was dropped when the urgent countdown interrupted it
            preface = tr("capture_paused", self.language)
        name = self.library.get(pid).name(self.language)
        self.capture = CaptureController(self.library, pid, name, grab, self.language, parent=self,
                                         preface=preface)
        self.capture.said.connect(lambda words, urgent: self.tell(words, urgent))
        self.capture.finished.connect(lambda kept, rejected: self._captured(pid))
        self._update_buttons()
        self.capture.start()

    def _frame_source(self):
        latest = getattr(self.ctx, "latest_frame", None)
        if callable(latest):
            return latest
        assistant = getattr(self.ctx, "assistant", None)
        if assistant is not None and getattr(assistant, "running", False):
            return assistant.latest_frame
        try:  # no running assistant: open the camera ourselves
            from assistant.live.camera import open_source
            from assistant.live.grabber import FrameGrabber
            source = open_source(getattr(self.ctx.settings, "camera", None))
            self._own_camera = FrameGrabber(source, on_status=lambda status: None)
            self._own_camera.start()
            return lambda: self._own_camera.latest()[0]
        except Exception as exc:
            self.tell(tr("error", self.language, why=exc), urgent=True)
            return None

    def _captured(self, pid: str) -> None:
        self.capture = None
        if self._own_camera is not None:
            self._own_camera.stop()
            self._own_camera = None
        assistant = getattr(self.ctx, "assistant", None)
        if assistant is not None and self._was_continuous is not None:
            assistant.set_continuous(self._was_continuous)
        self.refresh(select=pid)
        self.start_warm()

