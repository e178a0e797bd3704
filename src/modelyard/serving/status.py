"""Health, metrics and read-only admin routes."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Depends, Request
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.responses import Response

from modelyard.domain.jsonable import plain
from modelyard.errors import NotFound
from modelyard.serving.auth import METRICS, OPEN, require
from modelyard.serving.dataplane import plane_of

router = APIRouter()


def json_response(body: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(plain(body)), status_code=status, media_type="application/json")


@router.api_route(
    "/health/live", methods=["GET", "HEAD"], dependencies=[Depends(require(OPEN))], tags=["health"]
)
async def live() -> Response:
    """The process is up and its event loop answers."""
    return json_response({"live": True})


@router.api_route(
    "/health/ready", methods=["GET", "HEAD"], dependencies=[Depends(require(OPEN))], tags=["health"]
)
async def ready(request: Request) -> Response:
    """Ready once endpoints are loaded and warm, unless draining or serving nothing at all.

    The body counts endpoints that serve nothing, serve a fallback or have a stuck model,
    and says whether the store answers: a replica whose database is down keeps answering
    from its loaded versions, so it stays ready and says it is degraded. Why something
    failed is not told here (this route is open): see ``GET /api/endpoints/{name}``."""
    plane = plane_of(request)
    table = plane.table
    is_ready = plane.ready
    endpoints = {
        "known": len(table.known),
        "serving": len(table.active),
        "serving_nothing": len(table.serving_nothing),
        "fallback": len(table.fallbacks),
        "stuck": len(table.stuck),
    }
    degraded = []
    if table.store_down_since is not None:
        degraded.append("store")
    if endpoints["serving_nothing"] or endpoints["fallback"] or endpoints["stuck"]:
        degraded.append("endpoints")
    return json_response(
        {
            "ready": is_ready,
            "draining": plane.draining,
            "degraded": degraded,
            "store": "down" if table.store_down_since is not None else "ok",
            "endpoints": endpoints,
        },
        200 if is_ready else 503,
    )


@router.get("/metrics", dependencies=[Depends(require(METRICS))], tags=["health"])
async def metrics(request: Request) -> Response:
    """Prometheus exposition."""
    return Response(plane_of(request).metrics.exposition(), media_type=CONTENT_TYPE_LATEST)


@router.get("/api/endpoints", dependencies=[Depends(require("read"))], tags=["admin"])
async def list_endpoints(request: Request) -> Response:
    """Every endpoint as this server process serves it."""
    key = request.state.key
    names = plane_of(request).table.known
    if key is not None and key.endpoint is not None:  # a key for one endpoint sees only it
        names = [n for n in names if n == key.endpoint]
    return json_response([_status(request, name) for name in names])


@router.get("/api/endpoints/{name}", dependencies=[Depends(require("read"))], tags=["admin"])
async def endpoint_status(name: str, request: Request) -> Response:
    """One endpoint: its routes, the version this process serves, queue and last load error."""
    if name not in plane_of(request).table.known:
        raise NotFound(f"endpoint {name!r} not found")
    return json_response(_status(request, name))


def _status(request: Request, name: str) -> dict[str, Any]:
    plane = plane_of(request)
    table = plane.table
    active = table.active.get(name)
    fallback = table.fallbacks.get(name)
    return {
        "name": name,
        "serving": active.loaded.ref if active else None,
        "versions": [v.loaded.ref for v in active.every] if active else [],
        "routes": [plain(r) for r in active.endpoint.routes] if active else None,
        "limits": plain(active.endpoint.limits) if active else None,
        "queued_rows": active.batcher.queued_rows if active else 0,
        "load_error": table.errors.get(name),
        "fallback": plain(fallback) if fallback else None,
        "stuck_calls": {v.loaded.ref: v.loaded.runner.stuck for v in active.every}
        if active
        else {},
        "recent_errors": plane.recent_errors.of(name),
    }
