"""API-key checks: every route declares the scope it needs; deny by default.

Keys are looked up through a :class:`KeyCache` (no database round trip per request, and
loaded versions keep answering through a database outage). Anything that cannot be a key
is refused before it costs memory or a look-up.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request

from modelyard.domain.keys import ApiKey
from modelyard.serving.dataplane import plane_of
from modelyard.serving.errors import HttpError
from modelyard.serving.headers import header
from modelyard.serving.key_cache import KeyCache
from modelyard.serving.limits import CallerLimits
from modelyard.store.keys import PREFIX, secret_digest

MAX_SECRET = 200
MAX_ACTOR = 128  # the audit's actor column
OPEN = "open"  # health: no key needed
METRICS = "metrics"  # open, or read when MODELYARD_METRICS_SCOPE=read


class Authenticator:
    def __init__(
        self,
        keys: KeyCache,
        enabled: bool,
        metrics_scope: str = OPEN,
        limits: CallerLimits | None = None,
    ) -> None:
        self.keys = keys
        self.enabled = enabled
        self.metrics_scope = metrics_scope
        self.limits = limits  # rate limits and the throttling of invalid keys (limits.py)

    async def check(self, request: Request, scope: str, yard_wide: bool = False) -> ApiKey | None:
        if scope == METRICS:
            scope = self.metrics_scope
        if scope == OPEN or not self.enabled:
            return None
        secret = _presented(request)
        if secret is None:
            raise HttpError(
                401,
                "unauthorized",
                "an API key is required (Authorization: Bearer <key> or X-API-Key)",
                {"WWW-Authenticate": "Bearer"},
            )
        limits = self.limits
        digest = secret_digest(secret) if len(secret) <= MAX_SECRET else ""
        if limits is not None:
            limits.before_lookup(request, digest)
        key = None
        if digest and secret.startswith(PREFIX):
            key = await self.keys.get(secret, digest)
        if key is None or key.revoked_at is not None:
            if limits is not None:
                limits.failed(request)
            raise HttpError(
                401, "unauthorized", "the API key is not valid", {"WWW-Authenticate": "Bearer"}
            )
        if limits is not None:
            limits.admitted(digest, key)
        if yard_wide and key.endpoint is not None:
            raise HttpError(
                403,
                "forbidden",
                f"key {key.id} is limited to endpoint {key.endpoint!r}; this route reads or "
                "changes the whole yard",
            )
        endpoint = None if yard_wide else request.path_params.get("name")
        if not key.allows(scope, endpoint):
            where = f" for endpoint {endpoint!r}" if endpoint else ""
            raise HttpError(403, "forbidden", f"key {key.id} lacks the {scope!r} scope{where}")
        return key


def _presented(request: Request) -> str | None:
    given = header(request, b"authorization")
    if given:
        kind, _, value = given.partition(" ")
        if kind.lower() == "bearer" and value.strip():
            return value.strip()
    return header(request, b"x-api-key") or None


def require(scope: str, *, yard_wide: bool = False) -> Callable[[Request], Awaitable[None]]:
    """A route dependency: the scope it needs (read by the deny-by-default test).
    ``yard_wide`` routes (models, audit) are refused to keys limited to one endpoint."""

    async def dependency(request: Request) -> None:
        authenticator = plane_of(request).auth
        request.state.key = await authenticator.check(request, scope, yard_wide)

    dependency.scope = scope  # type: ignore[attr-defined]
    return dependency


def actor_of(request: Request) -> str:
    """Who a change made through this request is recorded as: the key that made it, or
    (with keys off, ``--dev``) the server's own actor."""
    key: ApiKey | None = getattr(request.state, "key", None)
    if key is None:
        return plane_of(request).admin.actor
    label = f"key:{key.id}" + (f" ({key.description})" if key.description else "")
    return label if len(label) <= MAX_ACTOR else label[: MAX_ACTOR - 2] + "…)"
