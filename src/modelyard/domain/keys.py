"""API keys: scopes and what a presented key may do."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from modelyard.errors import InvalidInput

SCOPES = ("predict", "read", "write", "admin")
# A scope grants itself and every scope listed after it here.
_IMPLIES = {
    "admin": {"admin", "write", "read", "predict"},
    "write": {"write", "read", "predict"},
    "read": {"read"},
    "predict": {"predict"},
}


def check_scopes(scopes: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    if not scopes:
        raise InvalidInput(f"a key needs at least one scope: {', '.join(SCOPES)}")
    for scope in scopes:
        if scope not in SCOPES:
            raise InvalidInput(f"unknown scope {scope!r}: use {', '.join(SCOPES)}")
    return tuple(sorted(set(scopes), key=SCOPES.index))


MAX_RATE = 1_000_000.0


def check_rate(rate: float | None, burst: int | None) -> None:
    """A key's own rate limit: requests per second (0: none; None: the yard's default)
    and the burst it may spend at once (None: one second's worth)."""
    if rate is not None and (
        isinstance(rate, bool)
        or not isinstance(rate, int | float)
        or not math.isfinite(rate)
        or not 0 <= rate <= MAX_RATE
    ):
        raise InvalidInput(
            f"rate limit must be a number of requests per second from 0 (none) to "
            f"{MAX_RATE:g}, got {rate!r}"
        )
    if burst is not None and (
        isinstance(burst, bool) or not isinstance(burst, int) or not 1 <= burst <= MAX_RATE
    ):
        raise InvalidInput(
            f"rate burst must be a whole number from 1 to {MAX_RATE:g}, got {burst!r}"
        )
    if burst is not None and not rate:
        raise InvalidInput("a rate burst needs a rate limit above 0")


@dataclass(frozen=True)
class ApiKey:
    id: str
    scopes: tuple[str, ...]
    endpoint: str | None  # limited to one endpoint, or None for all
    description: str
    created_at: datetime
    created_by: str
    revoked_at: datetime | None = None
    rate_limit: float | None = None  # requests/s per server process; 0: none; None: default
    rate_burst: int | None = None

    def allows(self, scope: str, endpoint: str | None = None) -> bool:
        if self.revoked_at is not None:
            return False
        if not any(scope in _IMPLIES[s] for s in self.scopes):
            return False
        return self.endpoint is None or endpoint is None or self.endpoint == endpoint
