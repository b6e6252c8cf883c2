"""Maintainer mode's photo half: import a folder into a product (in a thread; unreadable or
odd files are listed), or capture from the camera with a spoken countdown while recognition
pauses (it would name the product at every turn); or give it the barcode in the camera's
view ("Scan barcode")."""
from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, QTimer

from assistant.catalog import phrase
from assistant.maintainer.session import MaintainerSession
from assistant.ui.maintainer.products import Outlets, ProductsView
from assistant.ui.maintainer.worker import CaptureController
from assistant.ui.qt_language import file_chooser
from assistant.ui.tasks import BackgroundTask


class PhotoDesk(QObject):
    """Photos and barcodes for the selected product of `products`. ctx is the app's context
    (.settings; .source, .assistant, .latest_frame() and .barcode_book when present);
    changed() is called when a product's photos changed, busy() when a capture starts or ends,
    show(lines) with an import's skipped files."""

    #: how long "Assign barcode" looks at the camera before it says it found none
    scan_seconds = 8.0

    def __init__(self, session: MaintainerSession, ctx, out: Outlets, products: ProductsView | None,
                 changed: Callable[[], None], busy: Callable[[], None],
                 show: Callable[[list[str]], None], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session, self.ctx, self.out, self.products = session, ctx, out, products
        self.language = session.language
        self.changed, self.busy, self.show = changed, busy, show
        self.importer: BackgroundTask | None = None
        self.capture: CaptureController | None = None
        self.scan_timer: QTimer | None = None   # looking for a barcode in the camera's view
        self._own_camera = None
        self._was_continuous: bool | None = None
        self._importing: tuple[str, str] | None = None

    @property
    def library(self):
        return self.session.library

    def tell(self, text: str, urgent: bool = False) -> None:
        self.out.tell(text, urgent)

    def import_photos(self) -> None:
        pid = self.products.need_selection()
        if pid is None:
            return
        name = self.library.get(pid).name(self.language)
        dialog = file_chooser(self.products.window(), phrase("folder_title", self.language, name=name), self.language)
        dialog.setObjectName("folder_dialog")
        dialog.fileSelected.connect(lambda folder: self._import(pid, name, folder))
        self.tell(phrase("folder_title", self.language, name=name))
        self.out.open_child(dialog)

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
        self.tell(phrase("error", self.language, why=why), urgent=True)

    def _imported(self, report) -> None:
        self.importer.thread.wait(5000)
        self.importer = None
        pid, name = self._importing
        self.products.refresh(select=pid)
        lines = [phrase("skipped_item", self.language, file=Path(f).name, why=why) for f, why in report.skipped]
        self.show(lines)
        self.tell(phrase("imported", self.language, n=len(report.added), name=name, d=report.duplicates,
                     s=len(report.skipped)))
        self.changed()

    def capture_photos(self) -> None:
        pid = self.products.need_selection()
        if pid is None:
            return
        source = getattr(self.ctx, "source", None)  # a context may have no camera at all
        if source is not None and not source.live:
            # photos of a folder or a video are not the product in the maintainer's hand: a
            # soda picture was once saved as avocado
            self.tell(phrase("capture_not_camera", self.language), urgent=True)
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
            preface = phrase("capture_paused", self.language)
        name = self.library.get(pid).name(self.language)
        self.capture = CaptureController(self.library, pid, name, grab, self.language, parent=self,
                                         preface=preface)
        self.capture.said.connect(lambda words, urgent: self.tell(words, urgent))
        self.capture.finished.connect(lambda kept, rejected: self._captured(pid))
        self.busy()
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
            self.tell(phrase("error", self.language, why=exc), urgent=True)
            return None

    def _release_own_camera(self) -> None:
        if self._own_camera is not None:
            self._own_camera.stop()
            self._own_camera = None

    def _captured(self, pid: str) -> None:
        self.capture = None
        self._release_own_camera()
        assistant = getattr(self.ctx, "assistant", None)
        if assistant is not None and self._was_continuous is not None:
            assistant.set_continuous(self._was_continuous)
        self.products.refresh(select=pid)
        self.busy()
        self.changed()

    # --- barcodes ---------------------------------------------------------------------
    def barcode_book(self):
        """The app's barcode list (shared, so a scanned code is said at once), else the file."""
        book = getattr(self.ctx, "barcode_book", None)
        if book is None:
            from assistant.store.barcodes import BarcodeBook
            book = self.ctx.barcode_book = BarcodeBook()
        return book

    def scan_barcode(self) -> None:
        """Look at the camera for a few seconds; the first code seen goes to the selected
        product (said with its digits); a code of another product is refused."""
        pid = self.products.need_selection()
        if pid is None or self.scan_timer is not None:
            return
        grab = self._frame_source()
        if grab is None:
            return
        name = self.library.get(pid).name(self.language)
        self.tell(phrase("scan_looking", self.language, name=name), urgent=True)
        started = time.monotonic()
        timer = self.scan_timer = QTimer(self)

        def look() -> None:
            from assistant.inference.barcodes import read_codes
            frame = grab()
            codes = read_codes(frame) if frame is not None else []
            if codes:
                self.stop_scan()
                self.out.guard(lambda: self._scanned(pid, codes[0]))
            elif time.monotonic() - started > self.scan_seconds:
                self.stop_scan()
                self.tell(phrase("scan_none", self.language), urgent=True)
        timer.timeout.connect(look)
        timer.start(150)

    def stop_scan(self) -> None:
        if self.scan_timer is not None:
            self.scan_timer.stop()
            self.scan_timer = None
        self._release_own_camera()

    def _scanned(self, pid: str, code) -> None:
        product = self.library.get(pid)
        book = self.barcode_book()
        entry = book.add(code.text, product.names.get("en"), product.names.get("es"), product=pid,
                         scanned=True)
        digits = " ".join(entry.code) if code.retail else entry.code
        self.tell(phrase("scan_done", self.language, digits=digits, name=product.name(self.language),
                     n=len(book.codes_of(pid))), urgent=True)
