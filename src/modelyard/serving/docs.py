"""API documentation: the OpenAPI document and Swagger UI, served from local files.

Like every route they declare a scope (``read``); the UI's JavaScript and CSS come from the
``swagger-ui-bundle`` package, never a CDN, so the docs work on a closed network.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path

import orjson
from fastapi import APIRouter, Depends, Request
from fastapi.openapi.docs import get_swagger_ui_html
from starlette.responses import HTMLResponse, Response

from modelyard.errors import NotFound
from modelyard.serving.auth import OPEN, require

router = APIRouter(tags=["docs"], include_in_schema=False)
ASSETS = ("swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png")


def _assets_dir() -> Path:
    import swagger_ui_bundle

    return Path(swagger_ui_bundle.swagger_ui_path)


@router.get("/openapi.json", dependencies=[Depends(require("read"))])
async def openapi(request: Request) -> Response:
    return Response(orjson.dumps(request.app.openapi()), media_type="application/json")


@router.get("/docs", dependencies=[Depends(require("read"))])
async def swagger_ui(request: Request) -> HTMLResponse:
    return get_swagger_ui_html(
        openapi_url="/openapi.json",
        title=f"{request.app.title} API",
        swagger_js_url="/docs/assets/swagger-ui-bundle.js",
        swagger_css_url="/docs/assets/swagger-ui.css",
        swagger_favicon_url="/docs/assets/favicon-32x32.png",
    )


@router.get("/docs/assets/{name}", dependencies=[Depends(require(OPEN))])
async def asset(name: str) -> Response:
    """The UI's static files (a public library, no data): a fixed list, never a path."""
    if name not in ASSETS:
        raise NotFound(f"no asset {name!r}")
    path = _assets_dir() / name
    media_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    return Response(
        path.read_bytes(), media_type=media_type, headers={"Cache-Control": "public, max-age=86400"}
    )
