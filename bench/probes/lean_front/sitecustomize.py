"""A probe, not product code: v1 predictions answered on the connection, without ASGI.

``bench/thread_cpu.py --lean-front direct`` puts this folder (and bench/probes, for
``probe_hook``) on the server's ``PYTHONPATH`` with ``PROBE_LEAN_FRONT=direct``; Python
imports this module at start-up, and it patches the connection protocol
(``serving/protocol.py``) when the serving app is first imported.

A ``POST /v1/endpoints/{name}/predict`` whose body comes with its headers, on a
connection with nothing else in progress, is answered by the protocol itself: no ASGI
scope and cycle, no task, none of the middleware layers, Starlette request or response
objects. The request's coroutine (``DataPlane.infer``) is stepped by hand: run until it
waits for its batch, resumed by the batch future's callback. Anything else (an API key or
routing headers, a body in several reads, an endpoint with variants or a sticky key, a
body the typed decode does not take) goes the documented way, through uvicorn's cycle.

``PROBE_LEAN_FRONT=app`` keeps the whole app instead: the same request is handed to the
ASGI app the server runs (every middleware, the auth check, the handler), with a
``receive`` that gives the body at once and a ``send`` that writes the answer itself, and
the app's coroutine is stepped by hand as above: no uvicorn cycle and no task, nothing else
left out. The gap between the two modes is what the layers above the cycle cost.

What it answers: how much of the event loop's cost a one-row request pays for the ASGI
machinery and the layers above it, i.e. what a front end of our own could save. Error
answers are worded as the app's are; access logs, the header deadline of the body and
shutdown's wait for requests in flight are not carried over.
"""

from __future__ import annotations

import os
import time
from collections.abc import Coroutine
from typing import Any

PREFIX = b"/v1/endpoints/"
SUFFIX = b"/predict"
# Headers that change how a request is handled: such requests go the documented way.
SPECIAL = frozenset(
    (
        b"authorization",
        b"x-api-key",
        b"x-modelyard-version",
        b"x-routing-key",
        b"x-modelyard-deadline-ms",
        b"x-request-id",
        b"expect",
        b"transfer-encoding",
    )
)


def _install() -> None:
    from uvicorn.protocols.http.httptools_impl import STATUS_LINE

    from modelyard.serving.answers import version_of
    from modelyard.serving.errors import refusal_rule_of, respond_to_error
    from modelyard.serving.ids import random_hex
    from modelyard.serving.protocol import LimitedHttpToolsProtocol as P
    from modelyard.serving.typed_body import decode_records
    from modelyard.serving.v1 import answer_bytes

    headers_complete, on_body, message_complete, data_received = (
        P.on_headers_complete,
        P.on_body,
        P.on_message_complete,
        P.data_received,
    )

    def plane_of(app: Any) -> Any:
        while app is not None and not hasattr(app, "plane"):
            app = getattr(app, "app", None)
        return None if app is None else app.plane

    def lean_headers_complete(self: Any) -> None:
        self._lean = None
        url = self.url
        if (
            url.startswith(PREFIX)
            and url.endswith(SUFFIX)
            and self.parser.get_method() == b"POST"
            and self.parser.get_http_version() == "1.1"
            and (self.cycle is None or self.cycle.response_complete)
            and not self.pipeline
            and not any(name in SPECIAL for name, _ in self.headers)
        ):
            name = url[len(PREFIX) : -len(SUFFIX)]
            if name and b"/" not in name and b"%" not in name and b"?" not in name:
                self._in_headers = False
                self._due = None
                self._lean = name.decode("ascii")
                self._lean_body = b""
                self._lean_done = False
                self._lean_keep = self.parser.should_keep_alive()
                return
        headers_complete(self)

    def lean_body(self: Any, body: bytes) -> None:
        if getattr(self, "_lean", None) is None:
            on_body(self, body)
        else:
            self._lean_body += body

    def lean_message_complete(self: Any) -> None:
        if getattr(self, "_lean", None) is None:
            message_complete(self)
            return
        self._lean_done = True
        answer(self)

    def lean_data_received(self: Any, data: bytes) -> None:
        data_received(self, data)
        if getattr(self, "_lean", None) is not None and not self._lean_done:
            fallback(self, more=True)  # a body in several reads: uvicorn's cycle reads it

    def fallback(self: Any, more: bool = False) -> None:
        """The request goes the documented way, with what of its body has come."""
        body = self._lean_body
        self._lean = None
        headers_complete(self)
        if self.cycle is not None and self.cycle.scope is self.scope:
            self.cycle.body = body
            if more:
                self.cycle.message_event.set()
            else:
                message_complete(self)

    def answer(self: Any) -> None:
        if MODE == "app":
            through_app(self)
            return
        plane = self.__dict__.get("_plane")
        if plane is None:
            plane = self._plane = plane_of(self.app)
        if plane is None or plane.auth.enabled or plane.limits.client_rate:
            fallback(self)
            return
        name = self._lean
        try:
            active = plane.endpoint(name)
        except Exception:
            fallback(self)
            return
        if active.endpoint.sticky_key is not None or active.variants:
            fallback(self)
            return
        limit = active.endpoint.limits.max_request_rows
        columns = decode_records(active.loaded.signature, self._lean_body, limit)
        if columns is None:
            fallback(self)
            return
        self._lean = None
        rid = random_hex(16)
        self.scope["state"]["request_id"] = rid  # for the words of an error answer
        self.scope["path_params"] = {"name": name}  # and its log line
        started = time.perf_counter()
        plane.receiving.count += 1
        call = Call(self, plane, name, active, rid, started, self._lean_keep)
        call.step(plane.infer(active, columns, None, None))

    class Call:
        """One direct-mode request: ``DataPlane.infer`` stepped, then its answer written.
        Not ``Stepper`` driving a coroutine around ``infer``: tried, and the direct mode's
        loop spent 3-10 µs more a request in alternating windows (38-57 against 34-47);
        this is the probe's floor, so it stays the leanest form measured."""

        __slots__ = ("active", "coro", "keep", "name", "plane", "proto", "rid", "started")

        def __init__(self, *args: Any) -> None:
            (self.proto, self.plane, self.name, self.active, self.rid, self.started, self.keep) = (
                args
            )

        def step(self, coro: Coroutine[Any, Any, Any]) -> None:
            self.coro = coro
            self.resume(None)

        def resume(self, _future: Any) -> None:
            try:
                future = self.coro.send(None)
            except StopIteration as done:
                self.answered(done.value)
                return
            except Exception as exc:
                self.failed(exc)
                return
            future.add_done_callback(self.resume)

        def answered(self, served: Any) -> None:
            self.plane.receiving.count -= 1
            data = answer_bytes(served, self.active.loaded)
            headers = [
                (b"x-modelyard-version", served.version.encode()),
                (b"content-length", b"%d" % len(data)),
                (b"content-type", b"application/json"),
            ]
            self.send(200, headers, data)
            self.plane.finished(self.name, 200, served.version, True, self.started)

        def failed(self, exc: Exception) -> None:
            self.plane.receiving.count -= 1
            response = respond_to_error(self.proto.scope, exc)
            self.send(response.status_code, list(response.raw_headers), response.body)
            self.plane.finished(
                self.name,
                response.status_code,
                version_of(response),
                True,
                self.started,
                refusal_rule_of(exc),
            )

        def send(self, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
            proto = self.proto
            transport = proto.transport
            if transport.is_closing():
                return
            head = [STATUS_LINE[status]]
            for name, value in (*proto.server_state.default_headers, *headers):
                head += [name, b": ", value, b"\r\n"]
            head += [b"x-request-id: ", self.rid.encode(), b"\r\n"]
            if not self.keep:
                head.append(b"connection: close\r\n")
            head += [b"\r\n", body]
            transport.write(b"".join(head))
            if self.keep:
                proto.on_response_complete()
            else:
                transport.close()

    def through_app(self: Any) -> None:
        """The app the server runs, with no cycle and no task (``PROBE_LEAN_FRONT=app``)."""
        body = self._lean_body
        path = self.url.decode("ascii")
        self._lean = None
        scope = self.scope
        scope["method"] = "POST"
        scope["path"] = path
        scope["raw_path"] = self.url
        scope["query_string"] = b""
        keep = self._lean_keep
        given = False
        head: list[bytes] = []

        async def receive() -> dict[str, Any]:
            nonlocal given
            if given:
                return {"type": "http.disconnect"}
            given = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                head.append(STATUS_LINE[message["status"]])
                for name, value in (*self.server_state.default_headers, *message["headers"]):
                    head.extend((name, b": ", value, b"\r\n"))
                if not keep:
                    head.append(b"connection: close\r\n")
                head.append(b"\r\n")
                return
            transport = self.transport
            if not transport.is_closing():
                transport.write(b"".join(head) + message.get("body", b""))
            if not message.get("more_body", False):
                if not keep:
                    transport.close()
                elif not transport.is_closing():
                    self.on_response_complete()

        Stepper(self.loop, self.app(scope, receive, send)).resume(None)

    class Stepper:
        """What a task does for a coroutine, minus the task: resumed by the future it waits
        for (or at the loop's next step, for a bare ``yield``)."""

        __slots__ = ("coro", "loop")

        def __init__(self, loop: Any, coro: Coroutine[Any, Any, Any]) -> None:
            self.loop = loop
            self.coro = coro

        def resume(self, _future: Any) -> None:
            try:
                waited = self.coro.send(None)
            except StopIteration:
                return
            if waited is None:
                self.loop.call_soon(self.resume, None)
            else:
                waited.add_done_callback(self.resume)

    P.on_headers_complete = lean_headers_complete  # type: ignore[method-assign]
    P.on_body = lean_body  # type: ignore[method-assign]
    P.on_message_complete = lean_message_complete  # type: ignore[method-assign]
    P.data_received = lean_data_received  # type: ignore[method-assign]


MODE = os.environ.get("PROBE_LEAN_FRONT", "")  # "direct" or "app"

if MODE in ("direct", "app"):
    from probe_hook import on_serving_import

    on_serving_import(_install)
