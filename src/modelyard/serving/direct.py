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
future it waits for, and the answer is written to the connection in one piece.

Everything else goes through ASGI as before: other routes and methods, a query string,
HTTP/1.0, ``Expect``, chunked or empty bodies, a body over the limit or of another type
(ASGI words those refusals), a body still arriving after its headers' read (handed to
ASGI with what came), a connection over the cap. While a direct call is in flight it
stands in for uvicorn's cycle, so what the protocol does to a cycle happens to it too:
later requests on the connection wait their turn (pipelining), a shutdown lets it finish
and then closes, a lost connection drops its answer.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Awaitable, Coroutine
from typing import Any, Protocol

from starlette.requests import Request
from starlette.responses import Response
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware
from uvicorn.protocols.http.httptools_impl import STATUS_LINE

from modelyard.serving.answers import version_of
from modelyard.serving.binary import HEADER_BYTES as BINARY_HEADER
from modelyard.serving.context import REQUEST_ID_HEADER, request_id_from
from modelyard.serving.dataplane import DataPlane
from modelyard.serving.fastpath import FastPaths, answer
from modelyard.serving.protocol import LimitedHttpToolsProtocol
from modelyard.serving.taken import TAKEN
from modelyard.serving.v1 import predict_body
from modelyard.serving.v2 import infer_body

log = logging.getLogger(__name__)


class BodyHandler(Protocol):
    """An inference route's handler of a body read and checked already."""

    def __call__(
        self, plane: DataPlane, name: str, request: Request, raw: bytes
    ) -> Awaitable[Response]: ...


# (path prefix, path suffix, the handler of a body read already, binary tensors allowed);
# the endpoint's name lies between prefix and suffix.
ROUTES: tuple[tuple[bytes, bytes, BodyHandler, bool], ...] = (
    (b"/v1/endpoints/", b"/predict", predict_body, False),
    (b"/v2/models/", b"/infer", infer_body, True),
)
JSON = b"application/json"
# Headers whose request ASGI handles: a body not sent in one piece, or a protocol switch.
TO_ASGI = frozenset((b"transfer-encoding", b"expect", b"upgrade"))
FORWARDED = frozenset((b"x-forwarded-for", b"x-forwarded-proto"))


class DirectProtocol(LimitedHttpToolsProtocol):
    """The connection protocol the server runs (unless ``MODELYARD_DIRECT_PREDICT`` is
    off)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._front: FastPaths | None = None  # found on connecting; None: ASGI only
        self._reading: DirectCall | None = None  # headers in, body still being parsed
        self._proxy: ProxyHeadersMiddleware | None = None

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        if self.max_connections and len(self.connections) > self.max_connections:
            return  # answered 503 by the app put in place for it
        if self.root_path:
            return  # paths are the app's to map
        self._front = front_behind(self.app)
        if self._front is not None and self.config.proxy_headers:
            self._proxy = ProxyHeadersMiddleware(_scope_only, self.config.forwarded_allow_ips)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        call = self._reading
        if call is not None:  # the body did not all come with its headers
            self._reading = None
            if not self.transport.is_closing():
                self._to_asgi(call.body)

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
                return
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        call = self._reading
        if call is None:
            super().on_body(body)
        else:
            call.body += body

    def on_message_complete(self) -> None:
        call = self._reading
        if call is None:
            super().on_message_complete()
            return
        self._reading = None
        self.cycle = call  # type: ignore[assignment]  # what uvicorn checks a cycle for
        call.start()

    def _direct_call(self, front: FastPaths) -> DirectCall | None:
        """The request as a direct call, or ``None``: it goes through ASGI."""
        url = self.url
        route = _route(url)
        if route is None:
            return None
        prefix, suffix, handler, binary_allowed = route
        parser = self.parser
        if parser.get_method() != b"POST" or parser.get_http_version() != "1.1":
            return None
        name = url[len(prefix) : -len(suffix)]
        if (
            not name
            or not name.isascii()
            or b"/" in name
            or b"%" in name
            or b"?" in name
            or b"#" in name
        ):
            return None
        length = b""
        content_type = JSON
        binary = forwarded = False
        for key, value in self.headers:
            if key == b"content-length":
                length = value
            elif key == b"content-type":
                content_type = value.partition(b";")[0].strip().lower()
            elif key == BINARY_HEADER:
                binary = binary_allowed
            elif key in TO_ASGI:
                return None
            elif key in FORWARDED:
                forwarded = True
        if content_type != JSON and not binary:
            return None  # ASGI words the 415
        if not length.isdigit() or not 0 < int(length) <= front.plane.max_body_bytes:
            return None  # ASGI words the 400 or 413
        proxy = self._proxy if forwarded else None
        keep_alive = parser.should_keep_alive()
        return DirectCall(self, front, name.decode("ascii"), handler, keep_alive, proxy)

    def write_whole(self, answer: bytes) -> None:
        """Send a direct call's answer at once (it is whole: nothing to join it with)."""
        self._writes.write_whole(answer)

    def _to_asgi(self, body: bytes) -> None:
        """Hand the request being read to ASGI, as if its headers had just ended."""
        super().on_headers_complete()
        if body:
            super().on_body(body)


def _route(url: bytes) -> tuple[bytes, bytes, BodyHandler, bool] | None:
    for route in ROUTES:
        if url.startswith(route[0]) and url.endswith(route[1]):
            return route
    return None


async def _scope_only(*_: Any) -> None:
    """The app behind the proxy-headers rewrite the direct path borrows: nothing."""


def front_behind(app: Any) -> FastPaths | None:
    """The inference fast path inside the app uvicorn runs (behind its proxy-headers
    middleware and the app's own), or ``None`` for an app without one."""
    for _ in range(16):
        if isinstance(app, FastPaths):
            return app
        app = getattr(app, "app", None)
        if app is None:
            return None
    return None


class _Unwaited:
    """A cycle's ``message_event``: nothing waits on a direct call's."""

    def set(self) -> None:
        pass


class DirectCall:
    """One direct request, standing in for uvicorn's cycle on its connection from its
    body's end to its answer (the attributes the protocol reads on a cycle)."""

    __slots__ = (
        "body",
        "coro",
        "disconnected",
        "front",
        "handler",
        "keep_alive",
        "name",
        "protocol",
        "proxy",
        "request_id",
        "response_complete",
        "scope",
        "started",
    )
    more_body = False
    message_event = _Unwaited()

    def __init__(
        self,
        protocol: DirectProtocol,
        front: FastPaths,
        name: str,
        handler: BodyHandler,
        keep_alive: bool,
        proxy: ProxyHeadersMiddleware | None,
    ) -> None:
        self.protocol = protocol
        self.front = front
        self.name = name
        self.handler = handler
        self.keep_alive = keep_alive
        self.proxy = proxy
        self.body = b""
        self.response_complete = False
        self.disconnected = False
        self.scope: dict[str, Any] = protocol.scope  # type: ignore[assignment]

    def start(self) -> None:
        """The body is in: the request's scope as the ASGI route would see it, then its
        coroutine's first steps (to its batch's future, for most)."""
        self.started = time.perf_counter()
        TAKEN.direct += 1
        scope = self.scope
        name = self.name
        scope["method"] = "POST"
        scope["raw_path"] = raw_path = self.protocol.url
        scope["path"] = raw_path.decode("ascii")
        scope["query_string"] = b""
        scope["app"] = self.front.app
        scope["path_params"] = {"name": name}
        if self.proxy is not None:  # the client a proxy names, as uvicorn's middleware does
            _run_now(self.proxy(scope, _no_receive, _no_send))  # type: ignore[arg-type]
        self.request_id = request_id_from(scope["headers"]).encode()
        scope["state"]["request_id"] = self.request_id.decode()
        plane = self.front.plane
        limits = plane.limits
        if limits.client_rate:
            refusal = limits.client_refusal(scope)
            if refusal is not None:
                self.respond(refusal)
                return
        handler = functools.partial(self.handler, raw=self.body)
        self.coro = answer(plane, name, Request(scope), "predict", handler)
        self.step()

    def step(self, _done: object = None) -> None:
        """Run the coroutine to its next wait, as a task would."""
        try:
            waited = self.coro.send(None)
        except StopIteration as done:
            response, admitted, rule = done.value
            self.respond(response)
            self.front.plane.finished(
                self.name, response.status_code, version_of(response), admitted, self.started, rule
            )
            return
        except BaseException:  # a cancelled future: what uvicorn does with a task's failure
            log.exception("request %s failed", self.request_id.decode())
            self.response_complete = True
            self.protocol.transport.close()
            return
        if waited is None:  # a bare yield: go on at the loop's next turn
            self.protocol.loop.call_soon(self.step)
        else:
            waited._asyncio_future_blocking = False
            waited.add_done_callback(self.step)

    def respond(self, response: Response) -> None:
        """Write the answer's head and body in one piece (default headers, the response's,
        the request id, as uvicorn and the request-id middleware would)."""
        self.response_complete = True
        protocol = self.protocol
        transport = protocol.transport
        if self.disconnected or transport.is_closing():
            return
        keep_alive = self.keep_alive and _keeps_alive(response)
        head = [STATUS_LINE[response.status_code]]
        for name, value in (*protocol.server_state.default_headers, *response.raw_headers):
            head += (name, b": ", value, b"\r\n")
        head += (REQUEST_ID_HEADER, b": ", self.request_id, b"\r\n")
        if not keep_alive:
            head.append(b"connection: close\r\n")
        head += (b"\r\n", bytes(response.body))
        protocol.write_whole(b"".join(head))
        if not keep_alive:  # in uvicorn's order: close (the write goes first), then on
            transport.close()
        protocol.on_response_complete()


def _keeps_alive(response: Response) -> bool:
    """Whether the response lets the connection stay open (an answer saying
    ``Connection: close`` does not)."""
    if response.status_code == 200:
        return True
    return all(
        name != b"connection" or value.lower() != b"close" for name, value in response.raw_headers
    )


def _run_now(coro: Coroutine[Any, Any, None]) -> None:
    """Run a coroutine that never waits (the proxy-headers rewrite) to its end."""
    try:
        coro.send(None)
    except StopIteration:
        return
    coro.close()
    raise RuntimeError("the proxy-headers middleware waited")


async def _no_receive() -> Any:
    raise RuntimeError("the direct path has no ASGI receive")


async def _no_send(_message: Any) -> None:
    raise RuntimeError("the direct path has no ASGI send")
