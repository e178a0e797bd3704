"""API keys: scopes and what a presented key may do."""

from __future__ import annotations

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


@dataclass(frozen=True)
class ApiKey:
    id: str
    scopes: tuple[str, ...]
    endpoint: str | None  # limited to one endpoint, or None for all
    description: str
    created_at: datetime
    created_by: str
    revoked_at: datetime | None = None

    def allows(self, scope: str, endpoint: str | None = None) -> bool:
        if self.revoked_at is not None:
            return False
        if not any(scope in _IMPLIES[s] for s in self.scopes):
            return False
        return self.endpoint is None or endpoint is None or self.endpoint == endpoint
