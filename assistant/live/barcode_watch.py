"""Barcodes in the camera's view, in their own thread: a few times a second the newest frame
is read for codes (zxing-cpp), so recognition never waits for it. A code is reported once
when it comes into view and again only after it has been out of view for a while; when
something barcode-like is in view but not readable yet, guidance() gets how close and sharp
it is (0..1), for the ticks. SpokenBarcodes is the running assistant's use of it: each code
said at once, recorded and announced. No Qt."""
from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable

import numpy as np

from assistant.inference.barcodes import BAR_LIKE, Code, read_in_view
from assistant.live.speech import Priority

log = logging.getLogger(__name__)


class BarcodeWatch:
    """latest() -> (frame or None, seq); on_code(Code) for each code coming into view;
    on_guidance(level) while a code-like pattern is in view but unread (level 0..1).

    showing(seq), if given, says what frame seq shows (a photo of a folder): a frame of
    another photo is a new appearance, forgotten codes and all, decided here with the frame
    read rather than later by whoever classifies it (which once said a code twice, the first
    time tagged with the previous photo). .reading is the seq of the frame being read."""

    def __init__(self, latest: Callable[[], tuple[np.ndarray | None, int]],
                 on_code: Callable[[Code], None],
                 on_guidance: Callable[[float], None] | None = None,
                 period: float = 0.2, forget_after: float = 2.0,
                 showing: Callable[[int], object] | None = None) -> None:
        self.latest, self.on_code, self.on_guidance = latest, on_code, on_guidance
        self.showing = showing
        self.reading = 0
        self._appearance = None
        self.period, self.forget_after = period, forget_after
        self.read_ms: deque[float] = deque(maxlen=500)
        self.frames_read = 0
        self._in_view: dict[str, float] = {}
        self._codes: dict[str, Code] = {}   # the last reading of each code in view
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="barcodes", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)
        self._thread = None

    def forget(self) -> None:
        """A new appearance begins (a new photo of a folder): codes in view are said again."""
        self._in_view.clear()

    def in_view(self, now: float | None = None) -> list[Code]:
        """The codes read in the last forget_after seconds, the most recent first (what
        "identify now" names ahead of the classifier's guess)."""
        now = time.monotonic() if now is None else now
        seen = sorted(self._in_view.items(), key=lambda kv: kv[1], reverse=True)
        return [self._codes[text] for text, when in seen
                if now - when <= self.forget_after and text in self._codes]

    def step(self, frame: np.ndarray, now: float | None = None) -> list[Code]:
        """Read one frame: report the codes new in view (and guidance when none); returns the
        codes found. Called by the thread, or directly (tests)."""
        now = time.monotonic() if now is None else now
        t0 = time.perf_counter()
        # turned copies cost two more reads: every third frame (a held code stays a while)
        codes, likeness = read_in_view(frame, turned=self.frames_read % 3 == 0)
        self.read_ms.append((time.perf_counter() - t0) * 1000.0)
        self.frames_read += 1
        for code in codes:
            seen = self._in_view.get(code.text)
            self._in_view[code.text] = now
            self._codes[code.text] = code
            if seen is None or now - seen > self.forget_after:
                try:
                    self.on_code(code)
                except Exception:
                    log.exception("barcode listener failed")
        for text, seen in list(self._in_view.items()):
            if now - seen > self.forget_after:
                del self._in_view[text]
        if likeness is not None and self.on_guidance is not None:
            size, sharp = likeness
            if size > BAR_LIKE:
                self.on_guidance(min(1.0, 0.5 * size + 0.5 * size * sharp + 0.2))
        return codes

    def _run(self) -> None:
        last = -1
        while not self._stop.wait(self.period):
            try:
                frame, seq = self.latest()
                if frame is None or seq == last:
                    continue
                last = seq
                appearance = self.showing(seq) if self.showing is not None else None
                if appearance is not None and appearance != self._appearance:
                    if self._appearance is not None:
                        self.forget()
                    self._appearance = appearance
                self.reading = seq
                self.step(frame)
            except Exception:  # a decoder bug must not end the watch silently
                log.exception("barcode watch failed on a frame")


def words_for_code(code: Code, entry, language: str) -> tuple[str, str]:
    """(message id, words) for a code: a taught one by its name, an unknown one digit by digit
    ("Barcode 7 3 1 0 ..., not in your list"), a QR code's text as it is (shortened)."""
    from assistant.catalog import phrase
    if entry is not None:
        return "barcode", phrase("barcode", language, name=entry.name(language))
    digits = " ".join(code.text) if code.retail else code.text[:80]
    return "barcode_unknown", phrase("barcode_unknown", language, digits=digits)


class SpokenBarcodes:
    """The barcode part of the running assistant (assistant.live.pipeline): while reading is on
    and the assistant runs, a BarcodeWatch over its newest frame; each code coming into view is
    said at once (NOW: ahead of the classifier's guess), recorded, and announced as the event
    "barcode" {"code", "format", "id", "words", "time"}; guidance goes to the ticks.

    names(code) -> the user's entry for it (with .name(language)) or None: the barcode list;
    record(id, words, item) -> time, and emit(name, payload): the assistant's own."""

    def __init__(self, speaker, settings, names: Callable[[str], object] | None, ticker,
                 record: Callable[[str, str, str | None], float],
                 emit: Callable[[str, dict], None]) -> None:
        self.speaker, self.settings, self.ticker = speaker, settings, ticker
        self.names = names or (lambda code: None)
        self._record, self._emit = record, emit
        self.watch: BarcodeWatch | None = None
        #: (newest(), showing(seq), item(seq)) of the assistant, since its first start()
        self._frames: tuple[Callable, Callable, Callable] | None = None
        self._running = False

    def start(self, newest: Callable, showing: Callable, item: Callable) -> None:
        """The assistant runs: read codes when the settings say so."""
        self._frames, self._running = (newest, showing, item), True
        self.set(self.settings.barcodes)

    def stop(self) -> None:
        """The assistant stops (the last watch stays, with its figures)."""
        self._running = False
        if self.watch is not None:
            self.watch.stop()

    def set(self, on: bool) -> None:
        """Read barcodes in view (its own thread: recognition never waits for it), or stop
        reading them; takes effect while running, and at start()."""
        self.settings.barcodes = bool(on)
        frames = self._frames
        if on and self.watch is None and self._running and frames is not None:
            self.watch = BarcodeWatch(frames[0], self.say, self._guide, showing=frames[1])
            self.watch.start()
        elif not on and self.watch is not None:
            self.watch.stop()
            self.watch = None

    def say(self, code: Code) -> None:
        """A code came into view: said at once, ahead of the classifier's guess."""
        language = self.settings.language
        ident, words = words_for_code(code, self.names(code.text), language)
        self.speaker.say(words, language, Priority.NOW, kind="barcode")
        watch, frames = self.watch, self._frames
        item = frames[2](watch.reading) if watch is not None and frames is not None else None
        when = self._record(ident, words, item)  # the photo the code was read in
        self._emit("barcode", {"code": code.text, "format": code.format, "id": ident,
                               "words": words, "time": when})

    def name_taught_code(self) -> bool:
        """"Identify now" with a taught barcode in view: its name, the exact product, rather
        than the classifier's guess of a kind. False when no taught code is in view."""
        watch = self.watch
        for code in watch.in_view() if watch is not None else []:
            if self.names(code.text) is not None:
                self.say(code)
                return True
        return False

    def _guide(self, level: float) -> None:
        if self.ticker is not None and self.settings.barcode_ticks:
            self.ticker.guide(level)
