"""The service against slow, greedy and foreign clients: deadlines for the request head and the
whole body, the cap on open connections, the limit on decoded bytes, the token and the Host
allow-list. Each server runs in a thread with the settings `serve` uses (assistant.service.server),
some made tight so that a test takes seconds."""
from __future__ import annotations

import io
import socket

import httpx
import numpy as np
import pytest
from PIL import Image

from tests.e2e.test_api import jpeg, make_checkpoint
from tests.helpers import serve_in_thread


@pytest.fixture(scope="module")
def classifier(tmp_path_factory):
    from assistant.inference.classifier import Classifier
    return Classifier(make_checkpoint(tmp_path_factory.mktemp("model")), device="cpu")


def port_of(base: str) -> int:
    return int(base.rsplit(":", 1)[1])


def read_until_closed(s: socket.socket, limit_s: float = 60) -> bytes:
    """Everything the server sends until it closes the connection (limit_s: only a safety net
    against a server that never answers)."""
    reply = b""
    s.settimeout(limit_s)
    try:
        while chunk := s.recv(4096):
            reply += chunk
    except TimeoutError:
        pass
    except ConnectionResetError:  # closed with the client's bytes unread: the kernel resets, not
        pass                      # ends, the connection (what came before it is in reply)
    return reply


def trickle(s: socket.socket, most: int) -> tuple[bytes, int]:
    """Send one byte, then wait a moment for an answer, again and again, at most `most` bytes;
    (what the server said, how many bytes had been sent when it did). Each byte arrives long
    before any per-chunk timeout; only a deadline for the whole can stop it before the end."""
    s.settimeout(0.1)                 # the pace of the trickle, not a bound of the test
    sent = 0
    while sent < most:
        try:
            s.sendall(b"a")
        except OSError:               # closed by the server
            break
        sent += 1
        try:
            chunk = s.recv(4096)
        except TimeoutError:
            continue
        if chunk:
            return chunk + read_until_closed(s), sent
        break
    return read_until_closed(s), sent


@pytest.mark.fault("a header line never finished, or a silent connection: 408 within the head deadline")
def test_a_request_head_never_finished_gets_408_and_is_closed(classifier):
    """A byte of a header every 0.1 s keeps the head unfinished: the 408 comes while the client
    is still sending (if each byte restarted the clock, it would come only after the last)."""
    from assistant.service.app import create_app
    with serve_in_thread(create_app(classifier), head_timeout=1.0) as base:
        with socket.create_connection(("127.0.0.1", port_of(base)), timeout=10) as s:
            s.sendall(b"GET /api/health HTTP/1.1\r\nHost: localhost\r\nX-Slow: ")
            reply, sent = trickle(s, most=600)
        assert reply.startswith(b"HTTP/1.1 408"), reply
        assert b"took too long" in reply and sent < 600
        with socket.create_connection(("127.0.0.1", port_of(base)), timeout=10) as s:  # says nothing
            reply = read_until_closed(s)
        assert reply.startswith(b"HTTP/1.1 408"), reply
        assert httpx.get(base + "/api/health", timeout=10).status_code == 200  # the rest still works


@pytest.mark.fault("a body trickled a byte at a time: 408 at the body deadline")
def test_a_body_trickled_within_each_chunk_timeout_is_cut_at_the_body_deadline(classifier):
    """Each byte comes far within the chunk timeout (60 s): the 408 at the 1 s body deadline
    comes while the client is still sending."""
    from assistant.service.app import create_app
    app = create_app(classifier, read_timeout=60.0, body_deadline=1.0)
    with serve_in_thread(app) as base, socket.create_connection(("127.0.0.1", port_of(base))) as s:
        s.sendall(b"POST /api/predict HTTP/1.1\r\nHost: localhost\r\nContent-Type: image/jpeg\r\n"
                  b"Content-Length: 5000\r\n\r\n\xff\xd8\xff")
        reply, sent = trickle(s, most=600)
    assert b" 408 " in reply.split(b"\r\n", 1)[0], reply
    assert b"took too long" in reply and sent < 600


@pytest.mark.fault("more open connections than the cap: 503 at once")
def test_more_connections_than_the_cap_get_503(classifier):
    from assistant.service.app import create_app
    with serve_in_thread(create_app(classifier), max_connections=3) as base:
        idle = [socket.create_connection(("127.0.0.1", port_of(base))) for _ in range(3)]
        try:  # once the server has taken the three in, a fourth is turned away
            assert health_until(base, 503) == 503
        finally:
            for s in idle:
                s.close()
        assert health_until(base, 200) == 200  # and once they are gone, it answers again


def health_until(base: str, wanted: int, tries: int = 200) -> int:
    """GET /api/health until it answers `wanted` (the server takes connections in and lets
    them go in its own thread); the last status."""
    for _ in range(tries):
        status = httpx.get(base + "/api/health", timeout=10).status_code
        if status == wanted:
            break
    return status


@pytest.mark.fault("a small PNG that decodes huge: 422 by decoded size")
def test_a_small_file_that_decodes_huge_is_refused_by_its_decoded_size(classifier):
    from assistant.service.app import create_app
    buf = io.BytesIO()  # 2,100 x 2,100 RGBA: 4.4 megapixels (under the pixel limit), 17 MB decoded
    Image.fromarray(np.zeros((2100, 2100, 4), np.uint8)).save(buf, "PNG")
    assert len(buf.getvalue()) < 100_000
    app = create_app(classifier, max_decoded=16 * 2**20)
    with serve_in_thread(app) as base, httpx.Client(base_url=base, timeout=30) as c:
        answer = c.post("/api/predict", files={"file": ("big.png", buf.getvalue(), "image/png")})
        assert answer.status_code == 422
        assert "too large to decode" in answer.json()["error"] and "16 MB" in answer.json()["error"]
        ok = c.post("/api/predict", files={"file": ("ok.jpg", jpeg(size=200), "image/jpeg")})
        assert ok.status_code == 200


@pytest.mark.fault("with --token: 401 without it, 200 with it")
def test_with_a_token_the_api_answers_only_those_who_send_it(classifier):
    from assistant.service.app import create_app
    with serve_in_thread(create_app(classifier, token="s3cret")) as base, \
            httpx.Client(base_url=base, timeout=30) as c:
        refused = c.get("/api/health")
        assert refused.status_code == 401 and "token" in refused.json()["error"]
        assert c.get("/api/health", headers={"Authorization": "Bearer wrong"}).status_code == 401
        good = {"Authorization": "Bearer s3cret"}
        assert c.get("/api/health", headers=good).status_code == 200
        answer = c.post("/api/predict", headers=good,
                        files={"file": ("p.jpg", jpeg(size=120), "image/jpeg")})
        assert answer.status_code == 200 and answer.json()["class"]
        assert c.get("/docs").status_code == 200  # the documentation stays readable


@pytest.mark.fault("a foreign Host header (DNS rebinding): 400")
def test_a_foreign_host_name_is_refused_against_dns_rebinding(classifier):
    from assistant.service.app import create_app
    from assistant.service.guard import allowed_hosts
    with serve_in_thread(create_app(classifier, allowed_hosts=sorted(allowed_hosts("127.0.0.1")))) as base, \
            httpx.Client(base_url=base, timeout=30) as c:
        assert c.get("/api/health").status_code == 200                       # 127.0.0.1:port
        assert c.get("/api/health", headers={"Host": "localhost:8000"}).status_code == 200
        evil = c.get("/api/health", headers={"Host": "attacker.example:8000"})
        assert evil.status_code == 400 and "attacker.example" in evil.json()["error"]


def test_every_interface_allows_this_machines_names_and_the_ones_given():
    from assistant.service.guard import allowed_hosts, host_name
    names = allowed_hosts("0.0.0.0", ["shop-server.lan:8000"])
    assert {"localhost", "127.0.0.1", socket.gethostname().lower(), "shop-server.lan"} <= names
    assert "attacker.example" not in names
    assert host_name("[::1]:8000") == "::1" and host_name("Example.COM") == "example.com"


@pytest.mark.fault("serve --max-body-mb 0 (or negative, nan): refused in one line, the limits never lifted")
@pytest.mark.parametrize("flag", ["--max-body-mb", "--max-megapixels", "--max-decoded-mb"])
@pytest.mark.parametrize("value", ["0", "-1", "nan", "inf"])
def test_a_limit_of_zero_is_refused_instead_of_lifting_the_limits(flag, value, capsys, classifier):
    from assistant.cli import build_parser
    from assistant.service.app import create_app
    with pytest.raises(SystemExit) as done:  # parsed only: a limit let through would not start a server
        build_parser("serve").parse_args(["serve", flag, value])
    assert done.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert flag in err and "more than 0" in err
    with pytest.raises(ValueError, match="max_body"):
        create_app(classifier, max_body=0)


@pytest.mark.fault("two Host headers (the second a stranger's): 400 in the app itself, as h11 does "
                   "locally, so Ray's proxy cannot let the second one through")
def test_a_second_host_header_is_refused_by_the_app_itself():
    import asyncio

    from assistant.service.guard import Guard

    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    def status(headers) -> int:
        sent = []

        async def receive():
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message):
            sent.append(message)
        scope = {"type": "http", "path": "/api/health", "headers": headers}
        asyncio.run(Guard(app, {"localhost"})(scope, receive, send))
        return sent[0]["status"]

    assert status([(b"host", b"localhost:8000")]) == 200
    assert status([(b"host", b"localhost:8000"), (b"host", b"attacker.example")]) == 400
    assert status([(b"host", b"attacker.example"), (b"host", b"localhost:8000")]) == 400
