"""Rate limits on callers: per API key, per client address, and on invalid keys.

Buckets live in this process's memory (buckets.py): with W workers and R replicas a caller
gets up to W×R times a limit, so limits are stated per server process. The client is the
peer address or, from a proxy listed in ``MODELYARD_FORWARDED_ALLOW_IPS``, the address its
``X-Forwarded-For`` names (uvicorn rewrites the peer before the app sees it). IPv6 clients
are counted per /64, the block one subscriber is usually given.
"""

from __future__ import annotations

import ipaddress
import math
import time
from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from modelyard.config import Settings
from modelyard.domain.keys import ApiKey
from modelyard.serving.buckets import Buckets, retry_after
from modelyard.serving.errors import HttpError, error_response
from modelyard.serving.refusals import REFUSALS

HEALTH = ("/health/", "/v2/health/")  # probes are never rate limited: a 429 restarts pods
KNOWN_KEYS = 4096  # keys remembered as valid, so a throttled address still serves them


def one_second_of(rate: float) -> int:
    """The default burst: what the rate allows in one second, at least one request."""
    return max(1, math.ceil(rate))


def client_of(scope: Scope) -> str:
    """The client a per-client limit counts: its IPv4 address, or its IPv6 /64. An IPv4
    client of a dual-stack listener (``--host ::``) arrives as ``::ffff:a.b.c.d``: it is
    its IPv4 address, or every IPv4 client would share the one /64 ``::/64``."""
    client = scope.get("client")
    host = str(client[0]) if client else "unknown"
    if ":" in host:
        try:
            address = ipaddress.IPv6Address(host.split("%", 1)[0])
        except ValueError:
            return host
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network(f"{address}/64", strict=False))
    return host


class CallerLimits:
    """Every limit applied per request, built once from the settings; 0 turns one off."""

    def __init__(
        self,
        *,
        key_rate: float = 0.0,
        key_burst: int | None = None,
        client_rate: float = 0.0,
        client_burst: int | None = None,
        failure_limit: int = 0,
        failure_window: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.key_rate = key_rate
        self.key_burst = key_burst or one_second_of(key_rate)
        self.client_rate = client_rate
        self.client_burst = client_burst or one_second_of(client_rate)
        self.failure_limit = failure_limit
        self.failure_window = failure_window
        self._failure_rate = failure_limit / failure_window
        self.clock = clock
        self._keys = Buckets()
        self._clients = Buckets()
        self._failures = Buckets()
        self._failing_until = 0.0  # no address can be throttled once this has passed
        self._known: dict[str, float] = {}  # digest of a key that worked → until when

    @classmethod
    def from_settings(cls, settings: Settings) -> CallerLimits:
        return cls(
            key_rate=settings.key_rate_limit,
            key_burst=settings.key_rate_burst,
            client_rate=settings.client_rate_limit,
            client_burst=settings.client_rate_burst,
            failure_limit=settings.auth_failure_limit,
            failure_window=settings.auth_failure_window_seconds,
        )

    # -- invalid keys ----------------------------------------------------------------------

    def before_lookup(self, request: Request, digest: str) -> None:
        """Refuse an address that presented too many invalid keys before this one costs a
        look-up, unless this key worked lately: behind a balancer that is not trusted for
        ``X-Forwarded-For`` every caller shares its address, and one guesser must not lock
        out callers whose keys are good."""
        if not self._failures:  # nobody failed lately: the common case costs one check
            return
        now = self.clock()
        if now >= self._failing_until:  # every failure bucket has refilled
            return
        client = client_of(request.scope)
        wait = self._failures.wait(client, now, self._failure_rate, self.failure_limit)
        if not wait or self._known.get(digest, 0.0) > now:
            return
        REFUSALS.add("auth_failures")
        after = retry_after(wait)
        # The address is not named: behind a proxy it is the proxy's internal address.
        raise HttpError(
            429,
            "auth_throttled",
            f"too many invalid API keys from this address: {self.failure_limit} per "
            f"{self.failure_window:g} s (MODELYARD_AUTH_FAILURE_LIMIT); retry after {after} s",
            {"Retry-After": after},
        )

    def failed(self, request: Request) -> None:
        if self.failure_limit:
            client = client_of(request.scope)
            now = self.clock()
            self._failures.spend(client, now, self._failure_rate, self.failure_limit)
            self._failing_until = now + self.failure_window

    # -- valid keys ------------------------------------------------------------------------

    def admitted(self, digest: str, key: ApiKey) -> None:
        """A valid key (``digest``: its secret's): remember it (see ``before_lookup``) and
        spend from its bucket."""
        if self.failure_limit:
            known = self._known
            known[digest] = self.clock() + self.failure_window
            if len(known) > KNOWN_KEYS:
                del known[next(iter(known))]
        own = key.rate_limit is not None
        rate = key.rate_limit if own else self.key_rate
        if not rate:
            return
        burst = (key.rate_burst or one_second_of(rate)) if own else self.key_burst
        wait = self._keys.take(key.id, self.clock(), rate, burst)
        if not wait:
            return
        REFUSALS.add("key_rate")
        after = retry_after(wait)
        source = "set with keys create --rate-limit" if own else "MODELYARD_KEY_RATE_LIMIT"
        raise HttpError(
            429,
            "rate_limited",
            f"key {key.id} is over its rate limit of {rate:g} requests/s with a burst of "
            f"{burst} per server process ({source}); retry after {after} s",
            {"Retry-After": after},
        )

    # -- client addresses ------------------------------------------------------------------

    def around(self, app: ASGIApp) -> ASGIApp:
        """``app`` behind the per-client limit; ``app`` itself when that limit is off."""
        return ClientLimit(app, self) if self.client_rate else app

    def client_wait(self, scope: Scope) -> float:
        """Seconds until this scope's client may send again (0: now)."""
        client = client_of(scope)
        return self._clients.take(client, self.clock(), self.client_rate, self.client_burst)

    def client_refusal(self, scope: Scope) -> Response | None:
        """The 429 for a client over its rate (spending from its bucket otherwise), or
        ``None``: it may go on."""
        wait = self.client_wait(scope)
        if not wait:
            return None
        REFUSALS.add("client_rate")
        after = retry_after(wait)
        return error_response(
            scope,
            429,
            "rate_limited",
            f"this address is over the rate limit of {self.client_rate:g} "
            f"requests/s with a burst of {self.client_burst} per server process "
            f"(MODELYARD_CLIENT_RATE_LIMIT); retry after {after} s",
            headers={"Retry-After": after},
        )


class ClientLimit:
    """The per-client rate limit in front of an app (health probes never limited)."""

    def __init__(self, app: ASGIApp, limits: CallerLimits) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not scope["path"].startswith(HEALTH):
            refusal = self.limits.client_refusal(scope)
            if refusal is not None:
                await refusal(scope, receive, send)
                return
        await self.app(scope, receive, send)
