"""`POST /api/predict?text=1` adds what was read on the pack; without it the answer is as
before; a service without a text engine says so in a 503 and still names products."""
from __future__ import annotations

import io

import pytest
from PIL import Image

from tests.helpers import make_photo


def jpeg() -> bytes:
    buf = io.BytesIO()
    Image.fromarray(make_photo((200, 30, 30))).save(buf, "JPEG")
    return buf.getvalue()


@pytest.fixture
def client_with(tiny_checkpoint):
    from fastapi.testclient import TestClient

    from assistant.service.app import create_app
    clients = []

    def make(reader):
        client = TestClient(create_app(tiny_checkpoint, reader=reader, max_batch=1))
        clients.append(client.__enter__())
        return client
    yield make
    for client in clients:
        client.__exit__(None, None, None)


def ask(client, **params):
    return client.post("/api/predict", files={"file": ("p.jpg", jpeg(), "image/jpeg")},
                       params=params)


def test_text_1_adds_the_lines_and_dates(client_with):
    from assistant.reading import LabelReader, NullOcrEngine, TextBox
    label = [TextBox("Oatly", 0.9, ((10, 10), (60, 10), (60, 30), (10, 30))),
             TextBox("Bäst före 20.12.2026", 0.9, ((10, 60), (60, 60), (60, 66), (10, 66)))]
    client = client_with(LabelReader(NullOcrEngine(label)))
    body = ask(client, text=1).json()
    assert body["text"] == ["Oatly", "Bäst före 20.12.2026"]
    assert body["dates"] == [{"text": "Bäst före 20.12.2026", "date": "2026-12-20",
                              "kind": "best_before"}]
    assert "class" in body and "top" in body
    plain = ask(client).json()
    assert "text" not in plain and "dates" not in plain and "class" in plain


def test_no_text_engine_is_a_503_and_products_are_still_named(client_with, monkeypatch):
    from assistant.reading import OcrUnavailable
    from assistant.reading import reader as reader_mod

    def missing(name="auto"):
        raise OcrUnavailable("rapidocr-onnxruntime is not installed")
    monkeypatch.setattr(reader_mod, "open_engine", missing)
    client = client_with(None)
    answer = ask(client, text=1)
    assert answer.status_code == 503
    assert "cannot read text: rapidocr-onnxruntime is not installed" in answer.json()["error"]
    assert ask(client).status_code == 200
