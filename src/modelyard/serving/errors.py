"""The one table from modelyard's errors to HTTP status codes, and the error body.

Bodies are ``{"error": {"code", "message", "problems"?}, "request_id"}``; on the Open
Inference Protocol's ``/v2/`` routes the protocol's own shape, ``{"error": "<message>"}``,
with ``code``, ``problems`` and ``request_id`` beside it.

The server's own failures (a model that raised, a store that does not answer, bytes that
fail their hash) are answered with a fixed sentence: their details name paths, hosts and
a model's own words, which are operators' business. They go to the log with the request
id, and to ``recent`` (read by the authenticated ``/api/endpoints/{name}``).
"""

from __future__ import annotations

import logging
import time
from collections import deque
from typing import Any

import orjson
from starlette.responses import Response
from starlette.types import Scope

from modelyard.domain.refusal_rules import OTHER, refusal_rule
from modelyard.errors import Overloaded, SchemaMismatch, YardError
from modelyard.serving.context import request_id

log = logging.getLogger(__name__)

STATUS = {
    "invalid": 422,
    "schema": 422,
    "unsupported": 422,
    "not_found": 404,
    "already_exists": 409,
    "conflict": 409,
    "untrusted": 403,
    "integrity": 500,
    "unavailable": 503,
    "overloaded": 503,
    "not_ready": 503,
    "timeout": 504,
    "model_error": 500,
}


# What callers are told of failures that are not theirs; the rest of the story is logged.
PUBLIC_MESSAGES = {
    "model_error": "the model failed on this request; its details are in the server log "
    "under this request id",
    "integrity": "a stored artifact failed its integrity check; see the server log",
    "unavailable": "the store does not answer; retry later",
}
RECENT_ERRORS = 20  # kept per endpoint for operators


class RecentErrors:
    """The last few server-side failures per endpoint, with their details."""

    def __init__(self) -> None:
        self._by_endpoint: dict[str, deque[dict[str, Any]]] = {}

    def add(self, endpoint: str, entry: dict[str, Any]) -> None:
        if endpoint not in self._by_endpoint and len(self._by_endpoint) >= 10_000:
            return  # made-up names must not grow this without bound
        self._by_endpoint.setdefault(endpoint, deque(maxlen=RECENT_ERRORS)).append(entry)

    def of(self, endpoint: str) -> list[dict[str, Any]]:
        return list(self._by_endpoint.get(endpoint, ()))


class HttpError(Exception):
    """A transport-level refusal (400 malformed JSON, 401, 403, 413, 415)."""

    def __init__(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.headers = headers or {}


def error_response(
    scope: Scope,
    status: int,
    code: str,
    message: str,
    problems: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    rid = request_id(scope)
    body: dict[str, Any]
    if str(scope.get("path", "")).startswith("/v2/"):
        body = {"error": message, "code": code}
        if problems:
            body["problems"] = problems
    else:
        body = {"error": {"code": code, "message": message}}
        if problems:
            body["error"]["problems"] = problems
    if rid:
        body["request_id"] = rid
    return Response(
        orjson.dumps(body), status_code=status, media_type="application/json", headers=headers
    )


def respond_to_error(scope: Scope, exc: Exception) -> Response:
    """Any exception raised while handling a request → the JSON error response."""
    if isinstance(exc, YardError):
        retry = exc.code in ("overloaded", "not_ready", "unavailable")
        after = exc.retry_after if isinstance(exc, Overloaded) else 1
        headers = {"Retry-After": str(after)} if retry else {}
        if exc.served_by:  # the version that failed: its error rate, not the primary's
            headers["X-Modelyard-Version"] = exc.served_by
        problems = exc.problems if isinstance(exc, SchemaMismatch) else None
        message = PUBLIC_MESSAGES.get(exc.code)
        if message is not None:
            _keep_details(scope, exc)
        return error_response(
            scope, STATUS.get(exc.code, 500), exc.code, message or str(exc), problems, headers
        )
    if isinstance(exc, HttpError):
        return error_response(scope, exc.status, exc.code, str(exc), headers=exc.headers)
    log.error("request %s failed", request_id(scope), exc_info=exc)
    return error_response(
        scope, 500, "internal", "internal error; see the server log for this request id"
    )


def refusal_rule_of(exc: Exception) -> str:
    """The rule a refused request broke, by its stable name (read only for 4xx)."""
    if isinstance(exc, SchemaMismatch):
        return refusal_rule(exc.code, exc.problems)
    if isinstance(exc, YardError | HttpError):
        return refusal_rule(exc.code)
    return OTHER


def _keep_details(scope: Scope, exc: YardError) -> None:
    """Log a server-side failure with its request id, and keep it for operators."""
    rid = request_id(scope)
    endpoint = str(scope.get("path_params", {}).get("name", ""))
    log.warning(
        "request %s%s%s failed (%s): %s",
        rid,
        f" to {endpoint}" if endpoint else "",
        f" on {exc.served_by}" if exc.served_by else "",
        exc.code,
        exc,
    )
    app = scope.get("app")
    plane = getattr(getattr(app, "state", None), "plane", None)  # the app's DataPlane
    recent = getattr(plane, "recent_errors", None)
    if endpoint and isinstance(recent, RecentErrors):
        recent.add(
            endpoint,
            {
                "at": time.time(),
                "request_id": rid,
                "code": exc.code,
                "version": exc.served_by,
                "message": str(exc),
            },
        )
