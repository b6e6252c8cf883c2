"""What Ray Serve's HTTP proxy runs in front of the replicas for `serve --engine ray`: the body
limit and its deadlines at the door, a request sent once more when its replica died while
answering, and Ray's own refusals in the service's JSON. Loaded by each proxy (Ray imports
proxy_middlewares by name); it imports nothing of Ray."""
from __future__ import annotations

import json
import logging
import os

from assistant.service.guard import (
    BODY_DEADLINE_S,
    MAX_BODY,
    READ_TIMEOUT_S,
    BodyLimit,
    replay,
    send_json,
)

log = logging.getLogger("assistant.service")

#: Ray's variable naming the function that gives its proxies their middlewares
CALLBACK_ENV = "RAY_SERVE_HTTP_PROXY_CALLBACK_IMPORT_PATH"
#: ours: the service's body limits, [max_body, read_timeout, body_deadline], as JSON
LIMITS_ENV = "GROCERY_ASSISTANT_PROXY_LIMITS"
#: Ray's proxy's own answers (plain text), and the service's status and sentence for each
RAY_REFUSALS = {
    500: (503, "a copy of the service stopped while answering; try again in a moment"),
    503: (503, "the service is busy; try again in a moment"),
    408: (408, "the answer took too long; try again in a moment"),
}


def proxy_environment(max_body: int, read_timeout: float = READ_TIMEOUT_S,
                      body_deadline: float = BODY_DEADLINE_S) -> dict[str, str]:
    """The variables that make a Ray proxy load proxy_middlewares with these limits."""
    return {CALLBACK_ENV: f"{__name__}:proxy_middlewares",
            LIMITS_ENV: json.dumps([max_body, read_timeout, body_deadline])}


def proxy_middlewares() -> list:
    """Ray's proxy's middlewares: BodyLimit outermost (a body too large never crosses the
    cluster; each replica's app checks it again), ProxyAnswers inside it."""
    from starlette.middleware import Middleware
    limits = json.loads(os.environ.get(LIMITS_ENV) or "[]")
    if len(limits) != 3:
        limits = [MAX_BODY, READ_TIMEOUT_S, BODY_DEADLINE_S]
    return [Middleware(ProxyAnswers), Middleware(BodyLimit, *limits)]  # Ray wraps in order


class ProxyAnswers:
    """A request whose replica died while answering (Ray's proxy then gives no answer, which
    uvicorn turns into a bare 500) is sent once more, to another replica; Ray's own refusals
    (503 when every replica is full, 408 past the request timeout, a second loss) become the
    service's JSON {"error", "status"}, as every other answer is."""

    def __init__(self, app, retries: int = 1) -> None:
        self.app, self.retries = app, retries

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/api/"):
            return await self.app(scope, receive, send)
        chunks = []  # BodyLimit, outside this, has read and bounded the body already
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        body = b"".join(chunks)
        for attempt in range(self.retries + 1):
            refusal = await self._attempt(scope, body, receive, send)
            if refusal is None:
                return None
            if refusal != 500 or attempt == self.retries:
                break
            log.warning("a replica was lost answering %s; the request is sent again", scope["path"])
        status, sentence = RAY_REFUSALS[refusal]
        await send_json(send, status, sentence)

    async def _attempt(self, scope, body: bytes, receive, send) -> int | None:
        """Runs the request once: None when its answer went out, else Ray's own refusal (held
        back, not sent)."""
        started, held = False, None

        async def send_or_hold(message):
            nonlocal started, held
            if message["type"] == "http.response.start":
                started = True
                kind = dict(message.get("headers", [])).get(b"content-type", b"")
                if message["status"] in RAY_REFUSALS and not kind.startswith(b"application/json"):
                    held = message["status"]  # the service's own answers are JSON
                    return
            if held is None:
                await send(message)

        try:
            await self.app(scope, replay(body, receive), send_or_hold)
        except Exception:
            if started:
                raise
            log.exception("Ray's proxy failed on %s", scope["path"])
            return 500
        return held if started else 500
