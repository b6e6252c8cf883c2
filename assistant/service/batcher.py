"""The service's model batching: photos that arrive while the model works are answered
together, and a request beyond the bound is refused (Busy: the 503) instead of waiting.

Batcher is the local engine's one model thread; AsyncBatcher gives the same bound and answers
to a batching coroutine (Ray Serve's @serve.batch, assistant.service.on_ray). Both answer
`await infer(chw)` with the photo's Prediction; create_app needs nothing else of them."""
from __future__ import annotations

import asyncio
import logging
import queue
import threading
from concurrent.futures import Future

log = logging.getLogger("assistant.service")


class Busy(Exception):
    """More photos wait than the service accepts; the client should retry shortly."""


def predict_chws(classifier, chws: list) -> list:
    """3xSxS uint8 pictures -> one Prediction each (every class ranked), in one model pass."""
    import numpy as np
    batch = classifier.preprocessing.normalize_array(np.stack(chws))
    answers = classifier.predict_array(batch, k=len(classifier.class_ids))
    if len(chws) > 1:
        del batch
        return_memory()  # a burst's batches must not leave the service at its peak for good
    return answers


def return_memory() -> None:
    """Big buffers just freed go back to the system, not kept by malloc for later (glibc)."""
    try:
        import ctypes
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: nothing to do
        pass


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

    async def infer(self, chw):
        return await asyncio.wrap_future(self.submit(chw))

    def warm_up(self, chw) -> None:
        self.submit(chw).result()  # the first pass is slow

    @property
    def pending(self) -> int:
        return self._queue.qsize()

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=10)

    def _loop(self) -> None:
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
                preds = predict_chws(self.classifier, [a for a, _ in items])
            except Exception as exc:  # reaches every waiting request as a 500, logged
                log.exception("model failed on a batch of %d", len(items))
                for _, future in items:
                    future.set_exception(exc)
                continue
            for (_, future), pred in zip(items, preds, strict=True):
                future.set_result(pred)


class AsyncBatcher:
    """`batched(chw)`: a coroutine that answers photos in batches (@serve.batch gathers the
    calls that wait together); this bounds how many photos may wait for it, as Batcher does."""

    def __init__(self, batched, classifier, max_pending: int = 64) -> None:
        self.batched, self.classifier, self.max_pending = batched, classifier, max_pending
        self._pending = 0

    async def infer(self, chw):
        if self._pending >= self.max_pending:
            raise Busy
        self._pending += 1
        try:
            return await self.batched(chw)
        finally:
            self._pending -= 1

    def warm_up(self, chw) -> None:
        predict_chws(self.classifier, [chw])

    @property
    def pending(self) -> int:
        return self._pending

    def close(self) -> None:
        pass  # the coroutine's owner (the Serve replica) ends it
