"""Deny by default: every route says which scope it needs."""

from pathlib import Path

from fastapi.routing import APIRoute

from modelyard import Yard
from modelyard.config import Settings
from modelyard.serving.app import create_app
from modelyard.serving.auth import METRICS, OPEN
from modelyard.serving.fastpath import ROUTES, match

DOCS: set[str] = set()
OPEN_PATHS = {
    "/health/live",
    "/health/ready",
    "/v2",
    "/v2/health/live",
    "/v2/health/ready",
    "/docs/assets/{name}",
    "/",
    "/ui",
    "/ui/assets/{digest}/{name}",
}


def test_every_route_declares_a_scope(tmp_path: Path) -> None:
    with Yard(tmp_path / "h") as yard:
        app = create_app(yard.services, Settings(home=tmp_path / "h"))
    declared = {}
    for route in _flatten(app.routes):
        if route.path in DOCS:
            continue
        assert isinstance(route, APIRoute), route.path
        scopes = [getattr(d.call, "scope", None) for d in route.dependant.dependencies]
        scopes = [s for s in scopes if s is not None]
        assert len(scopes) == 1, f"{route.path} declares no scope"
        declared[route.path] = scopes[0]
    assert {p for p, s in declared.items() if s == OPEN} == OPEN_PATHS
    assert declared["/metrics"] == METRICS  # open unless MODELYARD_METRICS_SCOPE=read
    assert declared["/v1/endpoints/{name}/predict"] == "predict"
    assert declared["/api/endpoints"] == "read"
    assert declared["/openapi.json"] == declared["/docs"] == "read"


def _flatten(routes: list) -> list:
    """Routes of included routers too (FastAPI wraps them since 0.160)."""
    out = []
    for route in routes:
        inner = getattr(route, "original_router", None)
        out.extend(_flatten(inner.routes) if inner is not None else [route])
    return out


def test_fast_paths_need_the_same_scopes_as_their_documented_routes() -> None:
    assert {route.needed for route in ROUTES.values()} == {"predict"}
    assert match("/v1/endpoints/churn-api/predict") is not None
    assert match("/v2/models/churn-api/infer") is not None
    for path in ("/v1/endpoints//predict", "/v1/endpoints/a/b/predict", "/v2/models/x/ready"):
        assert match(path) is None
