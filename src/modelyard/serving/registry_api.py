"""Admin API for the registry: models, versions, lineage and alias history to read; the
promotion gate, promote and roll back to act. The console is built on these routes only.

Every action takes a reason and is recorded as the key that asked (``key:<id>``). Alias
moves take a compare-and-set — ``expect`` in the body, or ``If-Match`` with the model's
``ETag`` (its aliases, ``"production=3,staging=2"``) — so two people acting on the same
page cannot both win; a refused move is audited by the store (``alias.refused``)."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator, Mapping
from typing import Any

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from modelyard.domain.entities import Model, ModelVersion
from modelyard.domain.jsonable import plain
from modelyard.errors import AliasMoved, InvalidInput
from modelyard.serving.auth import actor_of, require
from modelyard.serving.body import Reasoned, body_schema, read_body
from modelyard.serving.dataplane import admin_of
from modelyard.serving.errors import HttpError
from modelyard.serving.status import json_response
from modelyard.serving.storecall import ACTION_SECONDS, from_store

router = APIRouter(tags=["registry"])
MAX_PAGE = 500
MAX_VERSION = 2**31 - 1
_ALIAS_TAG = re.compile(r'^"([a-z0-9._=,-]*)"$')
NAME = Path(description="The model's name", max_length=64)


class GateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int = Field(ge=1, le=2**31 - 1, description="The candidate version")
    alias: str = Field("production", min_length=1, max_length=64)


class PromoteRequest(Reasoned, GateRequest):
    force: bool = Field(False, description="Move the alias even if the gate fails")
    expect: int | None = Field(
        None,
        ge=0,
        le=2**31 - 1,
        description="Refuse (409) unless the alias points at this version now (0: unset)",
    )


class RollbackRequest(Reasoned):
    alias: str = Field("production", min_length=1, max_length=64)
    expect: int | None = Field(
        None,
        ge=0,
        le=2**31 - 1,
        description="Refuse (409) unless the alias points at this version now",
    )


@router.get(
    "/api/models",
    dependencies=[Depends(require("read", yard_wide=True))],
    summary="Models with their aliases, latest version and last change, a page at a time",
)
async def list_models(
    request: Request,
    limit: int = Query(50, ge=1, le=MAX_PAGE),
    offset: int = Query(0, ge=0, le=10**9),
    q: str | None = Query(None, max_length=64, description="Part of a model's name"),
) -> Response:
    registry = admin_of(request).registry

    def read() -> dict[str, Any]:
        models = registry.list_models(limit, offset, q)
        return {
            "total": registry.count_models(q),
            "limit": limit,
            "offset": offset,
            "models": [_model(m) for m in models],
        }

    return json_response(await from_store(request, read))


@router.get(
    "/api/models/{name}",
    dependencies=[Depends(require("read", yard_wide=True))],
    summary="A model: its versions (metrics, signature, status), aliases and alias history",
)
async def model(
    request: Request,
    name: str = NAME,
    history: int = Query(100, ge=1, le=MAX_PAGE, description="Newest alias events to list"),
) -> Response:
    registry = admin_of(request).registry

    def read() -> dict[str, Any]:
        found = registry.get_model(name)
        versions = registry.list_versions(name)
        events = registry.alias_history(name)[-history:]
        return {
            **_model(found),
            "versions": [_version(v) for v in reversed(versions)],
            "alias_history": [plain(e) for e in reversed(events)],
        }

    body = await from_store(request, read)
    response = json_response(body)
    response.headers["ETag"] = alias_etag(body["aliases"])
    return response


@router.get(
    "/api/models/{name}/versions/{version}",
    dependencies=[Depends(require("read", yard_wide=True))],
    summary="One version: signature, parameters, tags and lineage (run, datasets, code)",
)
async def version(
    request: Request, name: str = NAME, version: int = Path(ge=1, le=2**31 - 1)
) -> Response:
    registry = admin_of(request).registry

    def read() -> dict[str, Any]:
        found: ModelVersion = registry.get_version(name, version)
        return {
            **_version(found),
            "signature": found.signature,
            "params": found.params,
            "tags": found.tags,
            "description": found.description,
            "lineage": registry.lineage(found.ref),
        }

    return json_response(await from_store(request, read))


@router.post(
    "/api/models/{name}/gate",
    dependencies=[Depends(require("write", yard_wide=True))],
    openapi_extra=body_schema(GateRequest),
    summary="Run the promotion gate on a version, without moving anything",
)
async def gate(request: Request, name: str = NAME) -> Response:
    """Loads the candidate and the alias's current version and judges the candidate on its
    registered sample rows (data, metrics against the champion, robustness, latency)."""
    body = await read_body(request, GateRequest)
    registry = admin_of(request).registry
    report = await from_store(
        request, registry.check_promotion, name, body.version, body.alias, timeout=ACTION_SECONDS
    )
    return json_response(report.to_json())


@router.post(
    "/api/models/{name}/promote",
    dependencies=[Depends(require("write", yard_wide=True))],
    openapi_extra=body_schema(PromoteRequest),
    summary="Promote a version: the gate runs, and the alias moves only if it passes",
    responses={
        409: {"description": "the gate failed (its report is in the body), or `expect` is stale"},
        412: {"description": "`If-Match` is stale: the alias moved"},
    },
)
async def promote(request: Request, name: str = NAME) -> Response:
    body = await read_body(request, PromoteRequest)
    registry = admin_of(request).acting_as(actor_of(request)).registry
    expect, conditional = _expectation(request, body.alias, body.expect)
    with _precondition(conditional):
        result = await from_store(
            request,
            lambda: registry.promote(
                name,
                body.version,
                body.alias,
                force=body.force,
                reason=body.reason,
                expect=expect,
            ),
            timeout=ACTION_SECONDS,
            changes=True,
        )
    outcome = {
        "promoted": result.moved is not None,
        "forced": result.forced,
        "moved": plain(result.moved) if result.moved is not None else None,
        "report": result.report.to_json(),
    }
    if result.moved is None:
        failed = [c for c in result.report.checks if not c.passed]
        outcome["error"] = {
            "code": "gate_failed",
            "message": f"the promotion gate failed {len(failed)} check(s); nothing moved",
            "problems": [{"field": c.name, "rule": c.detail} for c in failed],
        }
        return json_response(outcome, 409)
    return json_response(outcome)


@router.post(
    "/api/models/{name}/rollback",
    dependencies=[Depends(require("write", yard_wide=True))],
    openapi_extra=body_schema(RollbackRequest),
    summary="Point an alias back at the version it pointed at before",
    responses={
        409: {"description": "`expect` is stale, or there is nothing to roll back to"},
        412: {"description": "`If-Match` is stale: the alias moved"},
    },
)
async def rollback(request: Request, name: str = NAME) -> Response:
    body = await read_body(request, RollbackRequest)
    registry = admin_of(request).acting_as(actor_of(request)).registry
    expect, conditional = _expectation(request, body.alias, body.expect)
    with _precondition(conditional):
        event = await from_store(
            request,
            lambda: registry.rollback(name, body.alias, reason=body.reason, expect=expect),
            timeout=ACTION_SECONDS,
            changes=True,
        )
    return json_response(plain(event))


def alias_etag(aliases: Mapping[str, int]) -> str:
    """A model's aliases as an entity tag: ``"production=3,staging=2"`` (``""``: none)."""
    return '"' + ",".join(f"{a}={v}" for a, v in sorted(aliases.items())) + '"'


def _expectation(request: Request, alias: str, expect: int | None) -> tuple[int | None, bool]:
    """The compare-and-set a move asks for: ``expect`` from the body, or ``alias``'s entry
    in an ``If-Match`` tag (absent: the alias must be unset; ``*``: no condition). Returns
    it and whether it came from ``If-Match``."""
    header = request.headers.get("if-match")
    if header is None or header.strip() == "*":
        return expect, False
    if header.strip().startswith("W/"):  # If-Match compares strongly (RFC 9110 13.1.1)
        raise HttpError(412, "precondition_failed", "a weak entity tag never matches If-Match")
    tag = _ALIAS_TAG.match(header.strip())
    entries = [e.partition("=") for e in tag[1].split(",") if e] if tag else None
    if entries is None or not all(
        key and number.isdigit() and 1 <= int(number) <= MAX_VERSION for key, _, number in entries
    ):
        raise HttpError(
            400,
            "bad_request",
            f"If-Match {header[:100]!r}: expected one entity tag as the ETag of "
            'GET /api/models/{name}, e.g. "production=3" (weak tags never match)',
        )
    wanted = {key: int(number) for key, _, number in entries}
    from_header = wanted.get(alias, 0)
    if expect is not None and expect != from_header:
        raise InvalidInput(
            f"If-Match says {from_header} but expect says {expect} for {alias}: send one"
        )
    return from_header, True


@contextlib.contextmanager
def _precondition(conditional: bool) -> Iterator[None]:
    """A stale ``If-Match`` is HTTP's 412 (RFC 9110); a stale ``expect`` stays a 409."""
    try:
        yield
    except AliasMoved as exc:
        if not conditional:
            raise
        raise HttpError(412, "precondition_failed", str(exc)) from None


def _model(model: Model) -> dict[str, Any]:
    return {
        "name": model.name,
        "description": model.description,
        "latest_version": model.latest_version,
        "versions": model.versions,
        "aliases": model.aliases,
        "created_at": model.created_at.isoformat(),
        "last_change": model.last_change.isoformat() if model.last_change else None,
    }


def _version(version: ModelVersion) -> dict[str, Any]:
    inputs = version.signature.get("inputs", [])
    return {
        "ref": version.ref,
        "version": version.version,
        "status": str(version.status),
        "flavor": version.flavor,
        "aliases": list(version.aliases),
        "metrics": version.metrics,
        "inputs": len(inputs) if isinstance(inputs, list) else None,
        "output": version.signature.get("output", {}).get("kind"),
        "run_id": version.run_id,
        "datasets": list(version.datasets),
        "commit": version.provenance.get("git", {}).get("commit"),
        "created_at": version.created_at.isoformat(),
        "created_by": version.created_by,
        "checks_off": version.checks_off,
    }
