"""Picking the version that answers a request, and the write-scoped override header."""

from __future__ import annotations

from collections.abc import Set as AbstractSet
from typing import Any

from starlette.requests import Request

from modelyard.runtime.active import ActiveEndpoint
from modelyard.serving.errors import HttpError
from modelyard.serving.headers import header

OVERRIDE_HEADER = "x-modelyard-version"
KEY_HEADER = "x-routing-key"
OVERRIDE_HEADER_BYTES = OVERRIDE_HEADER.encode()
KEY_HEADER_BYTES = KEY_HEADER.encode()
MAX_KEY = 256


def pick_route(
    active: ActiveEndpoint, request: Request, payload: Any
) -> tuple[ActiveEndpoint, str | None]:
    """(the route to use, the routing key) — ``X-Modelyard-Version: churn@4`` forces one of
    the endpoint's versions (keys with the write scope only); otherwise the sticky key (the
    ``X-Routing-Key`` header, or the endpoint's sticky field in the first row) picks by
    stable hash, and requests without one are spread by weight."""
    forced = header(request, OVERRIDE_HEADER_BYTES)
    if forced:
        key = getattr(request.state, "key", None)
        if key is not None and not key.allows("write", active.endpoint.name):
            raise HttpError(403, "forbidden", f"{OVERRIDE_HEADER} needs a key with the write scope")
        return active.pick(None, forced), None
    routing_key = header(request, KEY_HEADER_BYTES) or _payload_key(
        active.endpoint.sticky_key, payload
    )
    if routing_key is not None and len(routing_key) > MAX_KEY:
        raise HttpError(400, "bad_request", f"routing key longer than {MAX_KEY} characters")
    if not active.variants:
        return active, routing_key
    return active.pick(routing_key), routing_key


def _payload_key(field: str | None, payload: Any) -> str | None:
    """The sticky field's value in the first row (records or columns)."""
    if field is None or not isinstance(payload, dict):
        return None
    value: Any = None
    rows = payload.get("instances")
    if isinstance(rows, list) and rows and isinstance(rows[0], dict):
        value = rows[0].get(field)
    columns = payload.get("inputs")
    if isinstance(columns, dict) and isinstance(columns.get(field), list) and columns[field]:
        value = columns[field][0]
    if value is None or isinstance(value, dict | list):
        return None
    return str(value)


def without_field(payload: Any, field: str | None, features: AbstractSet[str]) -> Any:
    """The payload without the sticky field when it is not a model feature (it only routes)."""
    if field is None or field in features or not isinstance(payload, dict):
        return payload
    rows = payload.get("instances")
    if isinstance(rows, list):
        return {
            **payload,
            "instances": [
                {k: v for k, v in r.items() if k != field} if isinstance(r, dict) else r
                for r in rows
            ],
        }
    columns = payload.get("inputs")
    if isinstance(columns, dict) and field in columns:
        return {**payload, "inputs": {k: v for k, v in columns.items() if k != field}}
    return payload
