"""The HTTP connection: uvicorn's httptools protocol with read deadlines and a cap.

uvicorn has no header timeout: a client that sends its headers a byte at a time, or
nothing at all, holds a connection forever; so does one that stops sending a body the app
has already answered (uvicorn keeps reading it to reuse the connection). This adds:

- a header deadline, from the connection's start (or the first byte of a later request)
  to the end of the headers: past it, 408 when part of a request arrived, else close;
- a body deadline, from the end of the headers: handed to the app in the request's state
  (``read_json`` answers 408 past it), and enforced here on a body still arriving after
  the app answered (close);
- a connection cap: a connection opened past it is answered 503 (JSON, ``Retry-After``)
  on its first request and closed; connections already open keep working.

uvicorn's own keep-alive wait (close a connection idle that long after an answer) is kept,
but on the same pending wake-up as the deadlines: uvicorn armed a timer after every answer
and cancelled it at the next request's first bytes.

The server runs it, or its subclass answering v1 predictions itself (direct.py): see
``server.protocol_for``.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from typing import Any

import orjson
from starlette.types import Receive, Scope, Send
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from modelyard.serving.body import BODY_DEADLINE
from modelyard.serving.coalesce import CoalescingTransport
from modelyard.serving.context import RequestContext
from modelyard.serving.errors import error_response
from modelyard.serving.refusals import REFUSALS


class LimitedHttpToolsProtocol(HttpToolsProtocol):
    def __init__(
        self,
        *args: Any,
        header_timeout: float = 0.0,
        body_timeout: float = 0.0,
        max_connections: int = 0,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.header_timeout = header_timeout  # 0: none, as for each limit
        self.body_timeout = body_timeout
        self.max_connections = max_connections
        self.crowded = False  # opened past the cap: answered 503 and closed
        # The current deadline and what to do past it. A timer per request costs more than
        # the rest of this class (measured: ~15 µs of CPU per request on uvloop), so one
        # wake-up is kept pending and moved only when it would be late: a busy keep-alive
        # connection sets a timer about once per header timeout, not once per request.
        self._due: float | None = None
        self._late: Callable[[], None] = self._headers_late
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = 0.0
        self._in_headers = False  # part of a request's head has arrived, not all of it
        self._idle = False  # answered, waiting for the next request (keep-alive)

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        # An answer's head and body go out in one send (serving/coalesce.py).
        self._writes = CoalescingTransport(transport, self.loop)
        super().connection_made(self._writes)
        self.crowded = bool(self.max_connections) and len(self.connections) > self.max_connections
        if self.crowded:
            REFUSALS.add("connections")
            self.app = RequestContext(functools.partial(_crowded, self.max_connections))
        if self.header_timeout:
            self._expect(self.loop.time() + self.header_timeout, self._headers_late)

    def eof_received(self) -> None:
        # The client ended its side; the transport closes once this returns, and what
        # was kept must go out first.
        self._writes.flush()

    def connection_lost(self, exc: Exception | None) -> None:
        self._due = None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_headers = True
        if self._due is None and self.header_timeout:
            self._expect(self.loop.time() + self.header_timeout, self._headers_late)

    def on_headers_complete(self) -> None:
        self._in_headers = False
        self._due = None
        super().on_headers_complete()
        cycle = self.cycle
        if self.body_timeout and cycle is not None and cycle.scope is self.scope:
            cycle.scope["state"][BODY_DEADLINE] = self.loop.time() + self.body_timeout

    def on_message_complete(self) -> None:
        super().on_message_complete()
        # A body that is all in needs no deadline (read_json then sets no timer).
        self.scope["state"].pop(BODY_DEADLINE, None)
        if self._due is not None:  # the rest of an answered body came in time
            self._due = None
            if not self.pipeline and not self.transport.is_closing():
                self._wait_idle()

    def on_response_complete(self) -> None:
        self._writes.flush()  # the answer's head and body, in one send, now
        if self.transport.is_closing():
            super().on_response_complete()
        elif self.pipeline:
            # uvicorn's steps, but reading stays paused until the queue is empty: uvicorn
            # resumed it after every answer, and a client pipelining requests without
            # reading the answers queued a read's worth more each time (the server grew
            # by ~170 MB a second).
            self.server_state.total_requests += 1
            self._unset_keepalive_if_required()
            cycle, app = self.pipeline.pop()
            self._start_asgi_task(cycle, app)
        else:  # uvicorn's own steps here, but the keep-alive wait is the pending wake-up
            self.server_state.total_requests += 1
            self._unset_keepalive_if_required()
            self.flow.resume_reading()
            if not self._in_headers:  # (else the next request's header deadline stands)
                self._wait_idle()
        cycle = self.cycle
        if (
            self.body_timeout
            and cycle is not None
            and cycle.response_complete
            and cycle.more_body
            and not self.transport.is_closing()
        ):
            # Answered before its body was in (a refusal, or a route that reads none):
            # the rest may still arrive, by the body deadline, or the connection closes.
            self._unset_keepalive_if_required()
            deadline = cycle.scope["state"].get(BODY_DEADLINE, self.loop.time())
            self._expect(deadline, self._body_late)

    def _unset_keepalive_if_required(self) -> None:
        # uvicorn's hook for "bytes of a request came in" (and for the connection's end).
        if self._idle:
            self._idle = False
            self._due = None
        super()._unset_keepalive_if_required()

    def _wait_idle(self) -> None:
        self._expect(self.loop.time() + self.timeout_keep_alive, self._idle_late)
        self._idle = True

    def _idle_late(self) -> None:
        self._idle = False
        if not self.transport.is_closing():
            self.transport.close()

    def _expect(self, due: float, late: Callable[[], None]) -> None:
        self._due = due
        self._late = late
        if self._timer is None or self._timer_at > due:
            if self._timer is not None:
                self._timer.cancel()
            self._timer = self.loop.call_at(due, self._wake)
            self._timer_at = due

    def _wake(self) -> None:
        self._timer = None
        due = self._due
        if due is None:
            return
        if self.loop.time() < due:  # moved later since the timer was set
            self._timer = self.loop.call_at(due, self._wake)
            self._timer_at = due
            return
        self._due = None
        self._late()

    def _headers_late(self) -> None:
        REFUSALS.add("header_timeout")
        if self._in_headers and (self.cycle is None or self.cycle.response_complete):
            message = (
                f"the request headers did not arrive within {self.header_timeout:g} s "
                "(MODELYARD_HEADER_TIMEOUT_SECONDS)"
            )
            body = orjson.dumps({"error": {"code": "request_timeout", "message": message}})
            self.transport.write(
                b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\n"
                b"content-length: %d\r\nconnection: close\r\n\r\n%s" % (len(body), body)
            )
        self.transport.close()

    def _body_late(self) -> None:
        REFUSALS.add("body_timeout")
        self.transport.close()


async def _crowded(limit: int, scope: Scope, receive: Receive, send: Send) -> None:
    response = error_response(
        scope,
        503,
        "overloaded",
        f"this server process has {limit} connections open, its limit "
        "(MODELYARD_MAX_CONNECTIONS); retry on a new connection later",
        headers={"Retry-After": "1", "Connection": "close"},
    )
    await response(scope, receive, send)
