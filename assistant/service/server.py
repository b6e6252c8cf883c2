"""The HTTP service's server: uvicorn with a deadline for each request head, a cap on open
connections and on an unfinished request head's size, and short keep-alives. Imported only
when `serve` runs (uvicorn is imported here)."""
from __future__ import annotations

import functools
import json

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

#: seconds a client has to send a whole request head (from connecting, or from the end of
#: the previous answer on a kept-alive connection)
HEAD_TIMEOUT_S = 10.0
#: open connections at most; more get 503 at once
MAX_CONNECTIONS = 64
#: bytes of an unfinished request head at most (h11 answers 400 past it)
MAX_HEAD_BYTES = 16 * 1024
KEEP_ALIVE_S = 5


class DeadlineH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, plus a deadline for the request head: a header line never
    finished, or a connection that sends nothing, is answered 408 and closed."""

    def __init__(self, *args, head_timeout: float = HEAD_TIMEOUT_S, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.head_timeout = head_timeout

    def connection_made(self, transport) -> None:
        super().connection_made(transport)
        self._head_timer = None
        self._arm_head_deadline()

    def _arm_head_deadline(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
        self._head_timer = self.loop.call_later(self.head_timeout, self._head_expired)

    def _head_expired(self) -> None:
        self._head_timer = None
        # IDLE: no whole request head has come since the connection opened or the last answer
        if self.transport.is_closing() or self.conn.their_state is not h11.IDLE:
            return
        body = json.dumps({"error": "the request head took too long to arrive",
                           "status": 408}).encode()
        self.transport.write(b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\n"
                             b"connection: close\r\ncontent-length: " + str(len(body)).encode()
                             + b"\r\n\r\n" + body)
        self.transport.close()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm_head_deadline()

    def connection_lost(self, exc) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None
        super().connection_lost(exc)


def server_options(head_timeout: float = HEAD_TIMEOUT_S, max_connections: int = MAX_CONNECTIONS) -> dict:
    """The uvicorn settings every `serve` uses (tests start their servers with them too)."""
    return dict(http=functools.partial(DeadlineH11Protocol, head_timeout=head_timeout),
                limit_concurrency=max_connections,
                h11_max_incomplete_event_size=MAX_HEAD_BYTES, timeout_keep_alive=KEEP_ALIVE_S,
                timeout_graceful_shutdown=5)


def config(app, host: str, port: int, head_timeout: float = HEAD_TIMEOUT_S,
           max_connections: int = MAX_CONNECTIONS, **kwargs) -> uvicorn.Config:
    options = server_options(head_timeout, max_connections)
    options.update(kwargs)
    return uvicorn.Config(app, host=host, port=port, **options)
