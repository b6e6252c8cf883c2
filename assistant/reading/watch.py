"""The label words of the pack in view, in their own thread: every `period` seconds the newest
frame is read (at lowered priority) and matched against the model's label words; recognition
fuses the latest matches into each answer (fuse_prediction), so it never waits for the text
engine and a product whose words are on the pack is named over its look-alikes. No Qt."""
from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable

import numpy as np

from assistant.inference.prediction import Prediction
from assistant.reading.labels import LabelWords, fuse, match

log = logging.getLogger(__name__)

#: how many of the classifier's candidates the text may reorder (a pack's words rarely name a
#: product the classifier ranks lower than this)
FUSE_K = 10
#: candidates kept after the fusion (what the announcer reads)
KEEP_K = 3


def fuse_prediction(prediction: Prediction, matches: dict[str, float]) -> Prediction:
    """The prediction with the label words read fused in (labels.fuse over its candidates,
    whose share of the probability is kept); unchanged when nothing matched."""
    if not matches or not any(matches.get(c, 0.0) > 0 for c, _ in prediction.top):
        return Prediction(prediction.top[:KEEP_K], prediction.lookalike)
    mass = sum(p for _, p in prediction.top)
    fused = fuse(dict(prediction.top), matches)
    top = sorted(((c, p * mass) for c, p in fused.items()), key=lambda cp: -cp[1])[:KEEP_K]
    # a known look-alike pair is still worth saying when the text left the two in place
    same = [c for c, _ in top[:2]] == [c for c, _ in prediction.top[:2]]
    return Prediction(top, prediction.lookalike if same else None)


class LabelWatch:
    """reader: a LabelReader of its own (not the read key's: one reading at a time each);
    words: the model's label words. start(latest, showing) reads latest() -> (frame, seq)
    every period seconds; fuse(prediction, showing) uses what was read in the last
    forget_after seconds of the same appearance (a photo of a folder)."""

    def __init__(self, reader, words: LabelWords, period: float = 1.0,
                 forget_after: float = 3.0) -> None:
        self.reader, self.words = reader, words
        self.period, self.forget_after = period, forget_after
        self.k = FUSE_K
        self.read_ms: deque[float] = deque(maxlen=200)
        self.frames_read = 0
        self.failed: str | None = None  # why the engine cannot read
        #: told once why, from the watch's thread, when the engine fails (the owner says it)
        self.on_failure: Callable[[str], None] | None = None
        self._latest: tuple[dict[str, float], float, object] = ({}, -1e9, None)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, latest: Callable[[], tuple[np.ndarray | None, int]],
              showing: Callable[[int], object] | None = None) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, args=(latest, showing),
                                            name="label-words", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)
        self._thread = None

    def step(self, frame: np.ndarray, appearance: object = None,
             now: float | None = None) -> dict[str, float]:
        """Read one frame and keep its matches (called by the thread, or by tests)."""
        t0 = time.perf_counter()
        lines = self.reader.read(frame).lines
        self.read_ms.append((time.perf_counter() - t0) * 1000.0)
        self.frames_read += 1
        found = {c: m for c, m in match(lines, self.words).items() if m > 0}
        self._latest = (found, time.monotonic() if now is None else now, appearance)
        return found

    def matches(self, appearance: object = None, now: float | None = None) -> dict[str, float]:
        """What the last reading matched, when it is recent and of the same appearance."""
        found, when, seen = self._latest
        now = time.monotonic() if now is None else now
        if now - when > self.forget_after or seen != appearance:
            return {}
        return found

    def fuse(self, prediction: Prediction, appearance: object = None,
             now: float | None = None) -> Prediction:
        return fuse_prediction(prediction, self.matches(appearance, now))

    def _run(self, latest, showing) -> None:
        _lower_priority()
        last = -1
        while not self._stop.wait(self.period):
            frame, seq = latest()
            if frame is None or seq == last:
                continue
            last = seq
            try:
                self.step(frame, showing(seq) if showing is not None else None)
            except Exception as exc:  # no engine, a damaged model file: stop reading, say why
                self.failed = f"{type(exc).__name__}: {exc}"
                log.error("label words: the text engine failed: %s", self.failed)
                if self.on_failure is not None:
                    self.on_failure(self.failed)
                return


def _lower_priority() -> None:
    """Recognition comes first: on Linux a thread has a niceness of its own."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
    except (AttributeError, OSError):  # not Linux, or not allowed: run at the same priority
        pass


def open_watch(meta: dict | None, engine_name: str = "auto") -> LabelWatch | None:
    """A LabelWatch for a model's metadata: None when it has no label words, or when no text
    engine can be had (the read key says why when it is pressed)."""
    from assistant.reading.engine import OcrUnavailable, RapidOcrEngine, open_engine
    from assistant.reading.reader import LabelReader, labels_of
    words, names = labels_of(meta)
    if words is None or not any(words.words.values()):
        return None
    try:
        engine = open_engine(engine_name)
    except OcrUnavailable as exc:
        log.warning("label words not read while recognising: %s", exc)
        return None
    if isinstance(engine, RapidOcrEngine):
        engine.threads = 1  # one core for the text; the others stay recognition's
    return LabelWatch(LabelReader(engine, words, names), words)
