"""Admin API for rollouts, policies and A/B tests: what `rollout status`, `policy
list|history` and `abtest report` print, as JSON, and pausing, resuming or aborting a
rollout (each with a reason, recorded as the key that asked)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from modelyard.serving.auth import actor_of, require
from modelyard.serving.body import Reasoned, body_schema, read_body
from modelyard.serving.dataplane import admin_of
from modelyard.serving.status import json_response
from modelyard.serving.storecall import ACTION_SECONDS, SUMMARY_SECONDS, from_store

router = APIRouter(tags=["admin"])
READ = [Depends(require("read"))]
STEERING = {"pause": "pause_rollout", "resume": "resume_rollout", "abort": "abort_rollout"}


@router.get(
    "/api/endpoints/{name}/rollout",
    dependencies=READ,
    summary="The rollout in progress (or the latest)",
)
async def rollout(name: str, request: Request) -> Response:
    traffic = admin_of(request).traffic

    def read() -> dict[str, Any]:
        current = traffic.rollout_status(name)
        history = [
            e.to_json()
            for e in traffic.rollout_history(name)
            if e.details.get("rollout") == current.id
        ]
        return {**current.to_json(), "history": history}

    return json_response(await from_store(request, read))


@router.get(
    "/api/endpoints/{name}/policies",
    dependencies=READ,
    summary="Policies, their state and history",
)
async def policies(name: str, request: Request) -> Response:
    traffic = admin_of(request).traffic

    def read() -> dict[str, Any]:
        return {
            "policies": [p.to_json() for p in traffic.list_policies(name)],
            "history": [e.to_json() for e in traffic.policy_history(name, 100)],
        }

    return json_response(await from_store(request, read))


@router.get(
    "/api/endpoints/{name}/abtest",
    dependencies=READ,
    summary="The running (or last) A/B test's report",
)
async def abtest(name: str, request: Request) -> Response:
    experiments = admin_of(request).experiments
    return json_response(
        await from_store(request, experiments.abtest_report, name, timeout=SUMMARY_SECONDS)
    )


@router.post(
    "/api/endpoints/{name}/rollout/{step}",
    dependencies=[Depends(require("write"))],
    openapi_extra=body_schema(Reasoned),
    summary="Pause, resume or abort the endpoint's rollout",
    responses={409: {"description": "no rollout in a state that allows it"}},
)
async def steer(name: str, request: Request, step: Literal["pause", "resume", "abort"]) -> Response:
    """Aborting puts the routes back as they were before the rollout started."""
    body = await read_body(request, Reasoned)
    traffic = admin_of(request).acting_as(actor_of(request)).traffic
    method = getattr(traffic, STEERING[step])
    rollout = await from_store(
        request, lambda: method(name, reason=body.reason), timeout=ACTION_SECONDS, changes=True
    )
    return json_response(rollout.to_json())
