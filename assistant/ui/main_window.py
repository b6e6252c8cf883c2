"""The assistant's window: preview, the product's name in large letters, a status line, the
history of what was said, and every command of assistant.ui.commands as a key and a menu item.

Everything the core reports arrives through the EventBridge's signals (GUI thread); the
command handlers live in assistant.ui.handlers.
"""
from __future__ import annotations

import logging
import time

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from assistant.catalog import phrase, plain
from assistant.catalog.languages import LANGUAGES
from assistant.live.speech import Priority
from assistant.machine import process_age
from assistant.ui import accessibility as a11y
from assistant.ui.commands import BY_ID, build_actions, retranslate_actions, shown_key
from assistant.ui.handlers import CommandHandlers
from assistant.ui.qt_language import use_qt_language
from assistant.ui.widgets import HistoryList, PreviewLabel, ProductLabel, StatusLabel

log = logging.getLogger(__name__)

#: commands that get a button on the window (the rest: keys and the Commands menu)
BUTTONS = ("identify", "continuous", "read", "repeat", "stop", "camera", "settings", "help")
#: statuses that interrupt the screen reader (the shopper must hear them now)
URGENT = {"camera_disconnected", "camera_failed", "source_failed", "speech_failed",
          "worker_failed"}


class MainWindow(CommandHandlers, QMainWindow):
    """The window; `context` is an AppContext (classifier, speaker, assistant, settings)."""

    #: emitted after a finite source ended (app.py quits on it with --once)
    source_ended = Signal()

    def __init__(self, context) -> None:
        super().__init__()
        self.context = context
        self.bridge = context.bridge
        self.announcements: list[str] = []  # what was sent to the screen reader (tests read it)
        self.speech_broken = False
        self.speech_failure = ""
        self._status_is_hint = False
        self._shown = None  # the utterance whose product is in the big label (re-said on Ctrl+L)
        self.predictions = 0
        self.setObjectName("main_window")
        self.setStyleSheet(a11y.FOCUS_STYLE)
        self.actions_by_id = build_actions(self, self.settings.shortcuts, self.language)
        from assistant.ui.reading import LabelReading
        self.reading = LabelReading(self)
        self._build()
        self._connect()
        self.retranslate()
        self.actions_by_id["continuous"].setChecked(bool(self.settings.continuous))
        # reload_model may run in maintainer mode's worker thread: reach the widgets by signal
        context.on_model_changed = self.bridge.model_changed.emit
        self.bridge.model_changed.connect(self._model_changed)
        self.resize(900, 640)

    # --- shortcuts to the context ---------------------------------------------------------
    @property
    def settings(self):
        return self.context.settings

    @property
    def language(self) -> str:
        return self.context.settings.language

    # --- layout ---------------------------------------------------------------------------
    def _build(self) -> None:
        central = QWidget()
        central.setObjectName("central")
        root = QVBoxLayout(central)

        top = QHBoxLayout()
        self.preview = PreviewLabel()
        top.addWidget(self.preview, 3)
        right = QVBoxLayout()
        self.product = ProductLabel()
        right.addWidget(self.product, 2)
        self.status_label = StatusLabel()   # fixed height; a long sentence is scaled to fit
        right.addWidget(self.status_label)
        self.mode_label = QLabel()
        self.mode_label.setObjectName("mode")
        self.mode_label.setWordWrap(True)
        right.addWidget(self.mode_label)
        top.addLayout(right, 2)
        root.addLayout(top, 3)

        row = QHBoxLayout()
        self.buttons: dict[str, QPushButton] = {}
        for cid in BUTTONS:
            button = QPushButton()
            button.setObjectName(f"button_{cid}")
            button.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
            button.setAutoDefault(False)
            action = self.actions_by_id[cid]
            if action.isCheckable():
                button.setCheckable(True)
                action.toggled.connect(button.setChecked)
            # the button runs the same QAction as the key: one command, one code path
            button.clicked.connect(lambda _c=False, a=action: a.trigger())
            self.buttons[cid] = button
            row.addWidget(button)
        root.addLayout(row)

        self.history_label = QLabel()
        self.history = HistoryList()
        self.history_label.setBuddy(self.history)
        root.addWidget(self.history_label)
        root.addWidget(self.history, 2)
        self.setCentralWidget(central)

        self.menu = self.menuBar().addMenu("")
        for action in self.actions_by_id.values():
            self.menu.addAction(action)

        # Tab walks the buttons left to right, then the history
        chain = [self.buttons[c] for c in BUTTONS] + [self.history]
        for first, second in zip(chain, chain[1:], strict=False):
            QWidget.setTabOrder(first, second)
        self.buttons["identify"].setFocus()

    def retranslate(self) -> None:
        """Set every visible and accessible text in the current language."""
        lang = self.language
        use_qt_language(lang)  # Qt's own dialogs too
        self.setWindowTitle(phrase("app_title", lang))
        retranslate_actions(self.actions_by_id, lang)
        for cid, button in self.buttons.items():
            action = self.actions_by_id[cid]
            key = shown_key(action.shortcut(), lang)
            label = action.text()
            button.setText(f"{label} ({key})")
            description = BY_ID[cid].describe(lang)
            a11y.name(button, label, f"{description[:1].upper()}{description[1:]}. {key}")
        a11y.name(self.preview, phrase("preview", lang), phrase("preview_desc", lang))
        a11y.name(self.product, phrase("product_box", lang), phrase("product_box_desc", lang))
        a11y.name(self.status_label, phrase("status", lang), phrase("status_desc", lang))
        a11y.name(self.history, plain(phrase("history", lang)), phrase("history_desc", lang))
        self.history_label.setText(phrase("history_label", lang))
        self.menu.setTitle(phrase("commands_menu", lang))
        # the big label follows the language: the placeholder, and the product in view too
        if self.product.text() in ("", *(phrase("waiting", other) for other in LANGUAGES)):
            self.product.show_product(phrase("waiting", lang), maybe=self.product.maybe)
        elif self._shown is not None:
            words = self.context.assistant.words_for(self._shown, lang)
            self.product.show_product(words[:1].upper() + words[1:], maybe=self.product.maybe)
            self.product.setAccessibleDescription(words)
        for key in ("loading", "watching"):
            if self.status_label.text() in ("", *(phrase(key, other) for other in LANGUAGES)):
                self.status_label.setText(phrase(key, lang))
                break
        self._show_mode()

    def _show_mode(self) -> None:
        lang = self.language
        if self.settings.continuous:
            mode = phrase("continuous_state_on", lang)
        else:
            key = shown_key(self.actions_by_id["identify"].shortcut(), lang)
            mode = phrase("continuous_state_off", lang, key=key)
        speech = phrase("speech_state", lang, engine=self._engine_name(), rate=self.settings.rate,
                      volume=round(self.settings.volume * 100))
        if self.speech_broken:  # the lasting problem stays in view after newer statuses, in
            # short: the whole sentence (with its reason) is on the status line and in the history
            speech = phrase("speech_off_state", lang)
        self.mode_label.setText(f"{mode}\n{speech}")
        self.mode_label.setAccessibleName(f"{mode}. {speech}")

    def _engine_name(self) -> str:
        engine = getattr(self.context.speaker, "engine", None)
        name = getattr(engine, "name", None) or self.context.engine_name
        return str(name)

    # --- core events (GUI thread) -----------------------------------------------------------
    def _connect(self) -> None:
        self.bridge.frame_ready.connect(self._on_frame)
        self.bridge.prediction.connect(self._on_prediction)
        self.bridge.utterance.connect(self._on_utterance)
        self.bridge.status.connect(self._on_status)
        self.bridge.other.connect(self._on_other)
        self.bridge.ready.connect(self._on_ready)
        self.bridge.speech_error.connect(self._on_speech_error)

    def _on_frame(self) -> None:
        frame = self.bridge.latest_frame()
        if frame is not None:
            self.preview.show_frame(frame)
            self.reading.on_frame()

    def _on_prediction(self, payload: dict) -> None:
        self.predictions += 1

    def _on_utterance(self, payload: dict) -> None:
        utterance = payload.get("utterance")
        words = payload.get("words") or ""
        kind = getattr(utterance, "kind", "product")
        if kind in ("product", "maybe", "lookalike") and words:
            # names come lower-case from the model ("milk"); a capital reads better in large print
            self.product.show_product(words[:1].upper() + words[1:], maybe=kind != "product")
            self._shown = utterance
            if self._status_is_hint:  # the hint ("too dark"...) is over: do not leave it up
                self.status_label.setText(phrase("watching", self.language))
            self._status_is_hint = False
            self.product.setAccessibleDescription(words)
        elif words:
            # a hint means no product is in view: the big name must not linger on screen
            self.status_label.setText(words)
            self._status_is_hint = True
            self._shown = None
            self.product.show_product(phrase("waiting", self.language), maybe=True)
        self.history.add(words, payload.get("time"))
        self.announce(words, assertive=False)

    def _on_status(self, payload: dict) -> None:
        status = payload.get("status", "")
        words = payload.get("words") or phrase(status, self.language,
                                                       detail=payload.get("detail", ""),
                                                       name=payload.get("detail", ""))
        if status == "speech_failed":
            self._on_speech_error(payload.get("detail") or words, words=words)
            return
        self.show_status(words, assertive=status in URGENT)
        if status in ("source_ended", "source_failed"):
            self.source_ended.emit()

    def _on_other(self, name: str, payload: dict) -> None:
        if name == "barcode":  # a code in view: its name (or digits) in the big box, recorded
            words = payload.get("words", "")
            self.product.show_product(words, maybe=payload.get("id") != "barcode")
            self.product.setAccessibleDescription(words)
            self.history.add(words, payload.get("time"))
            self.announce(words, assertive=True)

    def _on_ready(self, payload: dict) -> None:
        # "ready" replaces "starting", never a problem reported meanwhile
        if self.status_label.text() == phrase("loading", self.language):
            self.status_label.setText(phrase("ready", self.language))
        if payload.get("words"):  # said: the history and the screen reader hear it too
            self.history.add(payload["words"], payload.get("time"))
            self.announce(payload["words"])
        log.info("ready: first picture classified %.2f s after start, %.2f s after the "
                 "process began", payload.get("seconds", 0.0), _process_age())

    def _on_speech_error(self, detail: str, words: str | None = None) -> None:
        """The voice died: say so on screen and to the screen reader, keep recognising."""
        if self.speech_broken:
            return
        self.speech_broken = True
        self.speech_failure = detail
        words = words or phrase("speech_failed", self.language, detail=detail)
        self.show_status(words, assertive=True)
        self._show_mode()

    # --- output helpers ---------------------------------------------------------------------
    def show_status(self, words: str, assertive: bool = False, history: bool = True) -> None:
        """Status line (+ history) + screen reader; the voice is the caller's business."""
        if not words:
            return
        self.status_label.setText(words)
        if history:
            self.history.add(words)
        self.announce(words, assertive=assertive)

    def announce(self, words: str, assertive: bool = False) -> None:
        if words and a11y.announce(self.product if not assertive else self.status_label, words,
                                   assertive):
            self.announcements.append(words)  # what went to the screen reader (tests read it)

    def say(self, message_id: str, priority: Priority = Priority.NOW, **fields) -> str:
        """Answer a command: speak (interrupting), show, announce, and record it in the
        history and the transcript, which hold everything said."""
        words = phrase(message_id, self.language, **fields)
        try:
            self.context.speaker.say(words, self.language, priority, kind="feedback", key=message_id)
        except Exception as exc:  # the speaker is dead; the screen still works
            log.exception("speech failed")
            self._on_speech_error(str(exc))
        self.show_status(words)
        self.context.assistant.record(message_id, words)
        return words

    def _model_changed(self, classifier) -> None:
        self.say("model_loaded", count=len(classifier.class_ids))

    # --- closing ---------------------------------------------------------------------------
    def closeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        self.hide()  # gone at once for the user; stopping the threads may take a moment
        self.context.save_settings()
        self.context.stop()
        event.accept()
        log.info("window closed at %s", time.strftime("%H:%M:%S"))


def _process_age() -> float:
    """Seconds since this process started (start-up time as the user feels it)."""
    return process_age()
