"""One inference request answered on its connection (see direct.py): run, then written.

The request's coroutine (:func:`fastpath.answer` around the route's body handler) is
stepped by hand, as a task would step it but without one: resumed by the future it waits
for, each step in the request's own copy of the context (as a task's), its first step at
the loop's next turn (never inside the HTTP parser's callbacks: an exception there would
become the parser's 400, and a read of many pipelined requests would be answered in one
go). Nothing on the path may need ``asyncio.current_task()`` (``asyncio.timeout``,
``wait_for`` on Python 3.12+): every direct-path test would then answer 500.

The answer is written as uvicorn and the request-id middleware would write it: the
server's default headers, the response's, ``x-request-id``, ``connection: close`` when the
connection ends with it; and, as uvicorn's ``send`` does, the connection takes its next
request only once a client that stopped reading has drained the answer.
"""

from __future__ import annotations

import contextvars
import functools
import logging
import time
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Message
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware
from uvicorn.protocols.http.httptools_impl import STATUS_LINE

from modelyard.serving.answers import version_of
from modelyard.serving.body import body_late
from modelyard.serving.context import REQUEST_ID_HEADER, RequestContext, request_id_from
from modelyard.serving.errors import error_response
from modelyard.serving.fastpath import FastPaths, Handler, Route, answer
from modelyard.serving.limits import ClientLimit
from modelyard.serving.taken import TAKEN

if TYPE_CHECKING:
    from modelyard.serving.direct import DirectProtocol

log = logging.getLogger(__name__)

# The layers the direct path does itself (the request id, the client limit); any other
# between uvicorn and the fast paths sends every request through ASGI.
KNOWN_LAYERS = (RequestContext, ClientLimit)


@dataclass(frozen=True)
class DirectFront:
    """What the direct path needs of the app uvicorn runs."""

    fast_paths: FastPaths  # its data plane, and the FastAPI app for the scope
    proxy: ProxyHeadersMiddleware | None  # uvicorn's client rewrite (X-Forwarded-For), if on


@functools.cache
def front_of(app: Any) -> DirectFront | None:
    """The direct front of the app uvicorn runs, or ``None`` when a layer it does not know
    sits in front of the fast paths (every request then goes through ASGI)."""
    proxy = None
    while not isinstance(app, FastPaths):
        if isinstance(app, ProxyHeadersMiddleware):
            proxy = ProxyHeadersMiddleware(_scope_only)
            proxy.trusted_hosts = app.trusted_hosts  # the same trust, and its cache
        elif not isinstance(app, KNOWN_LAYERS):
            return None
        app = app.app
    return DirectFront(app, proxy)


async def _scope_only(*_: Any) -> None:
    """The app behind the borrowed proxy-headers rewrite: nothing."""


class _Unwaited:
    """A cycle's ``message_event``: nothing waits on a direct call's."""

    def set(self) -> None:
        pass


class DirectCall:
    """One direct request, standing in for uvicorn's cycle on its connection from its
    body's end to its answer (the attributes the protocol reads on a cycle)."""

    __slots__ = (
        "body",
        "body_late",
        "context",
        "coro",
        "disconnected",
        "forwarded",
        "front",
        "keep_alive",
        "name",
        "protocol",
        "raw_path",
        "received",
        "request_id",
        "response_complete",
        "route",
        "scope",
        "started",
        "written",
    )
    more_body = False
    message_event = _Unwaited()

    def __init__(
        self,
        protocol: DirectProtocol,
        front: DirectFront,
        route: Route,
        name: str,
        keep_alive: bool,
        forwarded: bool,
    ) -> None:
        self.protocol = protocol
        self.front = front
        self.route = route
        self.name = name
        self.keep_alive = keep_alive
        self.body = b""
        self.response_complete = False
        self.disconnected = False
        # The request's own: by its first step the parser may be in the next one.
        self.scope: dict[str, Any] = protocol.scope  # type: ignore[assignment]
        self.raw_path = protocol.url
        self.request_id = b""
        self.started = 0.0
        self.coro: Coroutine[Any, Any, tuple[Response, bool, str | None]] | None = None
        fresh = protocol.config.reset_contextvars  # uvicorn's option, for tasks
        self.context = contextvars.Context() if fresh else contextvars.copy_context()
        self.forwarded = forwarded  # X-Forwarded-* headers came: the proxy rewrite runs
        self.received = False
        self.written = False  # its answer went out (or had nowhere to go)
        self.body_late = False  # its body missed its deadline: refused, then the close

    def begin(self) -> None:
        """The body is in: run at the loop's next turn, in the request's own context."""
        self.protocol.loop.call_soon(self.start, context=self.context)

    def start(self) -> None:
        """The request's scope as the ASGI route would see it, then its first steps (to
        its batch's future, for most)."""
        if self.disconnected:
            return  # gone before it started: nothing to answer
        self.started = time.perf_counter()
        TAKEN.direct += 1
        try:
            self._start()
        except Exception as exc:
            self.fail(exc)

    def _start(self) -> None:
        scope = self.scope
        paths = self.front.fast_paths
        scope["method"] = "POST"
        scope["raw_path"] = self.raw_path
        scope["path"] = self.raw_path.decode("ascii")
        scope["query_string"] = b""
        scope["app"] = paths.app
        scope["path_params"] = {"name": self.name}
        proxy = self.front.proxy
        if proxy is not None and self.forwarded:  # the client a trusted proxy names
            _run_now(proxy(scope, self.receive, _no_send))  # type: ignore[arg-type]
        self.request_id = request_id_from(scope["headers"]).encode()
        scope["state"]["request_id"] = self.request_id.decode()
        plane = paths.plane
        if plane.limits.client_rate:
            refusal = plane.limits.client_refusal(scope)
            if refusal is not None:
                self.respond(refusal)
                return
        handler: Handler
        if self.body_late:  # (the connection closes after the answer: see direct.py)
            handler = _body_late
        else:
            handler = functools.partial(self.route.body_handler, raw=self.body)
        request = Request(scope, self.receive)
        self.coro = answer(plane, self.name, request, self.route.needed, handler)
        self.step()

    def step(self, _done: object = None) -> None:
        """Run the coroutine to its next wait, as a task would."""
        assert self.coro is not None
        try:
            waited = self.coro.send(None)
        except StopIteration as done:
            self.finish(*done.value)
            return
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as exc:  # a cancelled future, say: answered as uvicorn would
            self.fail(exc)
            return
        if waited is None:  # a bare yield: go on at the loop's next turn
            self.protocol.loop.call_soon(self.step, context=self.context)
        else:
            waited._asyncio_future_blocking = False
            waited.add_done_callback(self.step, context=self.context)

    def finish(self, response: Response, admitted: bool, rule: str | None) -> None:
        try:
            self.respond(response)
            status = response.status_code
            version = version_of(response)
            self.front.fast_paths.plane.finished(
                self.name, status, version, admitted, self.started, rule
            )
        except Exception as exc:
            self.fail(exc)

    def fail(self, exc: BaseException) -> None:
        """A failure outside the route's own error answers: logged; a 500 if nothing was
        answered yet (and the connection closed, as uvicorn does), else the close."""
        log.error("request %s failed", self.request_id.decode() or "-", exc_info=exc)
        if self.written:
            self.protocol.transport.close()
            return
        self.keep_alive = False
        message = "internal error; see the server log for this request id"
        self.respond(error_response(self.scope, 500, "internal", message))

    def respond(self, response: Response) -> None:
        """Write the answer's head and body in one piece."""
        protocol = self.protocol
        self.written = True
        if self.disconnected or protocol.transport.is_closing():
            self.response_complete = True
            return
        says_close = response.status_code != 200 and _says_close(response)
        keep_alive = self.keep_alive and not says_close
        head = [STATUS_LINE[response.status_code]]
        for name, value in (*protocol.server_state.default_headers, *response.raw_headers):
            head += (name, b": ", value, b"\r\n")
        head += (REQUEST_ID_HEADER, b": ", self.request_id, b"\r\n")
        if not keep_alive and not says_close:
            head.append(b"connection: close\r\n")
        head += (b"\r\n", bytes(response.body))
        protocol.write_whole(b"".join(head))
        if not keep_alive:  # uvicorn's order: close (the write goes first), then on
            protocol.transport.close()
        elif protocol.flow.write_paused:  # the client is not reading: wait, as uvicorn's send
            protocol.after_drain(self.complete)
            return
        self.complete()

    def complete(self) -> None:
        self.response_complete = True
        self.protocol.on_response_complete()

    async def receive(self) -> Message:
        """ASGI's ``receive`` over the body read already (for anything that reads it)."""
        if self.received:
            return {"type": "http.disconnect"}
        self.received = True
        return {"type": "http.request", "body": self.body, "more_body": False}


def _says_close(response: Response) -> bool:
    """Whether the response ends its connection (``Connection: close``)."""
    for name, value in response.raw_headers:
        if name == b"connection" and b"close" in (t.strip() for t in value.lower().split(b",")):
            return True
    return False


def _run_now(coro: Coroutine[Any, Any, None]) -> None:
    """Run a coroutine that never waits (the proxy-headers rewrite) to its end."""
    try:
        coro.send(None)
    except StopIteration:
        return
    coro.close()
    raise RuntimeError("the proxy-headers middleware waited")


async def _body_late(*_: Any) -> Response:
    """The route's handler for a body that missed its deadline (admitted callers only, as
    on the ASGI route, where the key is checked before the body is read)."""
    raise body_late()


async def _no_send(_message: Any) -> None:
    raise RuntimeError("the direct path has no ASGI send")
