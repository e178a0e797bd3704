"""The inference routes without the web framework's per-request machinery.

FastAPI's dependency solving, exit stacks and middleware cost more per request than the
whole prediction (profiled: ~60% of a one-row request). The two inference routes are
therefore dispatched here, straight to the same handlers the documented FastAPI routes
call, with the same auth check and error responses; everything else goes to FastAPI.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from modelyard.serving.answers import version_of
from modelyard.serving.dataplane import DataPlane
from modelyard.serving.errors import refusal_rule_of, respond_to_error
from modelyard.serving.v1 import handle_predict, predict_body
from modelyard.serving.v2 import handle_infer, infer_body

Handler = Callable[[DataPlane, str, Request], Awaitable[Response]]


class BodyHandler(Protocol):
    """A route's handler of a body read and checked already (by the connection itself:
    serving/direct.py)."""

    def __call__(
        self, plane: DataPlane, name: str, request: Request, raw: bytes
    ) -> Awaitable[Response]: ...


@dataclass(frozen=True)
class Route:
    needed: str  # the key scope it needs
    handler: Handler  # reads the body itself, from ASGI's receive
    body_handler: BodyHandler  # takes the body read already
    binary: bool  # also takes binary tensors (Inference-Header-Content-Length), any type


# (path prefix, path suffix) → route; the endpoint's name lies between the two.
ROUTES: dict[tuple[str, str], Route] = {
    ("/v1/endpoints/", "/predict"): Route("predict", handle_predict, predict_body, binary=False),
    ("/v2/models/", "/infer"): Route("predict", handle_infer, infer_body, binary=True),
}


def match(path: str) -> tuple[Route, str] | None:
    """The route and endpoint name of an inference path, or ``None``."""
    for (prefix, suffix), route in ROUTES.items():
        if path.startswith(prefix) and path.endswith(suffix):
            name = path[len(prefix) : -len(suffix)]
            if name and "/" not in name:
                return route, name
    return None


class FastPaths:
    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self.plane: DataPlane = app.state.plane

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            found = match(scope["path"])
            if found is not None:
                route, name = found
                await self._handle(scope, receive, send, route.needed, route.handler, name)
                return
        await self.app(scope, receive, send)

    async def _handle(
        self, scope: Scope, receive: Receive, send: Send, needed: str, handler: Handler, name: str
    ) -> None:
        started = time.perf_counter()
        scope["app"] = self.app
        scope["path_params"] = {"name": name}
        plane = self.plane
        request = Request(scope, receive)
        response, admitted, rule = await answer(plane, name, request, needed, handler)
        await response(scope, receive, send)
        # Counted here so refusals (4xx) show too.
        plane.finished(name, response.status_code, version_of(response), admitted, started, rule)


async def answer(
    plane: DataPlane, name: str, request: Request, needed: str, handler: Handler
) -> tuple[Response, bool, str | None]:
    """An inference request's response: the caller admitted (API key, ``needed`` scope),
    then ``handler``; every failure becomes the documented JSON error. Also whether the
    caller was admitted, and a refusal's rule (for the request's metrics and monitor
    window). Shared by this fast path and the connection's own (serving/direct.py)."""
    plane.receiving.count += 1
    admitted = False
    rule = None
    try:
        if plane.auth.enabled:  # (off: no coroutine, no State object for nothing)
            request.state.key = await plane.auth.check(request, needed)
        admitted = True
        response = await handler(plane, name, request)
    except Exception as exc:  # every failure becomes the documented JSON error
        response = respond_to_error(request.scope, exc)
        rule = refusal_rule_of(exc)
    finally:
        plane.receiving.count -= 1
    return response, admitted, rule
