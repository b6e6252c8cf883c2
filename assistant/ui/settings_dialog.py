"""The settings dialog: language, voice, speed, volume, camera, thresholds, continuous mode
and the command keys. OK checks everything first; a mistake is shown (and announced) and the
dialog stays open with every value as typed, so nothing is lost."""
from __future__ import annotations

import copy
from pathlib import Path

from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDoubleSpinBox,
    QFormLayout,
    QKeySequenceEdit,
    QLabel,
    QPushButton,
    QSpinBox,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from assistant.catalog import LANGUAGES, autonym, phrase, plain
from assistant.live.announcer import AnnouncerSettings
from assistant.live.settings import RATE_RANGE
from assistant.ui import accessibility as a11y
from assistant.ui.commands import BY_ID, COMMANDS, effective_shortcuts, shown_key
from assistant.ui.dialogs import ok_cancel


class SettingsDialog(QDialog):
    """Edits a copy of the settings; result_settings() returns it after OK."""

    def __init__(self, parent: QWidget | None, settings, voices: list[str], language: str) -> None:
        super().__init__(parent)
        self.setObjectName("settings_dialog")
        self.lang = language
        self.original = settings
        self.setWindowTitle(phrase("settings_title", language))
        self.setStyleSheet(a11y.FOCUS_STYLE)
        self.tabs = QTabWidget()
        self.tabs.setObjectName("settings_tabs")
        a11y.name(self.tabs, phrase("settings_title", language), phrase("settings_title", language))
        a11y.name(self.tabs.tabBar(), phrase("settings_title", language),
                  phrase("settings_tabs_desc", language))
        self.tabs.addTab(self._speech_tab(settings, voices), phrase("tab_speech", language))
        self.tabs.addTab(self._recognition_tab(settings), phrase("tab_recognition", language))
        self.tabs.addTab(self._keys_tab(settings), phrase("tab_keys", language))
        self.error = QLabel()
        self.error.setObjectName("settings_error")
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #b00020; font-weight: bold;")
        self.error.hide()
        buttons = ok_cancel(self, language)
        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs)
        layout.addWidget(self.error)
        layout.addWidget(buttons)
        self.language_box.setFocus()
        self._result = None

    # --- tabs ------------------------------------------------------------------------------
    def _row(self, form: QFormLayout, key: str, widget: QWidget) -> QWidget:
        widget.setObjectName(f"setting_{key}")
        a11y.labelled_row(form, phrase(key, self.lang), widget, phrase(f"{key}_desc", self.lang))
        return widget

    def _speech_tab(self, s, voices: list[str]) -> QWidget:
        page, form = QWidget(), QFormLayout()
        page.setLayout(form)
        self.language_box = self._row(form, "language", QComboBox())
        for code in LANGUAGES:
            self.language_box.addItem(autonym(code), code)
        self.language_box.setCurrentIndex(max(0, self.language_box.findData(s.language)))
        self.voice_box = self._row(form, "voice", QComboBox())
        self.voice_box.addItem(phrase("voice_default", self.lang), None)
        for voice in voices:
            self.voice_box.addItem(voice, voice)
        if s.voice and self.voice_box.findData(s.voice) < 0:
            self.voice_box.addItem(s.voice, s.voice)
        self.voice_box.setCurrentIndex(max(0, self.voice_box.findData(s.voice)))
        self.rate_box = self._row(form, "rate", QSpinBox())
        self.rate_box.setRange(*RATE_RANGE)
        self.rate_box.setSingleStep(10)
        self.rate_box.setSuffix(phrase("rate_suffix", self.lang))
        self.rate_box.setValue(int(s.rate))
        self.volume_box = self._row(form, "volume", QSpinBox())
        self.volume_box.setRange(0, 100)
        self.volume_box.setSingleStep(10)
        self.volume_box.setSuffix(" %")
        self.volume_box.setValue(round(s.volume * 100))
        self.camera_box = self._row(form, "camera", QComboBox())
        self.camera_box.setEditable(True)  # a path may be typed; OK checks that it exists
        self.camera_box.addItem(phrase("camera_auto", self.lang), None)
        from assistant.live.camera import available_cameras
        for i in available_cameras():   # only cameras that open, numbered as --source does
            self.camera_box.addItem(phrase("webcam", self.lang, n=i), i)
        self.camera_box.addItem(phrase("demo", self.lang), "demo")
        index = self.camera_box.findData(s.camera) if not isinstance(s.camera, str) or s.camera == "demo" else -1
        if index < 0 and s.camera is not None:
            self.camera_box.addItem(str(s.camera), str(s.camera))
            index = self.camera_box.count() - 1
        self.camera_box.setCurrentIndex(max(0, index))
        a11y.name(self.camera_box.lineEdit(), plain(phrase("camera", self.lang)),
                  phrase("camera_desc", self.lang))
        self.hold_box = self._row(form, "hold", QDoubleSpinBox())
        self.hold_box.setRange(0.1, 60.0)
        self.hold_box.setSingleStep(0.5)
        self.hold_box.setSuffix(" s")
        self.hold_box.setValue(float(s.hold))
        return page

    def _check(self, form, key: str, checked: bool) -> QCheckBox:
        box = QCheckBox(phrase(key, self.lang))
        box.setObjectName(f"setting_{key}")
        a11y.name(box, plain(phrase(key, self.lang)), phrase(f"{key}_desc", self.lang))
        box.setChecked(bool(checked))
        form.addRow(box)
        return box

    def _recognition_tab(self, s) -> QWidget:
        page, form = QWidget(), QFormLayout()
        page.setLayout(form)
        self.continuous_box = QCheckBox(phrase("continuous", self.lang))
        self.continuous_box.setObjectName("setting_continuous")
        a11y.name(self.continuous_box, plain(phrase("continuous", self.lang)),
                  phrase("continuous_desc", self.lang))
        self.continuous_box.setChecked(bool(s.continuous))
        form.addRow(self.continuous_box)
        self.barcodes_box = self._check(form, "barcodes_on", s.barcodes)
        self.ticks_box = self._check(form, "barcode_ticks", s.barcode_ticks)
        a = s.announcer
        self.say_box = self._row(form, "say_threshold", self._fraction(a.say_threshold))
        self.maybe_box = self._row(form, "maybe_threshold", self._fraction(a.maybe_threshold))
        self.window_box = self._row(form, "window", QSpinBox())
        self.window_box.setRange(1, 30)
        self.window_box.setValue(int(a.window))
        self.agreement_box = self._row(form, "agreement", QSpinBox())
        self.agreement_box.setRange(1, 30)
        self.agreement_box.setValue(int(a.agreement))
        return page

    @staticmethod
    def _fraction(value: float) -> QSpinBox:
        box = QSpinBox()  # percent: easier to hear and type than 0.35
        box.setRange(0, 100)
        box.setSingleStep(5)
        box.setSuffix(" %")
        box.setValue(round(value * 100))
        return box

    def _keys_tab(self, s) -> QWidget:
        page, form = QWidget(), QFormLayout()
        page.setLayout(form)
        keys = effective_shortcuts(s.shortcuts)
        self.key_edits: dict[str, QKeySequenceEdit] = {}
        for cmd in COMMANDS:
            edit = QKeySequenceEdit(QKeySequence(keys[cmd.id]))
            edit.setObjectName(f"key_{cmd.id}")
            edit.setMaximumSequenceLength(1)
            # wide enough for the longest default key at any scale ("Ctrl+Shift+Down")
            edit.setMinimumWidth(edit.fontMetrics().horizontalAdvance("Ctrl+Shift+Down  ") * 3 // 2)
            label = cmd.describe(self.lang)
            a11y.labelled_row(form, label[:1].upper() + label[1:] + ":", edit,
                              phrase("key_desc", self.lang, what=label))
            self.key_edits[cmd.id] = edit
        reset = QPushButton(phrase("keys_reset", self.lang))
        reset.setObjectName("keys_reset")
        a11y.name(reset, plain(phrase("keys_reset", self.lang)), phrase("keys_reset_desc", self.lang))
        reset.clicked.connect(self._reset_keys)
        form.addRow(reset)
        return page

    def _reset_keys(self) -> None:
        for cmd in COMMANDS:
            self.key_edits[cmd.id].setKeySequence(QKeySequence(cmd.shortcut))

    # --- OK --------------------------------------------------------------------------------
    def accept(self) -> None:
        try:
            self._result = self._collect()
        except ValueError as exc:
            self.show_error(str(exc))
            return
        super().accept()

    def show_error(self, message: str) -> None:
        self.error.setText(message)
        self.error.show()
        a11y.announce(self.error, message, assertive=True)

    def result_settings(self):
        """The edited settings (a new Settings object); None before OK."""
        return self._result

    def _collect(self):
        s = copy.deepcopy(self.original)
        s.language = self.language_box.currentData()
        s.voice = self.voice_box.currentData()
        s.rate = self.rate_box.value()
        s.volume = self.volume_box.value() / 100
        s.camera = self._camera_choice()
        s.hold = self.hold_box.value()
        s.continuous = self.continuous_box.isChecked()
        s.barcodes = self.barcodes_box.isChecked()
        s.barcode_ticks = self.ticks_box.isChecked()
        announcer = AnnouncerSettings(**vars(s.announcer))
        announcer.say_threshold = self.say_box.value() / 100
        announcer.maybe_threshold = self.maybe_box.value() / 100
        announcer.window = self.window_box.value()
        announcer.agreement = self.agreement_box.value()
        announcer.validate()  # ValueError says which thresholds contradict each other
        s.announcer = announcer
        s.shortcuts = self._collect_keys()
        return s

    def _camera_choice(self):
        typed = self.camera_box.currentText().strip()
        index = self.camera_box.findText(typed)
        if index >= 0:
            return self.camera_box.itemData(index)
        if typed.isdigit():
            return int(typed)
        if typed.lower() == "demo":
            return "demo"
        if not Path(typed).expanduser().exists():
            raise ValueError(phrase("error_path", self.lang, path=typed))
        return str(Path(typed).expanduser())

    def _collect_keys(self) -> dict[str, str]:
        chosen: dict[str, str] = {}
        for cmd in COMMANDS:
            seq = self.key_edits[cmd.id].keySequence()
            if seq.isEmpty():
                raise ValueError(phrase("error_key_empty", self.lang, what=cmd.describe(self.lang)))
            portable = seq.toString(QKeySequence.SequenceFormat.PortableText)
            for other, key in chosen.items():
                if QKeySequence(key).matches(seq) == QKeySequence.SequenceMatch.ExactMatch:
                    raise ValueError(phrase("error_key_twice", self.lang, key=shown_key(seq),
                                          a=BY_ID[other].describe(self.lang), b=cmd.describe(self.lang)))
            chosen[cmd.id] = portable
        # only what differs from the defaults is an override
        return {cid: key for cid, key in chosen.items()
                if key != QKeySequence(BY_ID[cid].shortcut).toString(
                    QKeySequence.SequenceFormat.PortableText)}

