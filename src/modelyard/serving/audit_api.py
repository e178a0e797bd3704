"""Admin API for the audit log (every mutation: actor, time, action, target, reason) and
for the caller's own session (which key, which scopes: what the console may offer)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response

from modelyard.domain.jsonable import plain
from modelyard.domain.keys import SCOPES, ApiKey
from modelyard.serving.auth import actor_of, require
from modelyard.serving.dataplane import admin_of, plane_of
from modelyard.serving.status import json_response
from modelyard.serving.storecall import from_store

router = APIRouter(tags=["admin"])
MAX_PAGE = 500


@router.get(
    "/api/audit",
    dependencies=[Depends(require("read", yard_wide=True))],
    summary="The audit log, newest first, filtered and paged",
)
async def audit(
    request: Request,
    target: str | None = Query(
        None, max_length=256, description="A model, version or endpoint: churn, churn@3"
    ),
    action: str | None = Query(
        None, max_length=64, description="An action (promote), or a family (gate.*)"
    ),
    actor: str | None = Query(None, max_length=128, description="Who made the change"),
    before: int | None = Query(
        None, ge=1, le=2**63 - 1, description="Only events older than this seq (paging)"
    ),
    limit: int = Query(50, ge=1, le=MAX_PAGE),
) -> Response:
    upkeep = admin_of(request).upkeep

    def read() -> dict[str, Any]:
        events = upkeep.audit(target or None, action or None, limit, actor=actor, before=before)
        return {
            "events": [plain(e) for e in events],
            "next_before": events[-1].seq if len(events) == limit else None,
        }

    return json_response(await from_store(request, read))


@router.get(
    "/api/session",
    dependencies=[Depends(require("read"))],
    summary="The key this request came with, its scopes, and who changes are recorded as",
)
async def session(request: Request) -> Response:
    key: ApiKey | None = request.state.key
    if key is None:  # keys are off (--dev on loopback): everything is allowed
        scopes: list[str] = list(SCOPES)
    else:
        scopes = [s for s in SCOPES if key.allows(s)]
    return json_response(
        {
            "auth": plane_of(request).auth.enabled,
            "key": None if key is None else key.id,
            "endpoint": None if key is None else key.endpoint,
            "scopes": scopes,
            "actor": actor_of(request),
        }
    )
