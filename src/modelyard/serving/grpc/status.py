"""The one table from the HTTP answer a failure gets to the gRPC status it gets instead.

gRPC failures go through the same error handling as HTTP (``serving/errors.py``: public
messages, logging, the endpoint's recent errors), then are answered with these codes.
"""

from __future__ import annotations

from typing import Any

import grpc
import orjson
from starlette.responses import Response

CODES = {
    400: grpc.StatusCode.INVALID_ARGUMENT,
    401: grpc.StatusCode.UNAUTHENTICATED,
    403: grpc.StatusCode.PERMISSION_DENIED,
    404: grpc.StatusCode.NOT_FOUND,
    408: grpc.StatusCode.DEADLINE_EXCEEDED,
    409: grpc.StatusCode.FAILED_PRECONDITION,
    413: grpc.StatusCode.RESOURCE_EXHAUSTED,
    415: grpc.StatusCode.INVALID_ARGUMENT,
    422: grpc.StatusCode.INVALID_ARGUMENT,
    429: grpc.StatusCode.RESOURCE_EXHAUSTED,
    500: grpc.StatusCode.INTERNAL,
    503: grpc.StatusCode.UNAVAILABLE,
    504: grpc.StatusCode.DEADLINE_EXCEEDED,
}
MAX_PROBLEMS = 20  # in one status message; the rest are summed up


def code_of(status: int) -> grpc.StatusCode:
    if status in CODES:
        return CODES[status]
    return grpc.StatusCode.INVALID_ARGUMENT if status < 500 else grpc.StatusCode.INTERNAL


def details_of(failure: Response) -> str:
    """The message of a v2 error body (``{"error": message, "problems"?}``), with each
    problem as ``row R, feature F: rule``."""
    body: dict[str, Any] = orjson.loads(failure.body)
    message = str(body.get("error", "request failed"))
    problems = body.get("problems") or []
    if not problems:
        return message
    listed = [_problem(p) for p in problems[:MAX_PROBLEMS]]
    if len(problems) > MAX_PROBLEMS:
        listed.append(f"and {len(problems) - MAX_PROBLEMS} more")
    return f"{message}: " + "; ".join(listed)


def _problem(problem: dict[str, Any]) -> str:
    where = []
    if problem.get("row") is not None:
        where.append(f"row {problem['row']}")
    if problem.get("feature") is not None:
        where.append(f"feature {problem['feature']!r}")
    return f"{', '.join(where)}: {problem.get('rule')}" if where else str(problem.get("rule"))
