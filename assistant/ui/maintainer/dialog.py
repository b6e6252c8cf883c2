"""Maintainer mode: add products (names, photos from a folder or the webcam), retrain fast or
full in the background with progress and cancel, read the report, activate, roll back.

Everything works by keyboard (Alt+underlined letter, Tab, arrows, Enter, Escape) and every
outcome is both shown in the status line and spoken. The window is views over the maintainer
session (assistant.maintainer.session: the library, the retrain in a child process, the model
versions): the products (products.py), their photos (photos.py) and the retrain (report.py).
"""
from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QLabel,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from assistant.catalog import phrase, plain
from assistant.inference.protocol import Classifier
from assistant.maintainer.session import MaintainerSession
from assistant.store.library import Library
from assistant.ui import accessibility as a11y
from assistant.ui.maintainer.photos import PhotoDesk
from assistant.ui.maintainer.products import Outlets, ProductsView
from assistant.ui.maintainer.report import RetrainView
from assistant.ui.qt_language import use_qt_language

log = logging.getLogger(__name__)


def _of(view: str, name: str) -> property:
    """A widget or state of one of the views, by the name the dialog has always given it."""
    return property(lambda self: getattr(getattr(self, view), name), doc=f"{view}.{name}")


class MaintainerDialog(QDialog):
    """MaintainerDialog(parent, app_context): app_context has .classifier, .speaker,
    .settings and .reload_model(path); .assistant and .latest_frame() are used when present."""

    def __init__(self, parent: QWidget | None, app_context, library: Library | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("maintainer_dialog")
        self.ctx = app_context
        self.language = app_context.settings.language or "en"
        use_qt_language(self.language)  # the file chooser's own words too
        self.session = MaintainerSession(library, self.language, self._model_in_use, lean=True)
        self._closing = False
        self.setWindowTitle(phrase("title", self.language))
        self._build()
        self.refresh()
        self.tell(phrase("opened", self.language, n=len(self.library.products())))
        QTimer.singleShot(1000, self, self.views.start_warm)  # no call once the dialog is gone
        app = QApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.shutdown)

    # --- building ---------------------------------------------------------------------
    def _button(self, key: str, slot, layout) -> QPushButton:
        button = QPushButton(phrase(key, self.language))
        button.setObjectName(key)
        a11y.name(button, plain(phrase(key, self.language)), phrase(f"{key}_desc", self.language))
        button.setAutoDefault(False)
        # sized to its own text: Spanish labels are longer ("Activar el modelo nuevo")
        button.setMinimumWidth(button.sizeHint().width())
        button.clicked.connect(slot)
        layout.addWidget(button)
        return button

    def _build(self) -> None:
        out = Outlets(self.tell, self._guard, self.open_child, self._question, self._button)
        root = QVBoxLayout(self)
        self.photos = PhotoDesk(self.session, self.ctx, out, None, changed=lambda: self.views.start_warm(),
                                busy=self.refresh, show=lambda lines: self.views.show_lines(lines),
                                parent=self)
        actions = {"import": self.photos.import_photos, "capture": self.photos.capture_photos,
                   "scan": self.photos.scan_barcode}
        self.shelf = ProductsView(self.session, out, actions, self)
        self.photos.products = self.shelf
        self.shelf.on_removed = lambda pid: self.barcode_book().remove_product(pid)
        self.views = RetrainView(self.session, self.ctx, out, self.refresh, self._idle, self)
        self.views.end_row.addStretch(1)
        self.close_button = self._button("close", self.reject, self.views.end_row)
        self.model_line = QLabel()
        self.model_line.setObjectName("model_line")
        self.status = QLabel()
        self.status.setObjectName("status")
        self.status.setWordWrap(True)
        a11y.name(self.status, phrase("status", self.language), phrase("status_what", self.language))
        root.addWidget(self.shelf)
        root.addWidget(self.views, 1)
        root.addWidget(self.model_line)
        root.addWidget(self.status)
        self.resize(900, 700)
        self.products.setFocus()

    # --- telling the user -------------------------------------------------------------
    def tell(self, text: str, urgent: bool = False, key: str = "maintainer") -> None:
        """Show and speak (and hand to the screen reader) one outcome; a later message with the
        same key replaces this one if it is still unspoken."""
        self.status.setText(text)
        a11y.announce(self, text, assertive=urgent)
        speaker = self.ctx.speaker  # None: a context that does not speak
        if speaker is None:
            return
        try:
            from assistant.live.speech import Priority
            speaker.say(text, self.language, Priority.NOW if urgent else Priority.NEXT,
                        kind="feedback", key=None if urgent else key)
        except Exception:  # speech is a help, not a condition
            log.exception("could not speak %r", text)

    # --- the window around the views ---------------------------------------------------
    def refresh(self, select: str | None = None) -> None:
        self.shelf.refresh(select)
        clf: Classifier | None = self.ctx.classifier
        if clf is not None:
            ckpt = clf.checkpoint
            label = ckpt.meta.get("version") or (ckpt.path.stem if ckpt.path else ckpt.version)
            self.model_line.setText(phrase("in_use", self.language, label=label, n=len(clf.class_ids)))
        capturing = self.photos.capture is not None
        self.shelf.capturing = capturing
        self.shelf.update_buttons()
        self.views.update_buttons(capturing)

    def _model_in_use(self) -> Path | None:
        clf: Classifier | None = self.ctx.classifier
        return clf.path if clf is not None else None

    def _idle(self) -> bool:
        return self.photos.capture is None and not self._closing and self.isVisible()

    def open_child(self, child) -> None:
        """Open a dialog of maintainer mode; when it closes, this window takes the keyboard back
        explicitly (under some window managers it stayed with nobody, and shortcuts did not
        reach maintainer mode until it was clicked), the focus on the products list."""
        child.finished.connect(lambda _result: self.take_focus_back())
        child.open()

    def take_focus_back(self) -> None:
        if self._closing:
            return
        self.raise_()
        self.activateWindow()
        self.products.setFocus()

    def _question(self, text: str) -> QMessageBox:
        box = QMessageBox(QMessageBox.Icon.Question, self.windowTitle(), text,
                          QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, self)
        box.setObjectName("question")
        box.setDefaultButton(QMessageBox.StandardButton.No)
        for which in (QMessageBox.StandardButton.Yes, QMessageBox.StandardButton.No):
            button = box.button(which)
            a11y.name(button, button.text().replace("&", ""), text)
        box.button(QMessageBox.StandardButton.No).clicked.connect(box.reject)
        box.button(QMessageBox.StandardButton.Yes).clicked.connect(box.accept)
        return box

    def _guard(self, action) -> None:
        """Run a library or model action; its error is shown and spoken, nothing is lost."""
        from assistant.catalog import error_text
        try:
            action()
        except Exception as exc:
            message = error_text(exc, self.language)
            if message is None:
                log.exception("maintainer action failed")
                message = f"{type(exc).__name__}: {exc}"
            self.tell(phrase("error", self.language, why=message), urgent=True)

    # --- closing ----------------------------------------------------------------------
    def reject(self) -> None:
        if self.photos.capture is not None:  # Escape first stops a capture
            self.photos.capture.stop()
            return
        if self.views.worker is not None:  # ...or a retrain, as "Stop retraining" would
            self.views.cancel_retrain()
            return
        self.shutdown()
        super().reject()

    def shutdown(self) -> None:
        """Stop the background work (cancel a retrain: the model in use is untouched) and wait
        for it; also called when the app quits with the dialog open."""
        self._closing = True  # no new background work from here on
        self.views._retrain_pending = False
        self.photos.stop_scan()
        self.views.stop_warm(wait_s=60)
        if self.views.worker is not None:
            self.views.worker.cancel()
            self.views.worker.wait(60_000)
        if self.photos.importer is not None:
            self.photos.importer.thread.wait(60_000)

    # --- what tests and the window reach through the dialog -----------------------------
    report, picture, progress = _of("views", "report"), _of("views", "picture"), _of("views", "progress")
    mode, only, block = _of("views", "mode"), _of("views", "only"), _of("views", "block")
    worker, warmer, result = _of("views", "worker"), _of("views", "warmer"), _of("views", "result")
    activate_button = _of("views", "activate_button")
    retrain_button, cancel_button = _of("views", "retrain_button"), _of("views", "cancel_button")
    capture, importer = _of("photos", "capture"), _of("photos", "importer")
    scan_timer = _of("photos", "scan_timer")
    add_button, import_button = _of("shelf", "add_button"), _of("shelf", "import_button")
    @property
    def library(self) -> Library:
        return self.session.library

    @property
    def products(self):
        return self.shelf.list

    def selected(self) -> str | None:
        return self.shelf.selected()

    def barcode_book(self):
        return self.photos.barcode_book()

    def capture_photos(self) -> None:
        self.photos.capture_photos()

    def scan_barcode(self) -> None:
        self.photos.scan_barcode()

    @property
    def scan_seconds(self) -> float:
        return self.photos.scan_seconds

    @scan_seconds.setter
    def scan_seconds(self, seconds: float) -> None:
        self.photos.scan_seconds = seconds
