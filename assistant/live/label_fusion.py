"""The label words read on the pack in view, fused into each answer of the running assistant
(assistant.live.pipeline). The watch that reads them (assistant.reading.watch.LabelWatch) is
set by whoever has a text engine: this floor does not read. No Qt."""
from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

from assistant.inference.prediction import Prediction
from assistant.inference.protocol import Classifier


class LabelFusion:
    """.watch: the label watch in use or None; .ms: how long each fusion took (ms)."""

    def __init__(self, on_failure: Callable[[str], None] | None = None) -> None:
        self.on_failure = on_failure  # the watch's engine failed: why (said by the owner)
        self.watch = None
        self.ms: deque[float] = deque(maxlen=200)
        self._frames: tuple[Callable, Callable] | None = None  # (newest(), showing(seq)) while running

    def start(self, newest: Callable, showing: Callable) -> None:
        """The assistant runs: the watch reads its newest frame while recognition goes on."""
        self._frames = (newest, showing)
        if self.watch is not None:
            self.watch.start(newest, showing)

    def stop(self) -> None:
        self._frames = None
        if self.watch is not None:
            self.watch.stop()

    def use(self, watch) -> None:
        """Fuse the words read by watch (None: none) from the next frame on."""
        old, self.watch = self.watch, watch
        if old is not None:
            old.stop()
        if watch is not None:
            watch.on_failure = self.on_failure
        if watch is not None and self._frames is not None:
            watch.start(*self._frames)

    def predict(self, classifier: Classifier, frame, showing: Callable[[], object]) -> Prediction:
        """The classifier's answer, with the label words read on the pack fused in; showing()
        says what the frame shows (the words of another photo are not this one's)."""
        watch = self.watch
        if watch is None:
            return classifier.predict(frame)
        prediction = classifier.predict(frame, watch.k)
        t0 = time.perf_counter()
        prediction = watch.fuse(prediction, showing())
        self.ms.append((time.perf_counter() - t0) * 1000.0)
        return prediction
