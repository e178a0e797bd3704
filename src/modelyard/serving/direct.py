"""Inference requests answered by the connection itself, without the ASGI machinery.

Of a one-row request's event-loop cost, about a quarter was neither decoding, batching
nor encoding but the layers between the socket and the handler: uvicorn's cycle and task,
the ASGI messages, the middleware chain, Starlette's request and response objects
(measured with bench/thread_cpu.py ``--lean-front``; docs/decisions.md, 2026-12-07).
So a ``POST /v1/endpoints/{name}/predict`` or ``/v2/models/{name}/infer`` whose whole
body arrives with its headers is answered here, by the same functions the ASGI route
calls: the client rate limit, the key check (:func:`fastpath.answer`), routing, the
deadline header, decoding (:func:`v1.predict_body`, :func:`v2.infer_body`), the error
answers, the request id and the metrics. Its coroutine is stepped by hand, resumed by the
future it waits for, and the answer is written to the connection in one piece
(direct_call.py).

Everything else goes through ASGI as before: other routes and methods, a query string,
HTTP/1.0, ``Expect``, chunked or empty bodies, a body over the limit or of another type
(ASGI words those refusals), a connection over the cap. A body that comes after its
headers (clients that write the two apart, as httpx does) is gathered here until it is
whole; past the body deadline the request is answered (408 as ``body.read_bytes`` words
it, or the refusal that comes before a body is read, a missing key's 401) and the
connection closes, the rest unread. While a direct call is in flight it
stands in for uvicorn's cycle, so what the protocol does to a cycle happens to it too:
later requests on the connection wait their turn (pipelining), a shutdown lets it finish
and then closes, a lost connection drops its answer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from modelyard.serving.binary import HEADER_BYTES as BINARY_HEADER
from modelyard.serving.body import JSON_TYPES
from modelyard.serving.direct_call import DirectCall, DirectFront, front_of
from modelyard.serving.fastpath import Route, match
from modelyard.serving.protocol import LimitedHttpToolsProtocol

JSON = frozenset(t.encode() for t in JSON_TYPES)
# Headers whose request ASGI handles: a body not sent in one piece, or a protocol switch.
TO_ASGI = frozenset((b"transfer-encoding", b"expect", b"upgrade"))
FORWARDED = frozenset((b"x-forwarded-for", b"x-forwarded-proto"))


class DirectProtocol(LimitedHttpToolsProtocol):
    """The connection protocol the server runs (unless ``MODELYARD_DIRECT_PREDICT`` is
    off)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._front: DirectFront | None = None  # found on connecting; None: ASGI only
        self._reading: DirectCall | None = None  # headers in, body still being parsed
        self._parts: list[bytes] = []  # its body so far

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        if self.crowded:
            return  # answered 503 by the app put in place for it
        if not self.root_path:  # (else paths are the app's to map)
            self._front = front_of(self.app)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        call = self._reading
        if call is not None and self._due is None and self.body_timeout:
            # The body did not all come with its headers: it has until the deadline (set
            # only now, as a request whose body came whole needs none).
            self._expect(self.loop.time() + self.body_timeout, self._direct_body_late)

    def on_headers_complete(self) -> None:
        front = self._front
        if (
            front is not None
            and (self.cycle is None or self.cycle.response_complete)
            and not self.pipeline
        ):
            call = self._direct_call(front)
            if call is not None:
                self._in_headers = False
                self._due = None
                self._reading = call
                self.cycle = call  # type: ignore[assignment]  # what uvicorn checks a cycle for
                return
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        call = self._reading
        if call is None:
            super().on_body(body)
        else:
            self._parts.append(body)

    def on_message_complete(self) -> None:
        call = self._reading
        if call is None:
            super().on_message_complete()
            return
        self._reading = None
        parts = self._parts
        call.body = parts[0] if len(parts) == 1 else b"".join(parts)
        parts.clear()
        self._due = None  # a late body's deadline: met (the pending wake-up does nothing)
        call.begin()

    def _direct_body_late(self) -> None:
        """The body deadline passed: the call is answered (408, once admitted) and the
        connection closes; nothing more is read."""
        call = self._reading
        if call is None or self.transport.is_closing():
            return
        self._reading = None
        self._parts.clear()
        self.flow.pause_reading()
        call.body_late = True
        call.keep_alive = False  # whatever it is answered (a 429 first, say): the rest is unread
        call.begin()

    def connection_lost(self, exc: Exception | None) -> None:
        self._parts.clear()  # a body cut short: not kept until the collector comes
        super().connection_lost(exc)

    def _direct_call(self, front: DirectFront) -> DirectCall | None:
        """The request as a direct call, or ``None``: it goes through ASGI."""
        url = self.url
        found = _route(url)
        if found is None:
            return None
        route, name = found
        parser = self.parser
        if parser.get_method() != b"POST" or parser.get_http_version() != "1.1":
            return None
        length = b""
        json = True
        binary = forwarded = False
        for key, value in self.headers:
            if key == b"content-length":
                length = value
            elif key == b"content-type":
                json = value.partition(b";")[0].strip().lower() in JSON
            elif key == BINARY_HEADER:
                binary = route.binary
            elif key in TO_ASGI:
                return None
            elif key in FORWARDED:
                forwarded = True
        if not (json or binary):
            return None  # ASGI words the 415
        if not length.isdigit() or not 0 < int(length) <= front.fast_paths.plane.max_body_bytes:
            return None  # ASGI words the 400 or 413
        keep_alive = parser.should_keep_alive()
        return DirectCall(self, front, route, name, keep_alive, forwarded)

    def write_whole(self, answer: bytes) -> None:
        """Send a direct call's answer at once (it is whole: nothing to join it with)."""
        self._writes.write_whole(answer)

    def after_drain(self, then: Callable[[], None]) -> None:
        """Call ``then`` once the client has read what was written (or is gone); a task
        the server's shutdown waits for, as for a request's."""

        async def drained() -> None:
            await self.flow.drain()
            then()

        task = self.loop.create_task(drained())
        task.add_done_callback(self.tasks.discard)
        self.tasks.add(task)


def _route(url: bytes) -> tuple[Route, str] | None:
    """:func:`fastpath.match`'s route and endpoint name for a request target, when the name
    is one the direct path takes as it is (ASCII, nothing to unquote, no query or
    fragment), else ``None``."""
    if not url.isascii():
        return None
    found = match(url.decode("ascii"))
    if found is None:
        return None
    name = found[1]
    if "%" in name or "?" in name or "#" in name:
        return None
    return found
