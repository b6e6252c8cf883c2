"""The parts of the Ray engine that need no Ray: the engine flags' mistakes, the address check,
the bound of AsyncBatcher (what @serve.batch answers through) and ProxyAnswers (what Ray's
proxy runs: a request sent again when its replica died, Ray's refusals in the service's JSON)."""
from __future__ import annotations

import asyncio
import json
import socket
import time

import pytest

from assistant.cli import main
from assistant.engines import probe
from assistant.errors import UserError
from assistant.service.batcher import AsyncBatcher, Busy
from assistant.service.ray_proxy import ProxyAnswers


@pytest.mark.parametrize("args, words", [
    (["classify", ".", "--address", "127.0.0.1:6379"], "--address is for --engine ray"),
    (["serve", "--replicas", "2"], "--replicas is for --engine ray"),
    (["serve", "--engine", "ray", "--workers", "2"], "--workers is for the local engine"),
    (["serve", "--engine", "ray", "--replicas", "0"], "--replicas must be at least 1"),
])
def test_a_flag_of_the_other_engine_is_one_clear_line(args, words, capsys):
    assert main(args) == 1
    err = capsys.readouterr().err
    assert words in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_an_address_where_nothing_listens_is_said_at_once():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    start = time.monotonic()
    with pytest.raises(UserError, match=f"no Ray cluster answers at 127.0.0.1:{port}"):
        probe(f"127.0.0.1:{port}")
    assert time.monotonic() - start < 5
    with pytest.raises(UserError, match="not host:port"):
        probe("head-node")
    probe("auto")  # left to Ray: the cluster this machine is part of


def test_async_batcher_bounds_the_photos_waiting_and_answers_each():
    async def scenario():
        gate, seen = asyncio.Event(), []

        async def batched(chw):
            seen.append(chw)
            await gate.wait()
            return f"answer to {chw}"

        batcher = AsyncBatcher(batched, classifier=None, max_pending=2)
        first, second = (asyncio.ensure_future(batcher.infer(n)) for n in (1, 2))
        await asyncio.sleep(0.01)
        assert batcher.pending == 2
        with pytest.raises(Busy):
            await batcher.infer(3)
        gate.set()
        assert await first == "answer to 1" and await second == "answer to 2"
        assert batcher.pending == 0 and seen == [1, 2]
        assert await batcher.infer(4) == "answer to 4"  # room again
    asyncio.run(scenario())


# ------------------------------------------------------------------------------ ProxyAnswers

def call(app, path: str = "/api/predict", body: bytes = b"photo bytes") -> tuple[int, dict, bytes]:
    """One request through an ASGI app: (status, headers, body) of the answer."""
    sent, incoming = [], [{"type": "http.request", "body": body, "more_body": False}]

    async def receive():
        if incoming:
            return incoming.pop(0)
        await asyncio.sleep(3600)  # the client stays connected

    async def send(message):
        sent.append(message)

    asyncio.run(app({"type": "http", "method": "POST", "path": path, "headers": []}, receive, send))
    start = next(m for m in sent if m["type"] == "http.response.start")
    return (start["status"], dict(start["headers"]),
            b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body"))


class Replicas:
    """Ray's proxy's route to the replicas, scripted: each call does the next thing in plan
    ("lost": no answer at all, "crash": an exception, or (status, content type))."""

    def __init__(self, *plan) -> None:
        self.plan, self.bodies = list(plan), []

    async def __call__(self, scope, receive, send):
        message = await receive()
        self.bodies.append(message["body"])
        step = self.plan.pop(0)
        if step == "lost":
            return
        if step == "crash":
            raise ConnectionError("the replica's actor died")
        status, kind = step
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", kind)]})
        await send({"type": "http.response.body", "body": b"from a replica"})


@pytest.mark.parametrize("first", ["lost", "crash", (500, b"text/plain; charset=utf-8")])
def test_a_request_whose_replica_died_is_sent_again(first):
    replicas = Replicas(first, (200, b"application/json"))
    status, _, body = call(ProxyAnswers(replicas), body=b"the photo")
    assert (status, body) == (200, b"from a replica")
    assert replicas.bodies == [b"the photo", b"the photo"]  # the whole body, both times


def test_a_second_loss_is_the_services_503_not_a_bare_500():
    replicas = Replicas("lost", "lost", (200, b"application/json"))
    status, headers, body = call(ProxyAnswers(replicas))
    assert status == 503 and headers[b"content-type"] == b"application/json"
    assert json.loads(body) == {"status": 503, "error": "a copy of the service stopped while "
                                                         "answering; try again in a moment"}
    assert len(replicas.bodies) == 2  # sent once more, not without end


@pytest.mark.parametrize("status, words", [(503, "busy"), (408, "too long")])
def test_rays_own_refusals_get_the_services_json(status, words):
    replicas = Replicas((status, b"text/plain"))
    got, headers, body = call(ProxyAnswers(replicas))
    assert got == status and words in json.loads(body)["error"]
    assert len(replicas.bodies) == 1  # a busy service is not asked twice


def test_the_services_own_answers_pass_unchanged():
    for status in (200, 503, 500, 422):
        replicas = Replicas((status, b"application/json"))
        assert call(ProxyAnswers(replicas)) == (status, {b"content-type": b"application/json"},
                                                b"from a replica")
    outside = Replicas((500, b"text/plain"))  # Ray's own routes, outside /api/, are left alone
    assert call(ProxyAnswers(outside), path="/-/healthz")[0] == 500


class FakeRay:
    """What ray_cluster asks of Ray, recorded (Ray itself is an optional extra)."""

    def __init__(self) -> None:
        self.inits: list[dict] = []

    def is_initialized(self) -> bool:
        return False

    def init(self, **kwargs) -> None:
        self.inits.append(kwargs)

    def shutdown(self) -> None:
        pass


@pytest.mark.fault("serve/classify --engine ray without --address: Ray's own cluster is asked to "
                   "bind the loopback address only, dashboard off")
def test_a_cluster_of_this_machine_alone_is_asked_to_stay_on_loopback(monkeypatch):
    from assistant import engines
    fake = FakeRay()
    monkeypatch.setattr(engines, "import_ray", lambda local: fake)
    monkeypatch.setattr(engines, "probe", lambda address: None)
    with engines.ray_cluster(None):
        pass
    assert fake.inits[0]["_node_ip_address"] == "127.0.0.1"
    assert fake.inits[0]["include_dashboard"] is False and fake.inits[0]["address"] is None
    with engines.ray_cluster("10.0.0.5:6379"):  # a cluster the user joins keeps its own addresses
        pass
    assert "_node_ip_address" not in fake.inits[1]
