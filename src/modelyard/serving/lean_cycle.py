"""One request to an inference route, carried by a cheaper cycle than uvicorn's.

uvicorn gives every request a ``RequestResponseCycle``: an ``asyncio.Event`` made per
request for the body's arrival, two regular-expression searches per response header, and
the head and the body written as two messages. For the inference routes, a POST answered
with one complete body, :class:`LeanCycle` carries the same exchange for less. The app
still runs whole, every middleware included, and sees the same ASGI messages. But the body's
arrival is awaited through a future only when the app asks before it is in (most bodies come
with their headers), the answer's head is joined once and checked once, and the head and body
are written together. Measured in alternating windows (bench/README.md, request path): about
an eighth less of the event loop's CPU per one-row request.

protocol.py picks it only for what it covers: a POST to an inference route over HTTP/1.x,
without ``Expect: 100-continue``, with no earlier request on the connection still unanswered.
Everything else keeps uvicorn's cycle. The attributes uvicorn's protocol reads and sets on
its cycle (``body``, ``more_body``, ``message_event``, ``disconnected``, ``keep_alive``,
``response_complete``) mean here what they mean there.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable, Iterable
from typing import Any

from starlette.types import ASGIApp, Message
from uvicorn.protocols.http.flow_control import FlowControl
from uvicorn.protocols.http.httptools_impl import STATUS_LINE

# In a response head: a control character, or a CR or LF that is not part of a CRLF.
_UNSAFE_HEAD = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]|\r(?!\n)|(?<!\r)\n")
_SERVER_ERROR = (
    b"HTTP/1.1 500 Internal Server Error\r\ncontent-type: text/plain; charset=utf-8\r\n"
    b"content-length: 21\r\nconnection: close\r\n\r\nInternal Server Error"
)


class Arrival:
    """The cycle's ``message_event``: set when body bytes, the body's end or a disconnect
    arrive. No ``asyncio.Event`` per request: a future is made only when the app waits."""

    __slots__ = ("_waiter", "is_set")

    def __init__(self) -> None:
        self.is_set = False
        self._waiter: asyncio.Future[None] | None = None

    def set(self) -> None:
        self.is_set = True
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def wait(self) -> None:
        if self.is_set:
            return
        self._waiter = asyncio.get_running_loop().create_future()
        try:
            await self._waiter
        finally:
            self._waiter = None


class LeanCycle:
    __slots__ = (
        "_headers",
        "_parts",
        "_status",
        "body",
        "default_headers",
        "disconnected",
        "flow",
        "keep_alive",
        "logger",
        "message_event",
        "more_body",
        "on_response",
        "response_complete",
        "response_started",
        "scope",
        "transport",
    )

    def __init__(
        self,
        scope: dict[str, Any],
        transport: asyncio.Transport,
        flow: FlowControl,
        default_headers: list[tuple[bytes, bytes]],
        keep_alive: bool,
        on_response: Callable[[], None],
        logger: logging.Logger,
    ) -> None:
        self.scope = scope
        self.transport = transport
        self.flow = flow
        self.default_headers = default_headers
        self.keep_alive = keep_alive
        self.on_response = on_response
        self.logger = logger
        self.body = b""
        self.more_body = True
        self.disconnected = False
        self.message_event = Arrival()
        self.response_started = False
        self.response_complete = False
        self._status = 500
        self._headers: Iterable[tuple[bytes, bytes]] = ()
        self._parts: list[bytes] = []

    async def run_asgi(self, app: ASGIApp) -> None:
        """The app on this request; what it leaves undone ends as uvicorn's cycle ends it."""
        try:
            await app(self.scope, self.receive, self.send)
        except BaseException as exc:
            self.logger.error("Exception in ASGI application\n", exc_info=exc)
            self._fail(started=self.response_started)
        else:
            if not self.response_started and not self.disconnected:
                self.logger.error("ASGI callable returned without starting response.")
                self._fail(started=False)
            elif not self.response_complete and not self.disconnected:
                self.logger.error("ASGI callable returned without completing response.")
                self.transport.close()
        finally:
            self.on_response = _nothing

    async def receive(self) -> Message:
        if not self.disconnected and not self.response_complete:
            self.flow.resume_reading()
            arrival = self.message_event
            await arrival.wait()
            arrival.is_set = False
        if self.disconnected or self.response_complete:
            return {"type": "http.disconnect"}
        message = {"type": "http.request", "body": self.body, "more_body": self.more_body}
        self.body = b""
        return message

    async def send(self, message: Message) -> None:
        if self.flow.write_paused and not self.disconnected:
            await self.flow.drain()
        if self.disconnected:
            return
        kind = message["type"]
        if not self.response_started:
            if kind != "http.response.start":
                raise RuntimeError(f"Expected ASGI message 'http.response.start', got {kind!r}")
            self.response_started = True
            self._status = message["status"]
            self._headers = message.get("headers", ())
            return
        if self.response_complete or kind != "http.response.body":
            raise RuntimeError(f"Unexpected ASGI message {kind!r} after the response started")
        body: bytes = message.get("body", b"")
        if message.get("more_body", False):
            # Kept until the last part: the inference routes answer in one body.
            self._parts.append(body)
            return
        if self._parts:
            body = b"".join([*self._parts, body])
            self._parts.clear()
        self._answer(body)

    def _answer(self, body: bytes) -> None:
        """The head and ``body`` in one write, then the request is done."""
        head = [STATUS_LINE[self._status]]
        length: bytes | None = None
        close = False
        lines = 1
        for headers in (self.default_headers, self._headers):
            for given, value in headers:
                name = given.lower()
                if name == b"content-length":
                    length = value
                elif name == b"connection" and b"close" in value.lower():
                    close = True
                head += (name, b": ", value, b"\r\n")
                lines += 1
        if length is None:
            head.append(b"content-length: %d\r\n" % len(body))
            lines += 1
        elif int(length) != len(body):
            raise RuntimeError("Response content length differs from its Content-Length")
        if not self.keep_alive and not close:
            head.append(b"connection: close\r\n")
            lines += 1
        head.append(b"\r\n")
        block = b"".join(head)
        # One check of the whole head: no header may add a line or carry a control byte.
        if _UNSAFE_HEAD.search(block) is not None or block.count(b"\n") != lines + 1:
            raise RuntimeError("Invalid HTTP header name or value.")
        self.transport.write(block + body)
        self.response_complete = True
        self.message_event.set()
        if close or not self.keep_alive:
            self.keep_alive = False
            self.transport.close()
        self.on_response()

    def _fail(self, started: bool) -> None:
        """A 500 when nothing was sent yet, else the connection closes (as uvicorn does)."""
        if not started and not self.disconnected:
            self.transport.write(_SERVER_ERROR)
            self.response_complete = True
            self.keep_alive = False
        self.transport.close()


def _nothing() -> None:
    return None
