"""The web console at ``/ui``: a static page whose script reads and acts through the admin
API alone (no second source of truth), so everything it shows a script can fetch too.

Its files ship in the package and are served under names that carry their content hash
(cached for a year). The script is native ES modules (``ui/*.js``, no build step) importing
each other by relative URL, so they share one hash, that of all of them together. The chart
library is plotly.js from the ``plotly`` package, never a CDN. The page's
Content-Security-Policy allows scripts from this server only, so text from the yard (names,
reasons, feature values) cannot run as code even if it got into markup.
"""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from fastapi import APIRouter, Depends, Request
from starlette.responses import RedirectResponse, Response

from modelyard.errors import NotFound
from modelyard.serving.auth import OPEN, require

router = APIRouter(tags=["console"], include_in_schema=False)
HERE = Path(__file__).with_name("ui")
CSP = (
    "default-src 'none'; script-src 'self'; connect-src 'self'; img-src 'self' data: blob:; "
    "style-src 'self' 'unsafe-inline'; font-src 'self' data:; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
SECURITY = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
# Browsers run a module only when it comes as JavaScript (and nosniff holds classic scripts
# to that too); the types are fixed here rather than guessed from the machine's mime table.
MEDIA_TYPES = {".js": "text/javascript", ".css": "text/css"}


@dataclass(frozen=True)
class Asset:
    body: bytes
    gzipped: bytes
    media_type: str
    digest: str


def _plotly_js() -> Path:
    import plotly

    return Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


def _asset(body: bytes, name: str, digest: str) -> Asset:
    return Asset(body, gzip.compress(body, 6), MEDIA_TYPES[Path(name).suffix], digest)


def _digest(*bodies: bytes) -> str:
    hashed = hashlib.sha256()
    for body in bodies:
        hashed.update(hashlib.sha256(body).digest())
    return hashed.hexdigest()[:16]


@cache
def _assets() -> dict[str, Asset]:
    """Every file the page loads, read and compressed once per process.

    The modules share one digest: a module's URL changes whenever any module does, so a
    cached module never meets a neighbour from another release."""
    modules = {path.name: path.read_bytes() for path in sorted(HERE.glob("*.js"))}
    together = _digest(*(name.encode() + b"\0" + body for name, body in modules.items()))
    assets = {name: _asset(body, name, together) for name, body in modules.items()}
    for name, path in {"style.css": HERE / "style.css", "plotly.min.js": _plotly_js()}.items():
        body = path.read_bytes()
        assets[name] = _asset(body, name, _digest(body))
    return assets


def _modules() -> list[str]:
    """The console's own script files (``app.js`` is the entry)."""
    return [name for name in _assets() if name.endswith(".js") and name != "plotly.min.js"]


@cache
def _page() -> bytes:
    """index.html with each asset's hashed URL filled in, and every module preloaded (the
    browser fetches them at once instead of one import level after another)."""
    assets = _assets()
    html = (HERE / "index.html").read_text(encoding="utf-8")
    preload = "\n".join(
        f'<link rel="modulepreload" href="/ui/assets/{assets[name].digest}/{name}">'
        for name in _modules()
        if name != "app.js"
    )
    html = html.replace("{{modulepreload}}", preload)
    for name, asset in assets.items():
        html = html.replace(f"{{{{{name}}}}}", f"/ui/assets/{asset.digest}/{name}")
    return html.encode()


@router.get("/", dependencies=[Depends(require(OPEN))])
async def root() -> Response:
    return RedirectResponse("/ui", status_code=307)


@router.get("/ui", dependencies=[Depends(require(OPEN))])
async def page() -> Response:
    """The shell only (no data): the script asks for a key when the API wants one."""
    return Response(
        _page(),
        media_type="text/html; charset=utf-8",
        headers={**SECURITY, "Cache-Control": "no-cache"},
    )


@router.get("/ui/assets/{digest}/{name}", dependencies=[Depends(require(OPEN))])
async def asset(digest: str, name: str, request: Request) -> Response:
    """A fixed list of files, never a path; an old digest still gets the current file."""
    found = _assets().get(name)
    if found is None:
        raise NotFound(f"no console asset {name!r}")
    headers = {
        **SECURITY,
        "Cache-Control": "public, max-age=31536000, immutable"
        if digest == found.digest
        else "no-cache",
        "Vary": "Accept-Encoding",
    }
    if "gzip" in request.headers.get("accept-encoding", ""):
        headers["Content-Encoding"] = "gzip"
        return Response(found.gzipped, media_type=found.media_type, headers=headers)
    return Response(found.body, media_type=found.media_type, headers=headers)
