"""The service's one model thread: photos that arrive while it works are answered together,
and a request beyond the queue's bound is refused (Busy: the 503) instead of waiting."""
from __future__ import annotations

import logging
import queue
import threading
from concurrent.futures import Future

log = logging.getLogger("assistant.api")


class Busy(Exception):
    """More photos wait than the service accepts; the client should retry shortly."""


class Batcher:
    """One model thread; photos that arrive while it works are answered together."""

    def __init__(self, classifier, max_batch: int = 16, max_pending: int = 64) -> None:
        self.classifier = classifier
        self.max_batch = max(1, max_batch)
        self.max_pending = max_pending
        self._queue: queue.Queue = queue.Queue()
        self._thread = threading.Thread(target=self._loop, name="model", daemon=True)
        self._thread.start()

    def submit(self, chw) -> Future:
        if self._queue.qsize() >= self.max_pending:
            raise Busy
        future: Future = Future()
        self._queue.put((chw, future))
        return future

    @property
    def pending(self) -> int:
        return self._queue.qsize()

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=10)

    def _loop(self) -> None:
        import numpy as np
        n_classes = len(self.classifier.class_ids)
        while True:
            item = self._queue.get()
            if item is None:
                return
            items = [item]
            while len(items) < self.max_batch:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    self._queue.put(None)
                    break
                items.append(nxt)
            try:
                batch = self.classifier.preprocessing.normalize_array(np.stack([a for a, _ in items]))
                preds = self.classifier.predict_array(batch, k=n_classes)
            except Exception as exc:  # reaches every waiting request as a 500, logged
                log.exception("model failed on a batch of %d", len(items))
                for _, future in items:
                    future.set_exception(exc)
                continue
            for (_, future), pred in zip(items, preds, strict=True):
                future.set_result(pred)
