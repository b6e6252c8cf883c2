"""The window's label reading: the read and date commands, and `app --read` (every photo of a
folder read as it comes into view). Each reading runs in its own low-priority thread, so
recognition never waits; its words are spoken at NEXT priority; Esc cancels it; F2 repeats it.
"""
from __future__ import annotations

import logging
from collections import deque

from PySide6.QtCore import QObject, QThread

from assistant.live.speech import Priority
from assistant.reading import OcrUnavailable
from assistant.ui.tasks import BackgroundTask

log = logging.getLogger(__name__)


class LabelReading(QObject):
    """Reads for a MainWindow (needs .context, .say, .show_status, .language)."""

    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window
        self.context = window.context
        self.auto = False  # app --read: read each photo of a folder once, as it comes into view
        self._queue: deque = deque()  # (frame, item, dates_only, generation) waiting
        self._task: BackgroundTask | None = None
        self._finished: list[BackgroundTask] = []  # kept until their thread has ended
        self._generation = 0  # Esc moves it on: a reading of an older one is not said
        self._unavailable_said = False
        self._auto_showing = None
        self._auto_seen = None

    def busy(self) -> bool:
        """A reading runs or waits (app --once waits for it before quitting)."""
        return self._task is not None or bool(self._queue) or self._auto_seen is not None

    # --- commands -----------------------------------------------------------------------
    def request(self, dates_only: bool = False, frame=None, item: str | None = None) -> None:
        """Read the picture in view (or frame); say its text, or only its dates."""
        reader = self.context.label_reader()
        if reader is None:
            self._say_unavailable(self.context.reader_problem or "?")
            return
        if frame is None:
            frame = self.context.latest_frame()
            item = self.context.source.item or ""
        if frame is None:
            self.window.say("no_picture")
            return
        if not self.auto:
            self.window.say("reading")
        self._queue.append((frame, item or "", dates_only, self._generation))
        self._start_next()

    def cancel(self) -> None:
        """Esc: nothing read so far is said (the reading in progress ends unheard)."""
        self._generation += 1
        self._queue.clear()

    def on_frame(self) -> None:
        """app --read: a new photo in view is read from its second frame on (the first may
        still be the last one's)."""
        if not self.auto:
            return
        showing = self.context.source.showing
        if showing is None or showing == self._auto_showing:
            self._auto_seen = None
            return
        if self._auto_seen != showing:
            self._auto_seen = showing
            return
        self._auto_showing, self._auto_seen = showing, None
        self.request(frame=self.context.latest_frame(),
                     item=self.context.source.item or str(showing))

    # --- the thread ---------------------------------------------------------------------
    def _start_next(self) -> None:
        if self._task is not None or not self._queue:
            return
        frame, item, dates_only, generation = self._queue.popleft()
        reader = self.context.label_reader()

        def work():
            try:
                return reader.read(frame)
            except OcrUnavailable as exc:  # the engine loads on its first reading
                return exc

        task = BackgroundTask(work, QThread.Priority.LowPriority, "read", self.window.language)
        task.finished.connect(lambda result: self._done(result, item, dates_only, generation))
        task.failed.connect(lambda message: self._failed(message, generation))
        task.thread.finished.connect(self._forget_finished)
        self._task = task
        task.start()

    def _forget_finished(self) -> None:
        self._finished = [t for t in self._finished if t.thread.isRunning()]

    def _release(self) -> None:
        if self._task is not None:
            self._finished.append(self._task)
        self._task = None

    def _done(self, result, item: str, dates_only: bool, generation: int) -> None:
        self._release()
        if isinstance(result, OcrUnavailable):
            self.context.reader, self.context.reader_problem = None, str(result)
            self._queue.clear()
            self._say_unavailable(str(result))
            return
        if generation == self._generation:
            self._speak(result, item, dates_only)
        self._start_next()

    def _failed(self, message: str, generation: int) -> None:
        self._release()
        if generation == self._generation:
            self.window.say("read_failed", detail=message)
        self._start_next()

    def _speak(self, reading, item: str, dates_only: bool) -> None:
        lang = self.window.language
        sentences = reading.date_sentences(lang) if dates_only else reading.sentences(lang)
        # one utterance of short sentences: F2 repeats all of it, Esc stops all of it
        words = " ".join(s if s[-1:] in ".!?" else f"{s}." for s in sentences)
        self.context.speaker.say(words, lang, Priority.NEXT, kind="text", key="read")
        self.window.show_status(words)
        self.context.assistant.record("read_date" if dates_only else "read", words, item=item)

    def _say_unavailable(self, detail: str) -> None:
        """Said once in a run of app --read; each time the user asks otherwise."""
        if self.auto and self._unavailable_said:
            return
        self._unavailable_said = True
        self.window.say("read_unavailable", detail=detail)
