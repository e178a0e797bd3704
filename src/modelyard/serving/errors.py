"""The one table from modelyard's errors to HTTP status codes, and the error body."""

from __future__ import annotations

import logging
from typing import Any

import orjson
from starlette.responses import Response
from starlette.types import Scope

from modelyard.errors import SchemaMismatch, YardError

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
    status: int,
    code: str,
    message: str,
    request_id: str | None,
    problems: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    body: dict[str, Any] = {"error": {"code": code, "message": message}}
    if problems:
        body["error"]["problems"] = problems
    if request_id:
        body["request_id"] = request_id
    return Response(
        orjson.dumps(body), status_code=status, media_type="application/json", headers=headers
    )


def yard_error_response(exc: YardError, request_id: str | None) -> Response:
    status = STATUS.get(exc.code, 500)
    headers = {"Retry-After": "1"} if exc.code in ("overloaded", "not_ready") else None
    problems = exc.problems if isinstance(exc, SchemaMismatch) else None
    return error_response(status, exc.code, str(exc), request_id, problems, headers)


def respond_to_error(scope: Scope, exc: Exception) -> Response:
    """Any exception raised while handling a request → the JSON error response."""
    from modelyard.serving.context import request_id

    rid = request_id(scope)
    if isinstance(exc, YardError):
        response = yard_error_response(exc, rid)
    elif isinstance(exc, HttpError):
        response = error_response(exc.status, exc.code, str(exc), rid, headers=exc.headers)
    else:
        log.error("request %s failed", rid, exc_info=exc)
        response = error_response(
            500, "internal", "internal error; see the server log for this request id", rid
        )
    return shape_for_path(scope, response)


def shape_for_path(scope: Scope, response: Response) -> Response:
    """The v2 protocol's error body is ``{"error": "<message>"}``; keep that shape there."""
    if not str(scope.get("path", "")).startswith("/v2/"):
        return response
    body: dict[str, Any] = orjson.loads(bytes(response.body))
    flat = {"error": body["error"]["message"], **{k: v for k, v in body.items() if k != "error"}}
    headers = {
        k: v
        for k, v in response.headers.items()
        if k.lower() not in ("content-length", "content-type")
    }
    return Response(
        orjson.dumps(flat),
        status_code=response.status_code,
        media_type="application/json",
        headers=headers,
    )
