"""The inference routes without the web framework's per-request machinery.

FastAPI's dependency solving, exit stacks and middleware cost more per request than the
whole prediction (profiled: ~60% of a one-row request). The two inference routes are
therefore dispatched here, straight to the same handlers the documented FastAPI routes
call, with the same auth check and error responses; everything else goes to FastAPI.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from modelyard.serving.errors import respond_to_error
from modelyard.serving.v1 import handle_predict
from modelyard.serving.v2 import handle_infer

Handler = Callable[[Any, str, Request], Awaitable[Response]]
CALLERS_BUSINESS = frozenset((401, 403, 408, 413, 429))

# (prefix, suffix) → (scope needed, handler)
ROUTES: dict[tuple[str, str], tuple[str, Handler]] = {
    ("/v1/endpoints/", "/predict"): ("predict", handle_predict),
    ("/v2/models/", "/infer"): ("predict", handle_infer),
}


def match(path: str) -> tuple[str, Handler, str] | None:
    for (prefix, suffix), (scope, handler) in ROUTES.items():
        if path.startswith(prefix) and path.endswith(suffix):
            name = path[len(prefix) : -len(suffix)]
            if name and "/" not in name:
                return scope, handler, name
    return None


class FastPaths:
    def __init__(self, app: FastAPI) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            found = match(scope["path"])
            if found is not None:
                await self._handle(scope, receive, send, *found)
                return
        await self.app(scope, receive, send)

    async def _handle(
        self, scope: Scope, receive: Receive, send: Send, needed: str, handler: Handler, name: str
    ) -> None:
        started = time.perf_counter()
        scope["app"] = self.app
        scope["path_params"] = {"name": name}
        request = Request(scope, receive)
        state = self.app.state
        state.receiving.count += 1
        admitted = False
        try:
            request.state.key = await state.auth.check(request, needed)
            admitted = True
            response = await handler(state, name, request)
        except Exception as exc:  # every failure becomes the documented JSON error
            response = respond_to_error(scope, exc)
        finally:
            state.receiving.count -= 1
        await response(scope, receive, send)
        # Counted here so refusals (4xx) show too; unknown names share one label value so
        # URLs cannot grow the number of series.
        known = name in state.table.active or name in state.table.errors
        label = name if known else "unknown"
        version = response.headers.get("x-modelyard-version", "")
        state.metrics.requests.labels(label, version, str(response.status_code)).inc()
        # Refused keys (401/403) and requests refused by the limits on callers (408, 413,
        # 429) are the caller's business, not the endpoint's error rate; nor is anything
        # that failed before the caller was admitted (a key that could not be checked).
        if (
            admitted
            and response.status_code >= 400
            and response.status_code not in CALLERS_BUSINESS
            and known
            and state.observer is not None
        ):
            active = state.table.active.get(name)
            serving = version or (active.loaded.ref if active is not None else "")
            if serving:  # errors before any version loaded have no window to go to
                state.observer.failed(name, serving, response.status_code)
        state.metrics.latency.labels(label).observe((time.perf_counter() - started) * 1000)
