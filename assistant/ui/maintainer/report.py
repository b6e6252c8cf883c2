"""Maintainer mode's retraining half: start, progress (shown, and spoken at milestones),
cancel, the report (accuracy, per product, confusion picture, look-alikes), activation with a
confirmation when the new model is worse, rollback and the bundled model. A view over the
maintainer session: the retrain and the warm-up run in its child processes."""
from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from assistant.catalog import duration, phrase, plain
from assistant.maintainer.session import MaintainerSession
from assistant.ui import accessibility as a11y
from assistant.ui.maintainer.products import Outlets
from assistant.ui.maintainer.words import WordsEditor
from assistant.ui.maintainer.worker import RetrainBridge, WarmBridge

log = logging.getLogger(__name__)
MILESTONES = (0.25, 0.5, 0.75)


def set_picture(label: QLabel, path: Path | None) -> None:
    pixmap = QPixmap(str(path)) if path else QPixmap()
    if pixmap.isNull():
        label.clear()
        return
    label.setPixmap(pixmap.scaled(label.size(), Qt.AspectRatioMode.KeepAspectRatio,
                                  Qt.TransformationMode.SmoothTransformation))


def labelled_box(key: str, language: str) -> QCheckBox:
    box = QCheckBox(phrase(key, language))
    box.setObjectName(key)
    a11y.name(box, plain(phrase(key, language)), phrase(f"{key}_desc", language))
    return box


class RetrainView(QWidget):
    """The retrain options and progress, the report, and the model buttons. ctx.reload_model
    (path) switches the app to a model; refresh() redraws the window around; idle() says
    whether background work may start (no capture, the window open). ended: a retrain is over
    (done, cancelled or failed), after the window has said so."""

    ended = Signal()

    def __init__(self, session: MaintainerSession, ctx, out: Outlets, refresh: Callable[[], None],
                 idle: Callable[[], bool], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session, self.ctx, self.out = session, ctx, out
        self.language = session.language
        self.refresh_window, self.idle = refresh, idle
        self.worker: RetrainBridge | None = None
        self.warm_bridge = WarmBridge(session)
        self.warm_bridge.ended.connect(self._warm_ended)
        self.warm_bridge.counted.connect(self._warm_counted)
        self.warming = False
        #: photo views of the library whose features are not cached (None: not counted yet), for
        #: a fast retrain of the head and for one with the upper blocks (`--adapt upper`)
        self.cold: int | None = None
        self.cold_upper: int | None = None
        #: the maintainer ticked or cleared "Also adapt the upper blocks"; until then it follows
        #: `retrain --adapt auto`'s choice for this library (the warm-up tells it)
        self.block_chosen = False
        self.result = None
        self._spoken: set[float] = set()
        self._retrain_pending = False
        root = QVBoxLayout(self)
        root.setContentsMargins(0, 0, 0, 0)
        root.addWidget(self._options())
        root.addLayout(self._report_area(), 1)
        row = QHBoxLayout()
        self.activate_button = out.button("activate", self.activate_model, row)
        self.rollback_button = out.button("rollback", self.rollback_model, row)
        self.bundled_button = out.button("bundled", self.restore_bundled, row)
        # the words of the model just retrained, else of the model in use
        self.words_editor = WordsEditor(session, out, self, lambda: Path(
            self.result.out if self.result is not None else self.session.base_model()))
        self.words_button = out.button("words_edit", self.words_editor.open, row)
        self.end_row = row  # the dialog adds Close at its end
        root.addLayout(row)

    def _options(self) -> QGroupBox:
        lang = self.language
        box = QGroupBox()
        form = QFormLayout(box)
        self.mode = QComboBox()
        self.mode.setObjectName("mode")
        self.mode.addItem(phrase("mode_fast", lang), "fast")
        self.mode.addItem(phrase("mode_full", lang), "full")
        a11y.labelled_row(form, phrase("mode", lang), self.mode, phrase("mode_desc", lang))
        self.only, self.block = labelled_box("only", lang), labelled_box("block", lang)
        self.block.toggled.connect(lambda _on: self.label_modes())  # fast mode's time changes
        self.block.clicked.connect(lambda _on: setattr(self, "block_chosen", True))
        self.only.toggled.connect(lambda _on: self.start_warm())  # what is read, and auto's choice
        self.label_modes()
        self.words = labelled_box("words", lang)
        form.addRow(self.only)
        form.addRow(self.block)
        form.addRow(self.words)
        row = QHBoxLayout()
        self.retrain_button = self.out.button("retrain", self.start_retrain, row)
        self.cancel_button = self.out.button("cancel", self.cancel_retrain, row)
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
        return box

    def _report_area(self) -> QGridLayout:
        lang = self.language
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
        return grid

    def update_buttons(self, capturing: bool) -> None:
        busy = self.worker is not None
        self.retrain_button.setEnabled(not busy and not capturing)
        self.cancel_button.setEnabled(busy)
        self.activate_button.setEnabled(self.result is not None and not busy)
        self.words_button.setEnabled(not busy)

    def show_lines(self, lines: list[str]) -> None:
        self.report.setPlainText("\n".join(lines))

    # --- features prepared in the background while the user adds photos ----------------
    def start_warm(self) -> None:
        """Compute the features a fast retrain will need (old products' photos, the library's
        photos) in the session's child, so that Retrain later takes seconds."""
        if self.worker is not None or not self.idle():
            return
        self.warming = True
        # one running already is ended: this one covers all the photos
        self.warm_bridge.start(only=self.only.isChecked())

    @property
    def warmer(self) -> WarmBridge | None:
        """The warm-up while it runs, else None."""
        return self.warm_bridge if self.warming else None

    def stop_warm(self, wait_s: float | None = None) -> None:
        self.warm_bridge.stop(wait_s)

    def _warm_counted(self, event: dict) -> None:
        if "cold" in event:
            self.cold = int(event["cold"])
        if "cold_upper" in event:
            self.cold_upper = int(event["cold_upper"])
        if "upper" in event and not self.block_chosen:
            self.block.setChecked(bool(event["upper"]))
        self.label_modes()

    def _warm_ended(self, event: dict) -> None:
        if event.get("message"):  # a retrain will say it, if real
            log.warning("preparing features failed: %s", event["message"])
        elif not event.get("cancelled") and event.get("code") == 0:
            self.cold = 0  # all read: a fast retrain reads nothing again
        self.label_modes()  # and the warm-up measured this computer's speed
        self.warming = False
        if self._retrain_pending:
            self._retrain_pending = False
            self.start_retrain()

    # --- retraining ------------------------------------------------------------------
    def label_modes(self) -> None:
        """Each mode's label says how long it will take for the library as it is now, by this
        computer's measured speed, or that it has not been timed here: no promise of a speed
        this machine did not show."""
        for index in range(self.mode.count()):
            mode = self.mode.itemData(index)
            seconds, photos = self.estimate(mode)
            words = (phrase(f"mode_{mode}_timed", self.language, t=duration(seconds, self.language),
                            n=photos) if seconds is not None else phrase(f"mode_{mode}", self.language))
            self.mode.setItemText(index, words)

    def estimate(self, mode: str) -> tuple[float | None, int]:
        """(seconds, photos in the library) of a retrain in mode now (None: not timed here)."""
        from assistant.store import timings
        photos = sum(self.session.library.counts().values())
        if mode == "full":
            job = timings.Job("full", photos=photos)
        elif self.block.isChecked():  # uncounted yet: every view of each photo, at the lower blocks' level
            cold = photos * timings.UPPER_VIEWS if self.cold_upper is None else self.cold_upper
            job = timings.Job("upper", cold=cold, photos=photos)
        else:  # uncounted yet: every photo and its mirror image
            job = timings.Job("fast", cold=photos * 2 if self.cold is None else self.cold)
        sp = timings.speed(timings.model_key(self.session.base_model()))
        return timings.estimate(sp, job), photos

    def start_retrain(self) -> None:
        lang = self.language
        if self.worker is not None:
            return
        if not self.session.library.products():
            self.out.tell(phrase("empty_library", lang))
            return
        few = self.session.too_few()
        if few:
            from assistant.files import MIN_PHOTOS
            self.out.tell(phrase("too_few", lang, names=", ".join(few), n=MIN_PHOTOS))
            return
        if self.warming:  # ended at once; then we start (and reuse what it cached)
            self._retrain_pending = True
            self.stop_warm()
            return
        mode = self.mode.currentData()
        cfg = self.session.config(mode, self.only.isChecked(), self.block.isChecked(),
                                  words=self.words.isChecked())
        self.result = None
        self._spoken = set()
        self.report.clear()
        set_picture(self.picture, None)
        self.progress.setValue(0)
        self.progress.setFormat("")
        seconds, _ = self.estimate(mode)  # said on the progress, where the focus goes
        self.progress.setAccessibleDescription(
            phrase("progress_untimed", lang) if seconds is None
            else phrase("progress_estimate", lang, t=duration(seconds, lang)))
        if seconds is not None:
            self.progress.setFormat(phrase("eta", lang, p=0, t=duration(seconds, lang)))
        self.worker = RetrainBridge(self.session, cfg)
        self.worker.progress.connect(self._on_progress)
        self.worker.message.connect(self._on_message)  # bound methods: queued to this thread
        self.worker.finished.connect(self._on_finished)
        self.worker.failed.connect(self._on_failed)
        self.refresh_window()
        self.out.tell(phrase("retrain_started", lang, mode=self.mode.currentText().split(" (")[0]))
        try:
            self.worker.start()
        except RuntimeError as exc:  # the child could not start: said, nothing lost
            self._on_failed(str(exc))
            return
        self.progress.setFocus()   # not on "Stop": a stray Enter would cancel minutes of work

    def cancel_retrain(self) -> None:
        if self.worker is not None:
            self.worker.cancel()
            self.out.tell(phrase("cancelling", self.language), urgent=True)

    def _on_message(self, text: str) -> None:
        self.report.append(text)

    def _on_progress(self, fraction: float, eta: float) -> None:
        self.progress.setValue(int(fraction * 1000))
        pct = int(fraction * 100)
        text = (phrase("eta", self.language, p=pct, t=duration(eta, self.language)) if eta >= 0
                else f"{pct}%")
        self.progress.setFormat(text)
        self.progress.setAccessibleDescription(text)
        for mark in MILESTONES:
            if fraction >= mark and mark not in self._spoken:
                self._spoken.add(mark)
                self.out.tell(phrase("percent", self.language, p=int(mark * 100)))

    def _finish_worker(self) -> None:
        if self.worker is not None:
            self.worker.wait(10_000)
        self.worker = None
        self.refresh_window()

    def _on_failed(self, message: str) -> None:
        self._finish_worker()
        self.progress.setFormat("")
        self.out.tell(phrase("failed", self.language, why=message), urgent=True)
        self.retrain_button.setFocus()   # focus back on a control that works, not lost
        self.ended.emit()

    def _on_finished(self, result) -> None:
        self._finish_worker()
        if result.cancelled:
            self.progress.setValue(0)
            self.progress.setFormat("")
            self.out.tell(phrase("cancelled", self.language), urgent=True)
            self.retrain_button.setFocus()
            self.ended.emit()
            return
        if self.mode.currentData() == "fast":  # the retrain read (and cached) every photo of the library
            if self.block.isChecked():
                self.cold_upper = 0
            else:
                self.cold = 0
        self.label_modes()  # the child kept the speed it measured
        self.result = result
        self.progress.setValue(1000)
        self.progress.setFormat("100%")
        self.refresh_window()
        self.show_report(result.report)
        acc = result.report.heldout.get("top1")
        words = phrase("done", self.language, acc="-" if acc is None else f"{acc:.0%}")
        words += " " + phrase(f"verdict_{result.report.comparison.verdict}", self.language)
        for sentence in result.report.lookalike_sentences(self.language)[:3]:
            words += " " + sentence
        self.out.tell(words, urgent=True)
        self.activate_button.setFocus()
        self.ended.emit()

    def show_report(self, report) -> None:
        lines = report.summary_lines(self.language) + [""] + report.per_product_lines(self.language)
        lines += [phrase("skipped_item", self.language, file=p, why=why) for p, why in report.skipped]
        if self.result is not None:  # what the new model reads on each pack, when it learnt any
            lines += self.words_editor.lines(Path(self.result.out))
        self.report.setPlainText("\n".join(lines))
        set_picture(self.picture, report.confusion_picture)
        pairs = " ".join(report.lookalike_sentences(self.language)) or phrase("picture_desc", self.language)
        self.picture.setAccessibleDescription(pairs)

    def activate_model(self) -> None:
        if self.result is None or self.worker is not None:
            return
        c = self.result.report.comparison
        if c.worse:
            question = phrase("confirm_worse", self.language, new=f"{c.new_top1:.0%}", cur=f"{c.current_top1:.0%}")
            box = self.out.question(question)
            box.accepted.connect(lambda: self.out.guard(self._activate))
            box.rejected.connect(lambda: self.out.tell(phrase("not_activated", self.language)))
            self.out.tell(question, urgent=True)
            self.out.open_child(box)
            return
        self.out.guard(self._activate)

    def _activate(self) -> None:
        # the maintainer saw the verdict (and confirmed a worse model): yes
        self._switched(self.session.activate(self.result.out, yes=True), "activated")
        self.result = None
        self.refresh_window()

    def _switched(self, path: Path, key: str) -> None:
        clf = self.ctx.reload_model(path)
        self.refresh_window()
        self.out.tell(phrase(key, self.language, n=len(clf.class_ids)), urgent=True)

    def rollback_model(self) -> None:
        self.out.guard(lambda: self._switched(self.session.rollback(), "rolled_back"))

    def restore_bundled(self) -> None:
        self.out.guard(lambda: self._switched(self.session.restore_bundled(), "restored"))
