"""Maintainer mode: add products (names, photos from a folder or the webcam), retrain fast or
full in the background with progress and cancel, read the report, activate, roll back.

Everything works by keyboard (Alt+underlined letter, Tab, arrows, Enter, Escape) and every
outcome is both shown in the status line and spoken. The library and model versions live in
assistant.store.library and assistant.store.models; retraining in model.retrain, run by a worker thread.
"""
from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QComboBox,
    QDialog,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from assistant.catalog import phrase, plain
from assistant.files import MIN_PHOTOS
from assistant.store import models
from assistant.store.library import Library
from assistant.ui import accessibility as a11y
from assistant.ui.maintainer.dialogs import ChoiceDialog, NamesDialog
from assistant.ui.maintainer.photos import PhotoActions
from assistant.ui.maintainer.report import RetrainActions
from assistant.ui.maintainer.worker import CaptureController, RetrainWorker
from assistant.ui.qt_language import use_qt_language
from assistant.ui.tasks import BackgroundTask

log = logging.getLogger(__name__)
#: unactivated candidate models kept in models/candidates


class MaintainerDialog(PhotoActions, RetrainActions, QDialog):
    """MaintainerDialog(parent, app_context): app_context has .classifier, .speaker,
    .settings and .reload_model(path); .assistant and .latest_frame() are used when present."""

    def __init__(self, parent: QWidget | None, app_context, library: Library | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("maintainer_dialog")
        self.ctx = app_context
        settings = getattr(app_context, "settings", None)
        self.language = getattr(settings, "language", "en") or "en"
        use_qt_language(self.language)  # the file chooser's own words too
        self.library = library or Library()
        self.worker: RetrainWorker | None = None
        self.importer: BackgroundTask | None = None
        self.capture: CaptureController | None = None
        self.result = None
        self._spoken: set[float] = set()
        self._own_camera = None
        self.scan_timer = None  # looking for a barcode in the camera's view
        self._was_continuous: bool | None = None
        self.warmer = None
        self._warm_stop = None
        self._warm_again = self._retrain_pending = self._closing = False
        self.setWindowTitle(phrase("title", self.language))
        self._build()
        self.refresh()
        self.tell(phrase("opened", self.language, n=len(self.library.products())))
        QTimer.singleShot(1000, self, self.start_warm)  # no call once the dialog is gone
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
        lang = self.language
        root = QVBoxLayout(self)
        self.products = QListWidget()
        self.products.setObjectName("products")
        label = QLabel(phrase("products", lang))
        label.setBuddy(self.products)
        a11y.name(self.products, plain(phrase("products", lang)), phrase("products_desc", lang))
        self.products.currentRowChanged.connect(lambda _row: self._update_buttons())
        root.addWidget(label)
        root.addWidget(self.products)
        row = QHBoxLayout()
        self.add_button = self._button("add", self.add_product, row)
        self.import_button = self._button("import", self.import_photos, row)
        self.capture_button = self._button("capture", self.capture_photos, row)
        self.scan_button = self._button("scan", self.scan_barcode, row)
        self.rename_button = self._button("rename", self.rename_product, row)
        self.merge_button = self._button("merge", self.merge_product, row)
        self.remove_button = self._button("remove", self.remove_product, row)
        root.addLayout(row)

        box = QGroupBox()
        form = QFormLayout(box)
        self.mode = QComboBox()
        self.mode.setObjectName("mode")
        self.mode.addItem(phrase("mode_fast", lang), "fast")
        self.mode.addItem(phrase("mode_full", lang), "full")
        self.label_modes()
        a11y.labelled_row(form, phrase("mode", lang), self.mode, phrase("mode_desc", lang))
        self.only = QCheckBox(phrase("only", lang))
        self.only.setObjectName("only")
        a11y.name(self.only, plain(phrase("only", lang)), phrase("only_desc", lang))
        self.block = QCheckBox(phrase("block", lang))
        self.block.setObjectName("block")
        a11y.name(self.block, plain(phrase("block", lang)), phrase("block_desc", lang))
        form.addRow(self.only)
        form.addRow(self.block)
        row = QHBoxLayout()
        self.retrain_button = self._button("retrain", self.start_retrain, row)
        self.cancel_button = self._button("cancel", self.cancel_retrain, row)
        self.progress = QProgressBar()
        self.progress.setObjectName("progress")
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(True)
        self.progress.setFormat("")
        a11y.name(self.progress, phrase("progress", lang), phrase("progress_desc", lang))
        # focus sits here while a retrain runs: a stray Enter must not cancel it
        self.progress.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        row.addWidget(self.progress, 1)
        form.addRow(row)
        root.addWidget(box)

        grid = QGridLayout()
        self.report = QTextBrowser()
        self.report.setObjectName("report")
        self.report.setMinimumHeight(150)
        label = QLabel(phrase("report", lang))
        label.setBuddy(self.report)
        a11y.name(self.report, plain(phrase("report", lang)), phrase("report_desc", lang))
        self.picture = QLabel()
        self.picture.setObjectName("picture")
        self.picture.setFixedSize(300, 300)
        self.picture.setAlignment(Qt.AlignmentFlag.AlignCenter)
        a11y.name(self.picture, phrase("picture", lang), phrase("picture_desc", lang))
        grid.addWidget(label, 0, 0)
        grid.addWidget(self.report, 1, 0)
        grid.addWidget(self.picture, 1, 1)
        root.addLayout(grid, 1)
        row = QHBoxLayout()
        self.activate_button = self._button("activate", self.activate_model, row)
        self.rollback_button = self._button("rollback", self.rollback_model, row)
        self.bundled_button = self._button("bundled", self.restore_bundled, row)
        row.addStretch(1)
        self.close_button = self._button("close", self.reject, row)
        root.addLayout(row)
        self.model_line = QLabel()
        self.model_line.setObjectName("model_line")
        self.status = QLabel()
        self.status.setObjectName("status")
        self.status.setWordWrap(True)
        a11y.name(self.status, phrase("status", self.language), phrase("status_what", self.language))
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
        speaker = getattr(self.ctx, "speaker", None)
        if speaker is None:
            return
        try:
            from assistant.live.speech import Priority
            speaker.say(text, self.language, Priority.NOW if urgent else Priority.NEXT,
                        kind="feedback", key=None if urgent else key)
        except Exception:  # speech is a help, not a condition
            log.exception("could not speak %r", text)

    # --- the library ------------------------------------------------------------------
    def selected(self) -> str | None:
        item = self.products.currentItem()
        return item.data(Qt.ItemDataRole.UserRole) if item is not None else None

    def refresh(self, select: str | None = None) -> None:
        select = select or self.selected()
        self.products.clear()
        for p in self.library.products():
            item = QListWidgetItem(phrase("row", self.language, en=p.names["en"], es=p.names["es"], n=p.photos))
            item.setData(Qt.ItemDataRole.UserRole, p.id)
            self.products.addItem(item)
            if p.id == select:
                self.products.setCurrentItem(item)
        if self.products.currentRow() < 0 and self.products.count():
            self.products.setCurrentRow(0)
        clf = getattr(self.ctx, "classifier", None)
        if clf is not None:
            ckpt = clf.checkpoint
            label = ckpt.meta.get("version") or (ckpt.path.stem if ckpt.path else ckpt.version)
            self.model_line.setText(phrase("in_use", self.language, label=label, n=len(clf.class_ids)))
        self._update_buttons()

    def _update_buttons(self) -> None:
        busy = self.worker is not None
        capturing = self.capture is not None
        has = self.selected() is not None
        for b in (self.import_button, self.capture_button, self.scan_button, self.rename_button,
                  self.remove_button):
            b.setEnabled(has and not capturing)
        self.merge_button.setEnabled(has and self.products.count() > 1 and not capturing)
        self.add_button.setEnabled(not capturing)
        self.retrain_button.setEnabled(not busy and not capturing)
        self.cancel_button.setEnabled(busy)
        self.activate_button.setEnabled(self.result is not None and not busy)

    def _need_selection(self) -> str | None:
        pid = self.selected()
        if pid is None:
            self.tell(phrase("select_first", self.language))
        return pid

    def add_product(self) -> None:
        dialog = NamesDialog(self, self.language, on_problem=self.tell)
        dialog.accepted.connect(lambda: self._guard(lambda: self._added(*dialog.names())))
        self.open_child(dialog)

    def _added(self, english: str, spanish: str) -> None:
        product = self.library.add(english, spanish)
        self.refresh(select=product.id)
        self.tell(phrase("added", self.language, name=product.name(self.language)))

    def rename_product(self) -> None:
        pid = self._need_selection()
        if pid is None:
            return
        p = self.library.get(pid)
        dialog = NamesDialog(self, self.language, p.names["en"], p.names["es"], on_problem=self.tell)

        def done() -> None:
            renamed = self.library.rename(pid, *dialog.names())
            self.refresh(select=pid)
            self.tell(phrase("renamed", self.language, name=renamed.name(self.language)))

        dialog.accepted.connect(lambda: self._guard(done))
        self.open_child(dialog)

    def merge_product(self) -> None:
        pid = self._need_selection()
        if pid is None:
            return
        others = [(p.name(self.language), p.id) for p in self.library.products() if p.id != pid]
        if not others:
            self.tell(phrase("no_other", self.language))
            return
        dialog = ChoiceDialog(self, self.language, phrase("merge_title", self.language), others,
                              phrase("merge_list", self.language), phrase("merge_list_desc", self.language))

        def done() -> None:
            merged = self.library.merge([pid], into=dialog.choice)
            self.refresh(select=merged.id)
            self.tell(phrase("merged", self.language, name=merged.name(self.language), n=merged.photos))

        dialog.accepted.connect(lambda: self._guard(done))
        self.open_child(dialog)

    def remove_product(self) -> None:
        pid = self._need_selection()
        if pid is None:
            return
        p = self.library.get(pid)
        question = phrase("confirm_remove", self.language, name=p.name(self.language), n=p.photos)
        box = self._question(question)
        box.accepted.connect(lambda: self._guard(lambda: self._removed(p)))
        self.tell(question)
        self.open_child(box)

    def _removed(self, p) -> None:
        self.library.remove(p.id)
        self.barcode_book().remove_product(p.id)  # its codes go with it
        self.refresh()
        self.tell(phrase("removed", self.language, name=p.name(self.language)))

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

    # --- retraining: the actions are in RetrainActions ---------------------------------
    def base_model(self) -> Path:
        clf = getattr(self.ctx, "classifier", None)  # a context without a model: the active one
        return Path(clf.path) if clf is not None and clf.path else models.active_model_path()

    def candidate_path(self) -> Path:
        return models.new_candidate_path()

    def too_few(self) -> list[str]:
        return [p.name(self.language) for p in self.library.too_few(MIN_PHOTOS)]

    # --- closing ----------------------------------------------------------------------
    def reject(self) -> None:
        if self.capture is not None:  # Escape first stops a capture
            self.capture.stop()
            return
        self.shutdown()
        super().reject()

    def shutdown(self) -> None:
        """Stop the background work (cancel a retrain: the model in use is untouched) and wait
        for its threads; also called when the app quits with the dialog open."""
        self._closing = True  # no new background work from here on
        self._retrain_pending = False
        self._stop_scan()
        self.stop_warm(wait_ms=60_000)
        if self.worker is not None:
            self.worker.cancel()
            self.worker.wait(60_000)
        if self.importer is not None:
            self.importer.thread.wait(60_000)

