"""The one table from modelyard's errors to HTTP status codes, and the error body.

Bodies are ``{"error": {"code", "message", "problems"?}, "request_id"}``; on the Open
Inference Protocol's ``/v2/`` routes the protocol's own shape, ``{"error": "<message>"}``,
with ``code``, ``problems`` and ``request_id`` beside it.
"""

from __future__ import annotations

import logging
from typing import Any

import orjson
from starlette.responses import Response
from starlette.types import Scope

from modelyard.errors import SchemaMismatch, YardError
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
        headers = {"Retry-After": "1"} if exc.code in ("overloaded", "not_ready") else {}
        if exc.served_by:  # the version that failed: its error rate, not the primary's
            headers["X-Modelyard-Version"] = exc.served_by
        problems = exc.problems if isinstance(exc, SchemaMismatch) else None
        return error_response(
            scope, STATUS.get(exc.code, 500), exc.code, str(exc), problems, headers
        )
    if isinstance(exc, HttpError):
        return error_response(scope, exc.status, exc.code, str(exc), headers=exc.headers)
    log.error("request %s failed", request_id(scope), exc_info=exc)
    return error_response(
        scope, 500, "internal", "internal error; see the server log for this request id"
    )
