"""The HTTP service as a client sees it: `main.py serve` in a subprocess on a free loopback
port, spoken to over HTTP with httpx; one more server in a thread with tight limits."""
from __future__ import annotations

import base64
import io
import os
import re
import socket
import struct
import subprocess
import sys
import threading
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image

from tests.helpers import make_photo, serve_in_thread

ROOT = Path(__file__).resolve().parents[2]
COLORS = {"red_sauce": (200, 30, 30), "green_tea": (30, 170, 60), "blue_milk": (40, 60, 200)}


def jpeg(color=(200, 30, 30), seed=0, size=96) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(make_photo(color, size=size, seed=seed)).save(buf, "JPEG", quality=92)
    return buf.getvalue()


def png_bomb(side: int = 20000) -> bytes:
    """A valid 1-bit PNG of side x side pixels: 48 KB on the wire, 1.2 GB once decoded to RGB."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    raw = (b"\0" * (side // 8 + 1)) * side
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def make_checkpoint(folder: Path) -> Path:
    """The same tiny model as conftest's tiny_checkpoint, built once for the module's server."""
    import torch

    from assistant.inference.architectures import build_model
    from assistant.inference.checkpoint import make_classes, save_checkpoint
    from assistant.inference.vision import Preprocessing
    torch.manual_seed(0)
    ids = ["blue_milk", "green_tea", "red_sauce"]
    meta = {"architecture": "resnet18", "version": "test-7",
            "classes": make_classes(ids, {"red_sauce": {"en": "tomato sauce", "es": "salsa de tomate"}}),
            "preprocessing": Preprocessing(size=64).to_dict()}
    return save_checkpoint(folder / "tiny.safetensors", build_model("resnet18", len(ids)).state_dict(), meta)


@pytest.fixture(scope="module")
def model_file(tmp_path_factory) -> Path:
    """The tiny model with its fp32 ONNX file beside it (exported here, where torch is loaded):
    the server starts without an export child of its own (~4 CPU-s: torch's import, then the
    export; tests/e2e/test_export.py tests it)."""
    from assistant.inference.export import ensure_onnx
    from assistant.inference.onnx_files import ONNX_FOLDER
    made = make_checkpoint(tmp_path_factory.mktemp("model"))
    with pytest.MonkeyPatch.context() as mp:  # not into the first test's home
        mp.setenv("GROCERY_ASSISTANT_HOME", str(made.parent / "home"))
        ensure_onnx(made, folder=made.parent / ONNX_FOLDER)
    return made


@pytest.fixture(scope="module")
def server(model_file, tmp_path_factory):
    """`python main.py serve --port 0` (the OS picks a free port; the log line names it)."""
    env = dict(os.environ, GROCERY_ASSISTANT_HOME=str(tmp_path_factory.mktemp("home")))
    proc = subprocess.Popen([sys.executable, str(ROOT / "main.py"), "serve", "--host", "127.0.0.1",
                             "--port", "0", "--model", str(model_file), "--threads", "1"],
                            cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True)
    lines, url = [], None
    deadline = time.monotonic() + 120
    while url is None and time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line and proc.poll() is not None:
            break
        lines.append(line)
        match = re.search(r"Uvicorn running on (http://127\.0\.0\.1:\d+)", line)
        url = match.group(1) if match else None
    if url is None:
        proc.kill()
        pytest.fail("the server did not start:\n" + "".join(lines))
    threading.Thread(target=proc.stderr.read, daemon=True).start()  # keep the pipe drained
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail("the server did not stop on SIGTERM")


@pytest.fixture(scope="module")
def client(server):
    with httpx.Client(base_url=server, timeout=60) as c:
        yield c


def predict(client, data: bytes, **params) -> httpx.Response:
    return client.post("/api/predict", files={"file": ("photo.jpg", data, "image/jpeg")}, params=params)


def check_error(response: httpx.Response, status: int, words: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert words in response.json()["error"], response.json()


# ------------------------------------------------------------------------------ answers

def test_multipart_answer_names_product_scores_and_model(client, model_file):
    from assistant.inference.classifier import Classifier
    from assistant.inference.vision import load_image
    data = jpeg(COLORS["red_sauce"], seed=3)
    r = predict(client, data)
    assert r.status_code == 200, r.text
    body = r.json()
    local = Classifier(model_file, device="cpu").predict(load_image(data), k=3)
    assert body["class"] == local.label == body["top"][0]["class"]
    assert body["score"] == pytest.approx(local.score, abs=2e-3)
    assert [c["class"] for c in body["top"]] == [c for c, _ in local.top]
    scores = [c["score"] for c in body["top"]]
    assert scores == sorted(scores, reverse=True) and 0 < scores[0] <= 1
    assert sum(scores) == pytest.approx(1.0, abs=1e-3)  # 3 classes: top-3 is all of them
    assert body["model_version"] == "test-7"
    named = {c["class"]: c["names"] for c in body["top"]}
    assert named["red_sauce"] == {"en": "tomato sauce", "es": "salsa de tomate"}
    assert named["green_tea"] == {"en": "green tea", "es": "green tea"}
    assert body["names"] == named[body["class"]]


def test_the_2020_base64_form_still_answers(client):
    data = jpeg(COLORS["green_tea"], seed=5)
    new = predict(client, data).json()
    encoded = base64.b64encode(data)
    wrapped = base64.encodebytes(data)  # line breaks every 76 characters, as old tools write it
    data_url = b"data:image/jpeg;base64," + encoded
    for body in (encoded, wrapped, data_url):
        r = client.post("/api/predict/", content=body, headers={"Content-Type": "application/image"})
        assert r.status_code == 200, r.text
        old = r.json()
        assert (old["class"], old["score"]) == (new["class"], new["score"])
        assert old["top"] == new["top"] and old["names"] == new["names"]


def test_raw_image_body_is_accepted(client):
    data = jpeg(COLORS["blue_milk"], seed=1)
    r = client.post("/api/predict", content=data, headers={"Content-Type": "image/jpeg"})
    assert r.status_code == 200
    assert r.json()["class"] == predict(client, data).json()["class"]


def test_k_sets_the_number_of_candidates(client):
    data = jpeg()
    assert len(predict(client, data, k=1).json()["top"]) == 1
    assert len(predict(client, data, k=50).json()["top"]) == 3  # only 3 products exist
    check_error(predict(client, data, k=0), 422, "k")
    check_error(predict(client, data, k="many"), 422, "k")


def test_health_classes_docs_and_schema(client):
    health = client.get("/api/health").json()
    assert health["status"] == "ok" and health["classes"] == 3 and health["model"] == "tiny.safetensors"
    classes = client.get("/api/classes").json()
    assert [c["id"] for c in classes["classes"]] == ["blue_milk", "green_tea", "red_sauce"]
    assert classes["classes"][2]["names"]["es"] == "salsa de tomate"
    docs = client.get("/docs")
    assert docs.status_code == 200 and "text/html" in docs.headers["content-type"]
    assert "POST /api/predict" in docs.text and "cdn" not in docs.text.lower()  # works offline
    spec = client.get("/openapi.json").json()
    assert {"/api/predict", "/api/predict/", "/api/health", "/api/classes"} <= set(spec["paths"])
    assert "application/image" in spec["paths"]["/api/predict/"]["post"]["requestBody"]["content"]


# ------------------------------------------------------------------------------ bad input

def test_bad_inputs_get_a_clear_4xx(client):
    photo = jpeg()
    gif = io.BytesIO()
    Image.new("RGB", (32, 32)).save(gif, "GIF")
    cases = [
        (predict(client, b"this is a shopping list, not a photo"), 415, "not a picture"),
        (predict(client, photo[: len(photo) // 2]), 422, "damaged"),
        (predict(client, b""), 400, "empty"),
        (predict(client, gif.getvalue()), 415, "GIF"),
        (client.post("/api/predict", content=b""), 400, "empty"),
        (client.post("/api/predict", content=photo, headers={"Content-Type": "text/plain"}), 415,
         "Content-Type"),
        (client.post("/api/predict", files={"note": (None, "no file here")}), 400, "no file"),
        (client.post("/api/predict", data={"note": "a form, not a photo"}), 415, "Content-Type"),
        (client.post("/api/predict/", content=b"%%% not base64 %%%",
                     headers={"Content-Type": "application/image"}), 400, "base64"),
        (client.post("/api/predict/", content=base64.b64encode(b"hello"),
                     headers={"Content-Type": "application/image"}), 415, "not a picture"),
        (client.get("/api/nothing"), 404, "Not Found"),
        (client.delete("/api/predict"), 405, "Method Not Allowed"),
    ]
    for response, status, words in cases:
        check_error(response, status, words)


def test_png_bomb_is_refused_without_decoding(client):
    bomb = png_bomb()
    assert len(bomb) < 100_000
    start = time.monotonic()
    check_error(predict(client, bomb), 422, "too many pixels")
    check_error(client.post("/api/predict/", content=base64.b64encode(bomb),
                            headers={"Content-Type": "application/image"}), 422, "too many pixels")
    assert time.monotonic() - start < 10  # refused from the header, never decoded
    assert predict(client, jpeg()).status_code == 200


def test_oversized_body_is_refused(client):
    big = os.urandom(11 * 2**20)  # the default limit is 10 MiB
    check_error(predict(client, big), 413, "larger than 10 MiB")

    def chunks():  # no Content-Length: the limit must hold while reading
        for _ in range(11):
            yield os.urandom(2**20)
    check_error(client.post("/api/predict", content=chunks(), headers={"Content-Type": "image/jpeg"}),
                413, "larger than")
    assert client.get("/api/health").status_code == 200


# ------------------------------------------------------------------------------ concurrency

def test_concurrent_requests_get_their_own_answers(client, server):
    photos = [jpeg(color, seed=seed) for seed in range(6) for color in COLORS.values()]
    alone = [predict(client, p).json() for p in photos]

    def ask(i: int) -> dict:
        with httpx.Client(base_url=server, timeout=120) as c:
            return predict(c, photos[i % len(photos)]).json()

    with ThreadPoolExecutor(16) as pool:
        together = list(pool.map(ask, range(48)))
    for i, answer in enumerate(together):
        expected = alone[i % len(photos)]
        assert answer["class"] == expected["class"]
        assert answer["score"] == pytest.approx(expected["score"], abs=1e-4)
        assert [c["class"] for c in answer["top"]] == [c["class"] for c in expected["top"]]


# ------------------------------------------------------------------------------ tight limits

@pytest.fixture(scope="module")
def strict_server(model_file):
    """create_app with a loaded Classifier and tight limits, served by uvicorn in a thread."""

    from assistant.inference.classifier import Classifier
    from assistant.service.app import create_app
    app = create_app(Classifier(model_file, device="cpu"), max_body=64 * 1024, max_pixels=1_000_000,
                     read_timeout=1.0)
    with serve_in_thread(app) as base:
        yield base


def test_configured_limits_hold(strict_server):
    with httpx.Client(base_url=strict_server, timeout=30) as c:
        assert predict(c, jpeg(size=200)).status_code == 200
        check_error(predict(c, os.urandom(80 * 1024)), 413, "larger than")
        big = io.BytesIO()
        Image.fromarray(np.zeros((1100, 1000, 3), np.uint8)).save(big, "PNG")
        check_error(predict(c, big.getvalue()), 422, "1000x1100")


def test_a_stalled_upload_gets_408_and_frees_the_server(strict_server):
    port = int(strict_server.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(b"POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Type: image/jpeg\r\n"
                  b"Content-Length: 5000\r\n\r\n" + b"\xff\xd8\xff" + b"\0" * 100)
        reply = b""  # then send nothing more, and read until the server closes
        while chunk := s.recv(4096):
            reply += chunk
    reply = reply.decode(errors="replace")
    assert reply.startswith("HTTP/1.1 408") and "too long" in reply
    with httpx.Client(base_url=strict_server, timeout=30) as c:
        assert c.get("/api/health").json()["status"] == "ok"


# ------------------------------------------------------------------------------ fuzzing

def test_schema_driven_fuzzing_finds_no_server_error(server):
    import schemathesis
    from hypothesis import HealthCheck, given, settings
    from schemathesis.checks import not_a_server_error

    @schemathesis.serializer("application/image")
    def _as_bytes(ctx, value):
        return value if isinstance(value, bytes) else str(value).encode()

    schema = schemathesis.openapi.from_url(f"{server}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 4
    for operation in operations:
        @given(case=operation.as_strategy())
        @settings(max_examples=40, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        def fuzz(case):
            response = case.call(base_url=server, timeout=30)
            assert response.status_code < 500, (case.method, case.path, response.text)
            case.validate_response(response, checks=[not_a_server_error])
        fuzz()
