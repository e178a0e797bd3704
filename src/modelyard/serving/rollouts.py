"""Admin API (read) for rollouts, policies and A/B tests: what `rollout status`,
`policy list|history` and `abtest report` print, as JSON, for dashboards and the console."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from modelyard.serving.auth import require
from modelyard.serving.status import json_response

router = APIRouter(tags=["admin"], dependencies=[Depends(require("read"))])


@router.get("/api/endpoints/{name}/rollout", summary="The rollout in progress (or the latest)")
async def rollout(name: str, request: Request) -> Response:
    yard: Any = request.app.state.yard

    def read() -> dict[str, Any]:
        current = yard.rollout_status(name)
        history = [
            e.to_json()
            for e in yard.rollout_history(name)
            if e.details.get("rollout") == current.id
        ]
        return {**current.to_json(), "history": history}

    return json_response(await asyncio.to_thread(read))


@router.get("/api/endpoints/{name}/policies", summary="Policies, their state and history")
async def policies(name: str, request: Request) -> Response:
    yard: Any = request.app.state.yard

    def read() -> dict[str, Any]:
        return {
            "policies": [p.to_json() for p in yard.list_policies(name)],
            "history": [e.to_json() for e in yard.policy_history(name, 100)],
        }

    return json_response(await asyncio.to_thread(read))


@router.get("/api/endpoints/{name}/abtest", summary="The running (or last) A/B test's report")
async def abtest(name: str, request: Request) -> Response:
    yard: Any = request.app.state.yard
    return json_response(await asyncio.to_thread(yard.abtest_report, name))
