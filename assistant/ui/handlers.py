"""What each command of assistant.ui.commands does: one method per row (its `handler`).

A mixin of MainWindow, kept apart so the window module stays about layout and events.
Every handler answers in words (spoken, shown and sent to the screen reader), and none
lets an error escape into Qt's event loop: a failure becomes a sentence for the user.
"""
from __future__ import annotations

import logging

from assistant.catalog import next_language, phrase
from assistant.live.settings import RATE_RANGE, VOLUME_RANGE
from assistant.ui.commands import COMMANDS, effective_shortcuts, spoken_key

log = logging.getLogger(__name__)

RATE_STEP = 20      # words per minute per key press: audible, and 16 presses cover the range
VOLUME_STEP = 0.1


class CommandHandlers:
    """Command handlers for MainWindow (needs .context, .say, .show_status, .actions_by_id)."""

    _dialog = None  # the open non-modal dialog (kept referenced so Python does not free it)

    def identify_now(self) -> None:
        self.context.assistant.identify_now()

    def toggle_continuous(self) -> None:
        on = not self.settings.continuous
        self.settings.continuous = on
        self.context.assistant.set_continuous(on)
        action = self.actions_by_id["continuous"]
        if action.isChecked() != on:
            action.setChecked(on)
        self.context.save_settings()
        self._show_mode()
        self.say("continuous_on" if on else "continuous_off")

    def repeat_last(self) -> None:
        # shown and recorded like any answer: with the voice off the screen is the answer, and
        # the history and the transcript hold everything said
        last = self.context.speaker.last
        if not self.context.assistant.repeat():   # the core says and records "nothing to repeat"
            self.show_status(phrase("nothing_to_repeat", self.language))
            return
        self.show_status(last.text)
        self.context.assistant.record("repeated", last.text)

    def stop_speech(self) -> None:
        self.reading.cancel()  # a reading in progress is not said when it ends
        self.context.assistant.stop_speech()

    def read_text(self) -> None:
        self.reading.request(dates_only=False)

    def read_date(self) -> None:
        self.reading.request(dates_only=True)

    def speak_faster(self) -> None:
        self._change_rate(+RATE_STEP)

    def speak_slower(self) -> None:
        self._change_rate(-RATE_STEP)

    def speak_louder(self) -> None:
        self._change_volume(+VOLUME_STEP)

    def speak_softer(self) -> None:
        self._change_volume(-VOLUME_STEP)

    def switch_language(self) -> None:
        self.apply_language(next_language(self.language))
        self.say("language_changed")

    def choose_camera(self) -> None:
        from assistant.ui.dialogs import CameraDialog
        dialog = CameraDialog(self, self.settings.camera, self.language)
        dialog.accepted.connect(lambda: self.use_source(dialog.choice))
        self._open(dialog)
        self.say("camera_choose")

    def open_settings(self) -> None:
        from assistant.ui.settings_dialog import SettingsDialog
        dialog = SettingsDialog(self, self.settings, self._voices(), self.language)
        dialog.accepted.connect(lambda: self.apply_settings(dialog.result_settings()))
        self._open(dialog)
        self.say("settings_opened")

    def open_maintainer(self) -> None:
        try:  # another part of the app; the assistant must work without it
            from assistant.ui.maintainer import MaintainerDialog
            dialog = MaintainerDialog(self, self.context)
        except Exception:
            log.exception("maintainer mode could not be opened")
            self.say("maintainer_unavailable")
            return
        self._open(dialog)
        self.say("maintainer_mode")

    def spoken_help(self) -> None:
        from assistant.ui.dialogs import HelpDialog
        lang = self.language
        parts = [phrase("help_intro", lang)]
        for cmd in COMMANDS:
            key = spoken_key(self.actions_by_id[cmd.id].shortcut(), lang)
            parts.append(phrase("help_item", lang, description=cmd.describe(lang),
                                        shortcut=key))
        words = " ".join(parts)
        dialog = HelpDialog(self, self.actions_by_id, lang)
        dialog.finished.connect(self._stop_help_speech)
        self._open(dialog)
        self.context.speaker.say(words, lang, self._now(), kind="feedback", key="help")
        # the list is the help on screen; the status line and the history keep one short line,
        # the transcript what was said
        self.show_status(phrase("help_title", lang))
        self.context.assistant.record("help_title", words)

    def quit_app(self) -> None:
        self.close()

    def _stop_help_speech(self, _result=None) -> None:
        # closing the list (Escape) also ends its reading: that is what the user asked for
        speaking = getattr(self.context.speaker, "speaking", None)
        if speaking is not None and speaking.key == "help":
            self.context.speaker.stop()

    # --- helpers -------------------------------------------------------------------------
    @staticmethod
    def _now():
        from assistant.live.speech import Priority
        return Priority.NOW

    def _open(self, dialog) -> None:
        """Show a dialog without blocking (keys and tests keep working), one at a time."""
        if self._dialog is not None and self._dialog.isVisible():
            self._dialog.reject()
        self._dialog = dialog
        dialog.finished.connect(lambda _r: self.activateWindow())
        dialog.open()

    def _change_rate(self, step: int) -> None:
        low, high = RATE_RANGE
        rate = int(min(max(self.settings.rate + step, low), high))
        at_limit = rate == self.settings.rate
        self.settings.rate = rate
        self.context.speaker.rate = rate
        self.context.save_settings()
        self._show_mode()
        if at_limit:
            self.say("fastest" if step > 0 else "slowest")
        else:
            self.say("faster" if step > 0 else "slower")

    def _change_volume(self, step: float) -> None:
        low, high = VOLUME_RANGE
        volume = round(min(max(self.settings.volume + step, low), high), 2)
        at_limit = volume == self.settings.volume
        self.settings.volume = volume
        self.context.speaker.volume = volume
        self.context.save_settings()
        self._show_mode()
        if at_limit:
            self.say("loudest" if step > 0 else "softest")
        else:
            self.say("volume_changed", value=round(volume * 100))

    def _voices(self) -> list[str]:
        try:
            return list(self.context.speaker.voices())
        except Exception:  # a broken engine has no voices; the dialog still opens
            log.exception("cannot list voices")
            return []

    def apply_language(self, language: str) -> None:
        self.context.assistant.set_language(language)
        self.context.save_settings()
        self.retranslate()

    def use_source(self, spec) -> None:
        """Switch to the picture source spec; a failure is said and the old source stays."""
        from assistant.live.camera import CameraError
        try:
            source = self.context.set_source(spec)
        except (CameraError, OSError, ValueError) as exc:
            self.say("camera_open_failed", detail=str(exc))
            return
        self.say("camera_changed", name=source.name or str(spec))

    def apply_settings(self, new) -> None:
        """Take over what the settings dialog returned (a Settings object)."""
        old = self.settings
        if new.language != old.language:
            self.apply_language(new.language)
        speaker = self.context.speaker
        old.voice, speaker.voice = new.voice, new.voice
        old.rate, speaker.rate = new.rate, new.rate
        old.volume, speaker.volume = new.volume, new.volume
        old.hold = new.hold
        if new.continuous != old.continuous:
            old.continuous = new.continuous
            self.context.assistant.set_continuous(new.continuous)
            self.actions_by_id["continuous"].setChecked(new.continuous)
        self.context.assistant.set_announcer_settings(new.announcer)
        old.barcode_ticks = new.barcode_ticks
        if new.barcodes != old.barcodes:
            self.context.assistant.set_barcodes(new.barcodes)
        old.shortcuts = dict(new.shortcuts)
        for cid, key in effective_shortcuts(old.shortcuts).items():
            self.actions_by_id[cid].setShortcut(key)
        camera_changed = new.camera != old.camera
        self.context.save_settings()
        self.retranslate()
        self.say("settings_saved")
        if camera_changed:
            self.use_source(new.camera)
