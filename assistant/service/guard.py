"""What stands between the network and the HTTP service (ASGI middleware, no uvicorn here):
the body limit with a deadline per chunk and for the whole body, a Host allow-list against DNS
rebinding, and an optional token (`Authorization: Bearer ...`). Each refusal is the service's
usual JSON {"error": sentence, "status": code}."""
from __future__ import annotations

import asyncio
import hmac
import ipaddress
import json
import socket
import time

#: bytes a request body may have (`serve --max-body-mb`); the door's limit, so the local
#: app, Ray's proxies and each replica share it
MAX_BODY = 10 * 1024 * 1024
#: seconds one chunk of a body may take, and the whole body (a trickle is cut off)
READ_TIMEOUT_S = 30.0
BODY_DEADLINE_S = 60.0
#: the token's environment variable (the flag --token wins)
TOKEN_ENV = "GROCERY_ASSISTANT_TOKEN"
LOOPBACK = ("127.0.0.1", "localhost", "::1")


class BodyLimit:
    """Reads POST bodies fully (up to max_body, each chunk within read_timeout, the whole body
    within body_deadline) before the app. A too-large body is answered 413 at once when
    Content-Length says so, otherwise once it passes the limit; a client that stalls or
    trickles gets 408; no worker waits forever."""

    def __init__(self, app, max_body: int, read_timeout: float = READ_TIMEOUT_S,
                 body_deadline: float = BODY_DEADLINE_S) -> None:
        self.app, self.max_body = app, max_body
        self.read_timeout, self.body_deadline = read_timeout, body_deadline

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT", "PATCH"):
            return await self.app(scope, receive, send)
        length = dict(scope["headers"]).get(b"content-length")
        too_big = f"the body is larger than {self.max_body / 2**20:g} MiB"
        if length is not None:
            if not length.isdigit():
                return await send_json(send, 400, "invalid Content-Length header")
            if int(length) > self.max_body:
                return await send_json(send, 413, too_big)
        chunks, total = [], 0
        deadline = time.monotonic() + self.body_deadline
        while True:
            left = deadline - time.monotonic()
            try:
                if left <= 0:
                    raise TimeoutError
                message = await asyncio.wait_for(receive(), min(self.read_timeout, left))
            except TimeoutError:
                return await send_json(send, 408, "the body took too long to arrive")
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            total += len(chunk)
            if total > self.max_body:
                return await send_json(send, 413, too_big)
            chunks.append(chunk)
            if not message.get("more_body"):
                break
        body = b"".join(chunks)
        del chunks
        await self.app(scope, replay(body, receive), send)


def replay(body: bytes, receive):
    """An ASGI receive that gives the body already read, as one message, then what receive
    gives (a disconnect): for an app behind a middleware that had to read the body first."""
    delivered = False

    async def again():
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()
    return again


class Guard:
    """Refuses a request whose Host header is not one of this service's names, or that has two
    (400), and,
    when a token is set, an /api/ request without it (401). /docs stays open."""

    def __init__(self, app, allowed_hosts: set[str] | None = None, token: str | None = None) -> None:
        self.app = app
        self.allowed = {h.lower() for h in allowed_hosts} if allowed_hosts else None
        self.token = token.encode() if token else None

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope["headers"])
        if self.allowed is not None:
            if sum(name.lower() == b"host" for name, _ in scope["headers"]) > 1:
                # h11 refuses this itself; Ray's proxy passes both on, and one could be a stranger's
                return await send_json(send, 400, "more than one Host header")
            host = host_name(headers.get(b"host", b"").decode("latin-1"))
            if host not in self.allowed:
                return await send_json(send, 400, f"unknown Host {host or '(none)'!r}: this service "
                                                  "answers only to its own names (--allow-host)")
        if self.token is not None and scope["path"].startswith("/api/"):
            given = headers.get(b"authorization", b"")
            scheme, _, value = given.partition(b" ")
            if scheme.lower() != b"bearer" or not hmac.compare_digest(value.strip(), self.token):
                return await send_json(send, 401, "this service needs its token: send "
                                                  "'Authorization: Bearer TOKEN'",
                                       [(b"www-authenticate", b'Bearer realm="grocery-assistant"')])
        return await self.app(scope, receive, send)


def host_name(header: str) -> str:
    """The name in a Host header, without its port ("[::1]:8000" -> "::1")."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1:header.find("]")] if "]" in header else header
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


def allowed_hosts(bind: str, extra: list[str] | tuple[str, ...] = ()) -> set[str]:
    """The names a client may use for this service: the loopback names, the address it
    listens on, and for an address of every interface (0.0.0.0, ::) this machine's name and
    addresses; plus those the user names (--allow-host)."""
    names = set(LOOPBACK) | {bind.lower()} | {host_name(h) for h in extra}
    if bind in ("0.0.0.0", "::", ""):
        hostname = socket.gethostname().lower()
        names |= {hostname, socket.getfqdn().lower()}
        try:
            import psutil
            for addresses in psutil.net_if_addrs().values():
                for a in addresses:
                    try:
                        names.add(str(ipaddress.ip_address(a.address.split("%")[0])))
                    except ValueError:
                        pass
        except Exception:  # interfaces not readable: the names above and --allow-host remain
            pass
    return names


async def send_json(send, status: int, message: str, extra_headers=()) -> None:
    payload = json.dumps({"error": message, "status": status}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"connection", b"close"),
                            (b"content-length", str(len(payload)).encode()), *extra_headers]})
    await send({"type": "http.response.body", "body": payload})
