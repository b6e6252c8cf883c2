"""The documented 503: when more photos wait than the service accepts, a request is answered
"busy" at once (never queued without end), and the service answers again once the model is free."""
from __future__ import annotations

import io
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
from PIL import Image

from tests.conftest import make_photo, serve_in_thread


class GatedClassifier:
    """A real classifier whose model thread waits for `gate` before each batch."""

    def __init__(self, inner) -> None:
        self.inner, self.gate, self.entered = inner, threading.Event(), threading.Event()
        self.class_ids, self.preprocessing = inner.class_ids, inner.preprocessing
        self.checkpoint, self.backend, self.path = inner.checkpoint, "torch", inner.path

    def name(self, class_id, language="en"):
        return self.inner.name(class_id, language)

    def predict_array(self, batch, k=3):
        self.entered.set()
        assert self.gate.wait(60), "the test never opened the gate"
        return self.inner.predict_array(batch, k)


def test_more_photos_waiting_than_allowed_get_503_then_the_service_recovers(tiny_checkpoint):
    from assistant.api import create_app
    from assistant.inference.classifier import Classifier
    clf = GatedClassifier(Classifier(tiny_checkpoint, device="cpu"))
    clf.gate.set()                       # the service's own warm-up pass goes through
    app = create_app(clf, max_batch=1, max_pending=2)
    clf.gate.clear()
    clf.entered.clear()
    buf = io.BytesIO()
    Image.fromarray(make_photo((200, 30, 30))).save(buf, "JPEG")
    photo = buf.getvalue()
    with serve_in_thread(app) as base:

        def post():
            with httpx.Client(base_url=base, timeout=60) as c:
                return c.post("/api/predict", content=photo, headers={"Content-Type": "image/jpeg"})

        try:
            with ThreadPoolExecutor(3) as pool:
                first = pool.submit(post)
                assert clf.entered.wait(30)          # the model thread holds photo 1
                waiting = [pool.submit(post), pool.submit(post)]
                deadline = time.monotonic() + 30
                with httpx.Client(base_url=base, timeout=30) as c:
                    while c.get("/api/health").json()["pending"] < 2 and time.monotonic() < deadline:
                        time.sleep(0.02)
                    assert c.get("/api/health").json()["pending"] == 2  # the queue is full
                busy = post()
                assert busy.status_code == 503 and "busy" in busy.json()["error"]
                clf.gate.set()
                assert [f.result().status_code for f in [first, *waiting]] == [200, 200, 200]
            assert post().status_code == 200
        finally:
            clf.gate.set()
