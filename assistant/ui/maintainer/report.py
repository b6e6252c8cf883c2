"""Maintainer mode's retraining half: start, progress (shown, and spoken at milestones),
cancel, the report (accuracy, per product, confusion picture, look-alikes), activation with a
confirmation when the new model is worse, rollback and the bundled model."""
from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

from PySide6.QtCore import Qt, QThread
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QLabel

from assistant.catalog import phrase
from assistant.store import models
from assistant.ui.maintainer.worker import RetrainWorker
from assistant.ui.tasks import BackgroundTask

log = logging.getLogger(__name__)
MILESTONES = (0.25, 0.5, 0.75)


def set_picture(label: QLabel, path: Path | None) -> None:
    pixmap = QPixmap(str(path)) if path else QPixmap()
    if pixmap.isNull():
        label.clear()
        return
    label.setPixmap(pixmap.scaled(label.size(), Qt.AspectRatioMode.KeepAspectRatio,
                                  Qt.TransformationMode.SmoothTransformation))


def duration(seconds: float, language: str) -> str:
    if seconds < 90:
        return phrase("seconds", language, n=max(int(round(seconds)), 1))
    return phrase("minutes", language, n=int(round(seconds / 60)))


class RetrainActions:
    """Mixed into MaintainerDialog (which provides the widgets, tell() and the library)."""

    # --- features prepared in the background while the user adds photos ----------------
    def start_warm(self) -> None:
        """Compute the features a fast retrain will need (old products' photos, the library's
        photos), at the lowest priority, so that Retrain later takes seconds."""
        if self.worker is not None or self.capture is not None or self._closing or not self.isVisible():
            return
        if self.warmer is not None:
            self._warm_again = True
            return
        from model.retrain import warm_cache
        stop = self._warm_stop = threading.Event()
        base, data = str(self.base_model()), str(self.library.folder)
        self.warmer = BackgroundTask(lambda: warm_cache(base, data, cancelled=stop.is_set),
                                     QThread.Priority.LowestPriority, "warm features")
        self.warmer.finished.connect(self._warm_done)
        self.warmer.failed.connect(self._warm_failed)
        self._warm_again = False
        self.warmer.start()

    def stop_warm(self, wait_ms: int = 0) -> None:
        if self.warmer is not None:
            self._warm_stop.set()
            self._warm_again = False
            if wait_ms:
                self.warmer.thread.wait(wait_ms)

    def _warm_failed(self, message: str) -> None:
        log.warning("preparing features failed: %s", message)  # a retrain will say it, if real
        self._warm_done(None)

    def _warm_done(self, _read) -> None:
        if self.warmer is not None:
            self.warmer.thread.wait(5000)
        self.warmer = None
        if self._retrain_pending:
            self._retrain_pending = False
            self.start_retrain()
        elif self._warm_again:
            self.start_warm()

    # --- retraining ------------------------------------------------------------------
    def label_modes(self) -> None:
        """Each mode's label says how long it took on this computer last time, or that it
        has not been timed here: no promise of a speed this machine did not show."""
        from assistant.store import timings
        took = timings.last_seconds()
        for index in range(self.mode.count()):
            mode = self.mode.itemData(index)
            words = (phrase(f"mode_{mode}_timed", self.language, t=duration(took[mode], self.language))
                     if mode in took else phrase(f"mode_{mode}", self.language))
            self.mode.setItemText(index, words)

    def start_retrain(self) -> None:
        from model.retrain import RetrainConfig
        lang = self.language
        if self.worker is not None:
            return
        if not self.library.products():
            self.tell(phrase("empty_library", lang))
            return
        few = self.too_few()
        if few:
            from assistant.files import MIN_PHOTOS
            self.tell(phrase("too_few", lang, names=", ".join(few), n=MIN_PHOTOS))
            return
        if self.warmer is not None:  # it stops at its next batch; then we start (and reuse its work)
            self._retrain_pending = True
            self.stop_warm()
            return
        mode = self.mode.currentData()
        cfg = RetrainConfig(data=str(self.library.folder), out=str(self.candidate_path()), mode=mode,
                            only=self.only.isChecked(), base=str(self.base_model()),
                            adapt="upper" if self.block.isChecked() else "head",
                            command="maintainer dialog")
        self.result = None
        self._spoken = set()
        self.report.clear()
        set_picture(self.picture, None)
        self.progress.setValue(0)
        self.progress.setFormat("")
        self.worker = RetrainWorker(cfg, lang)
        self.worker.progress.connect(self._on_progress)
        self.worker.message.connect(self._on_message)  # bound methods: queued to this thread
        self.worker.finished.connect(self._on_finished)
        self.worker.failed.connect(self._on_failed)
        self._update_buttons()
        self.tell(phrase("retrain_started", lang, mode=self.mode.currentText().split(" (")[0]))
        self._started_at = (mode, time.monotonic())
        self.worker.start()
        self.progress.setFocus()   # not on "Stop": a stray Enter would cancel minutes of work

    def cancel_retrain(self) -> None:
        if self.worker is not None:
            self.worker.cancel()
            self.tell(phrase("cancelling", self.language), urgent=True)

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
                self.tell(phrase("percent", self.language, p=int(mark * 100)))

    def _finish_worker(self) -> None:
        if self.worker is not None:
            self.worker.wait(10_000)
        self.worker = None
        self._update_buttons()

    def _on_failed(self, message: str) -> None:
        self._finish_worker()
        self.progress.setFormat("")
        self.tell(phrase("failed", self.language, why=message), urgent=True)
        self.retrain_button.setFocus()   # focus back on a control that works, not lost

    def _on_finished(self, result) -> None:
        from assistant.store import timings
        self._finish_worker()
        if result.cancelled:
            self.progress.setValue(0)
            self.progress.setFormat("")
            self.tell(phrase("cancelled", self.language), urgent=True)
            self.retrain_button.setFocus()
            return
        mode, started = getattr(self, "_started_at", (None, None))
        if mode is not None:
            timings.record(mode, time.monotonic() - started)
            self.label_modes()
        self.result = result
        self.progress.setValue(1000)
        self.progress.setFormat("100%")
        self._update_buttons()
        self.show_report(result.report)
        acc = result.report.heldout.get("top1")
        words = phrase("done", self.language, acc="-" if acc is None else f"{acc:.0%}")
        words += " " + phrase(f"verdict_{result.report.comparison.verdict}", self.language)
        for sentence in result.report.lookalike_sentences(self.language)[:3]:
            words += " " + sentence
        self.tell(words, urgent=True)
        self.activate_button.setFocus()

    def show_report(self, report) -> None:
        lines = report.summary_lines(self.language) + [""] + report.per_product_lines(self.language)
        lines += [phrase("skipped_item", self.language, file=p, why=why) for p, why in report.skipped]
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
            box = self._question(question)
            box.accepted.connect(lambda: self._guard(self._activate))
            box.rejected.connect(lambda: self.tell(phrase("not_activated", self.language)))
            self.tell(question, urgent=True)
            self.open_child(box)
            return
        self._guard(self._activate)

    def _activate(self) -> None:
        stored = models.activate(self.result.out)
        clf = self.ctx.reload_model(stored)
        self.result = None
        self.refresh()
        self.tell(phrase("activated", self.language, n=len(clf.class_ids)), urgent=True)

    def rollback_model(self) -> None:
        def go() -> None:
            clf = self.ctx.reload_model(models.rollback())
            self.refresh()
            self.tell(phrase("rolled_back", self.language, n=len(clf.class_ids)), urgent=True)
        self._guard(go)

    def restore_bundled(self) -> None:
        def go() -> None:
            clf = self.ctx.reload_model(models.restore_bundled())
            self.refresh()
            self.tell(phrase("restored", self.language, n=len(clf.class_ids)), urgent=True)
        self._guard(go)
