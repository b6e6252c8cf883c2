"""Speech in its own thread: a priority queue in front of one small engine interface.

Priority.NOW interrupts whatever is being said and drops what waits; a newer product
replaces an older one that has not been spoken yet. A failing engine is reported once
through on_error and replaced by silence, so the queue (and the app) keeps working.
The engines themselves live in assistant/live/speech_engines.py.
"""
from __future__ import annotations

import heapq
import itertools
import logging
import threading
from collections.abc import Callable

from assistant.live.speech_engines import (  # noqa: F401  (re-exported: one import for callers)
    EspeakEngine,
    Priority,
    Pyttsx3Engine,
    RecordingEngine,
    SilentEngine,
    SpeechEngine,
    SpeechError,
    SpeechItem,
    make_engine,
)

log = logging.getLogger(__name__)

RATE_RANGE = (80, 400)   # words per minute that espeak-ng still speaks intelligibly


class Speaker:
    """The speech queue and its thread.

    on_error(message) is called when the engine fails (the Speaker then goes on silently);
    on_start(item) when speaking of an item begins; on_spoken(item) when it was said to
    the end (not when it was interrupted). Callbacks run in the speech thread.
    Items of kind "feedback" (command confirmations) are not remembered for repeat_last().
    """

    def __init__(self, engine: SpeechEngine, on_error: Callable[[str], None] | None = None,
                 on_spoken: Callable[[SpeechItem], None] | None = None,
                 on_start: Callable[[SpeechItem], None] | None = None,
                 language: str = "en", rate: int = 175, volume: float = 1.0,
                 voice: str | None = None) -> None:
        self.engine = engine
        self.on_error, self.on_spoken, self.on_start = on_error, on_spoken, on_start
        self._listeners: list[tuple[Callable | None, Callable | None]] = []  # (on_start, on_error)
        self.language = language
        self.voice = voice
        self._rate, self._volume = 175, 1.0
        self.rate, self.volume = rate, volume
        self.failed: str | None = None          # the engine's error, once it failed
        self._cond = threading.Condition()
        self._queue: list[tuple[int, int, SpeechItem]] = []
        self._seq = itertools.count()
        self._current: SpeechItem | None = None
        self._cancel: threading.Event | None = None
        self._last: SpeechItem | None = None
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="speech", daemon=True)
        self._thread.start()

    # settings: plain attributes read by the speech thread before each sentence
    @property
    def rate(self) -> int:
        return self._rate

    @rate.setter
    def rate(self, value: float) -> None:
        self._rate = int(min(max(value, RATE_RANGE[0]), RATE_RANGE[1]))

    @property
    def volume(self) -> float:
        return self._volume

    @volume.setter
    def volume(self, value: float) -> None:
        self._volume = float(min(max(value, 0.0), 1.0))

    @property
    def speaking(self) -> SpeechItem | None:
        """The item being spoken now, if any."""
        return self._current

    def pending(self) -> list[SpeechItem]:
        """The items waiting, in the order they will be spoken."""
        with self._cond:
            return [item for _, _, item in sorted(self._queue)]

    def say(self, text: str, language: str | None = None, priority: Priority = Priority.NORMAL,
            kind: str = "message", key: str | None = None) -> None:
        """Queue text; kind "product" replaces any unspoken product; equal keys replace."""
        if not text or not text.strip():
            return
        item = SpeechItem(text, language or self.language, Priority(priority), kind, key)
        with self._cond:
            if self._closed:
                log.warning("speaker closed; not saying %r", text)
                return
            if item.priority == Priority.NOW:
                self._queue.clear()
                self._interrupt()
            elif kind == "product" or key is not None:
                # a stale product (or an older version of the same message) is never spoken
                self._queue = [e for e in self._queue
                               if not (kind == "product" and e[2].kind == "product")
                               and not (key is not None and e[2].key == key)]
                heapq.heapify(self._queue)
            heapq.heappush(self._queue, (int(item.priority), next(self._seq), item))
            self._cond.notify_all()

    def stop(self) -> None:
        """Silence now and drop everything waiting."""
        with self._cond:
            self._queue.clear()
            self._interrupt()
            self._cond.notify_all()

    def repeat_last(self) -> bool:
        """Say the last result again (NOW); False if nothing was said yet."""
        last = self._last
        if last is None:
            return False
        self.say(last.text, last.language, Priority.NOW, last.kind, last.key)
        return True

    @property
    def last(self) -> SpeechItem | None:
        """The last result spoken (what repeat_last() would say)."""
        return self._last

    def voices(self, language: str | None = None) -> list[str]:
        """Voice ids the engine offers (for language, if given)."""
        try:
            return self.engine.voices(language)
        except Exception as exc:  # listing voices must never break a settings dialog
            log.warning("cannot list voices: %s", exc)
            return []

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Block until the queue is empty and nothing is being said."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._queue and self._current is None, timeout)

    def close(self, timeout: float = 3.0) -> None:
        """Stop the thread (waits up to timeout); the Speaker is unusable afterwards."""
        with self._cond:
            self._closed = True
            self._queue.clear()
            self._interrupt()
            self._cond.notify_all()
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def _interrupt(self) -> None:
        # caller holds the lock; the engine polls the event, so there is no start-up race
        if self._cancel is not None:
            self._cancel.set()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._closed:
                    self._cond.wait()
                if self._closed:
                    break
                _, _, item = heapq.heappop(self._queue)
                cancel = threading.Event()
                self._current, self._cancel = item, cancel
            try:
                self._speak(item, cancel)
            finally:
                with self._cond:
                    self._current = self._cancel = None
                    self._cond.notify_all()
        try:
            self.engine.close()
        except Exception as exc:
            log.warning("closing the speech engine: %s", exc)

    def listen(self, on_start: Callable[[SpeechItem], None] | None = None,
               on_error: Callable[[str], None] | None = None) -> None:
        """Another listener of speech starting and of the engine failing (after on_start and
        on_error; in the speech thread): the pipeline subscribes here."""
        self._listeners.append((on_start, on_error))

    def _speak(self, item: SpeechItem, cancel: threading.Event) -> None:
        if item.kind != "feedback":
            self._last = item
        _safe(self.on_start, item)
        for on_start, _ in list(self._listeners):
            _safe(on_start, item)
        try:
            self.engine.speak(item.text, item.language, self._rate, self._volume,
                              self._voice_for(item.language), priority=item.priority, cancel=cancel)
        except Exception as exc:  # any engine failure: report once, go on silently
            self._fail(exc)
            return
        if not cancel.is_set():
            _safe(self.on_spoken, item)

    def _voice_for(self, language: str) -> str | None:
        # a voice of another language would mangle the words: use it only for its own
        voice = self.voice
        if voice and voice.rsplit("/", 1)[-1].split("-")[0].lower() == language.lower():
            return voice
        return None

    def _fail(self, exc: Exception) -> None:
        # the user hears why in their language; the log keeps the English
        message = (exc.words(self.language) if isinstance(exc, SpeechError) else str(exc)) \
            or type(exc).__name__
        log.error("speech engine %s failed: %s", getattr(self.engine, "name", "?"), exc,
                  exc_info=not isinstance(exc, SpeechError))
        try:
            self.engine.close()
        except Exception:
            log.debug("closing the failed engine", exc_info=True)
        self.engine = SilentEngine()
        self.failed = message
        _safe(self.on_error, message)
        for _, on_error in list(self._listeners):
            _safe(on_error, message)


def _safe(callback: Callable | None, *args) -> None:
    """A faulty listener must not kill the speech thread."""
    if callback is None:
        return
    try:
        callback(*args)
    except Exception:
        log.exception("speech listener %r failed", callback)
