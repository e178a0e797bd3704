"""A/B tests: two versions share an endpoint's traffic by a sticky key; a metric decides."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from modelyard.domain.endpoints import Route
from modelyard.errors import InvalidInput

STATES = ("running", "stopped")


@dataclass(frozen=True)
class ABTest:
    endpoint: str
    a: str  # version refs as resolved at the start ("churn@3")
    b: str
    a_route: str  # the route as written for arm A ("churn@production")
    split: float  # percent of traffic to B
    metric: str
    sticky_key: str | None
    original_routes: tuple[Route, ...]
    original_sticky_key: str | None = None
    id: int = 0
    state: str = "running"
    started_at: datetime | None = None
    stopped_at: datetime | None = None
    result: Mapping[str, Any] | None = None
    created_by: str = ""

    def __post_init__(self) -> None:
        if (
            isinstance(self.split, bool)
            or not isinstance(self.split, int | float)
            or not 0 < self.split < 100
        ):
            raise InvalidInput(
                f"split must be a percentage above 0 and below 100, got {self.split!r}"
            )
        if self.a == self.b:
            raise InvalidInput(f"arms A and B are the same version ({self.a})")

    def routes(self) -> tuple[Route, ...]:
        shadows = tuple(r for r in self.original_routes if r.role == "shadow")
        return (
            Route(self.a_route, 100.0 - self.split, "primary"),
            Route(self.b, float(self.split), "canary"),
            *shadows,
        )

    def spec(self) -> dict[str, Any]:
        return {
            "a": self.a,
            "b": self.b,
            "a_route": self.a_route,
            "split": self.split,
            "metric": self.metric,
            "sticky_key": self.sticky_key,
            "original_sticky_key": self.original_sticky_key,
            "original_routes": [
                {"model": r.model, "weight": r.weight, "role": r.role} for r in self.original_routes
            ],
        }

    @classmethod
    def from_spec(cls, endpoint: str, spec: Mapping[str, Any], **rest: Any) -> ABTest:
        return cls(
            endpoint=endpoint,
            a=spec["a"],
            b=spec["b"],
            a_route=spec["a_route"],
            split=spec["split"],
            metric=spec["metric"],
            sticky_key=spec.get("sticky_key"),
            original_sticky_key=spec.get("original_sticky_key"),
            original_routes=tuple(Route(**r) for r in spec["original_routes"]),
            **rest,
        )
