"""Endpoints: a served name, its routes to model versions, and its serving limits."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from modelyard.domain.monitoring import MonitorSpec
from modelyard.domain.names import check_name, parse_ref
from modelyard.errors import InvalidInput

ROLES = ("primary", "canary", "shadow")
MAX_SHADOWS = 3  # each shadow runs every mirrored row again on this machine's cores
# Shadow answers are stored under the shadow's version with this mark ("churn@5~shadow"),
# so nothing that reads served traffic, feedback or errors can take them for answers.
SHADOW_MARK = "~shadow"


@dataclass(frozen=True)
class Route:
    """Traffic to one model reference: ``churn@production`` with a weight and a role.

    For primary and canary routes the weight is the share of requests answered; for a
    shadow it is the share of answered requests mirrored to it (100: every one).
    """

    model: str
    weight: float = 100.0
    role: str = "primary"

    def __post_init__(self) -> None:
        parse_ref(self.model)
        if self.role not in ROLES:
            raise InvalidInput(f"route role {self.role!r}: must be one of {', '.join(ROLES)}")
        if (
            isinstance(self.weight, bool)
            or not isinstance(self.weight, int | float)
            or not (0 <= self.weight <= 100)
        ):
            raise InvalidInput(f"route weight {self.weight!r}: must be a number from 0 to 100")


@dataclass(frozen=True)
class Limits:
    """How one endpoint batches and sheds load.

    Requests are admitted by time, not rows: when the work queued ahead fits in their
    deadline (``timeout_ms``, or less if the request asks). ``queue_rows`` bounds what a
    *shadow* of this endpoint may have waiting before copies are skipped.
    ``max_request_rows`` caps the rows of one request; ``None`` (also what endpoints
    stored before it existed load as) means no cap but the body's size in bytes.
    """

    max_batch: int = 1024
    max_wait_ms: float = 5.0
    queue_rows: int = 1024
    timeout_ms: float = 30_000.0
    max_request_rows: int | None = None

    def __post_init__(self) -> None:
        _bounded("max_batch", self.max_batch, 1, 10_000, whole=True)
        _bounded("max_wait_ms", self.max_wait_ms, 0, 1_000)
        _bounded("queue_rows", self.queue_rows, 1, 10_000_000, whole=True)
        _bounded("timeout_ms", self.timeout_ms, 1, 3_600_000)
        if self.max_request_rows is not None:
            _bounded("max_request_rows", self.max_request_rows, 1, 10_000_000, whole=True)


@dataclass(frozen=True)
class Endpoint:
    name: str
    routes: tuple[Route, ...]
    limits: Limits = field(default_factory=Limits)
    monitoring: MonitorSpec = field(default_factory=MonitorSpec)
    sticky_key: str | None = None  # payload field (or X-Routing-Key header) that picks a route
    created_at: datetime | None = None
    updated_at: datetime | None = None
    created_by: str = ""

    def __post_init__(self) -> None:
        check_name(self.name, "endpoint name")
        if not self.routes:
            raise InvalidInput(f"endpoint {self.name!r} needs at least one route")
        if not any(r.role == "primary" and r.weight > 0 for r in self.routes):
            raise InvalidInput(f"endpoint {self.name!r} needs a primary route with weight > 0")
        total = sum(r.weight for r in self.serving_routes)
        if abs(total - 100) > 1e-6:
            raise InvalidInput(
                f"endpoint {self.name!r}: the weights of its routes must add up to 100, "
                f"not {total:g}"
            )
        shadowed = {r.model for r in self.shadows}
        for route in self.routes:
            if route.role != "shadow" and route.model in shadowed:
                raise InvalidInput(
                    f"endpoint {self.name!r}: {route.model} is a shadow and answers callers too"
                )
        refs = [r.model for r in self.routes]
        if len(set(refs)) != len(refs):
            raise InvalidInput(f"endpoint {self.name!r}: a model reference appears twice")
        if len(self.shadows) > MAX_SHADOWS:
            raise InvalidInput(
                f"endpoint {self.name!r}: at most {MAX_SHADOWS} shadows, not {len(self.shadows)}"
            )
        if self.sticky_key is not None and (
            not isinstance(self.sticky_key, str) or not 0 < len(self.sticky_key) <= 128
        ):
            raise InvalidInput("sticky key must be a field name of 1 to 128 characters")

    @property
    def primary(self) -> Route:
        return next(r for r in self.routes if r.role == "primary" and r.weight > 0)

    @property
    def serving_routes(self) -> tuple[Route, ...]:
        """Routes that answer callers (weight > 0, not shadows), in order."""
        return tuple(r for r in self.routes if r.role != "shadow" and r.weight > 0)

    @property
    def shadows(self) -> tuple[Route, ...]:
        """Routes that get a copy of answered requests, off the response path."""
        return tuple(r for r in self.routes if r.role == "shadow")

    def spec(self) -> dict[str, Any]:
        return {
            "routes": [asdict(r) for r in self.routes],
            "limits": asdict(self.limits),
            "monitoring": self.monitoring.spec(),
            "sticky_key": self.sticky_key,
        }

    @classmethod
    def from_spec(cls, name: str, spec: Mapping[str, Any], **when: Any) -> Endpoint:
        return cls(
            name=name,
            routes=tuple(Route(**r) for r in spec["routes"]),
            limits=Limits(**spec.get("limits", {})),
            monitoring=MonitorSpec.from_spec(spec.get("monitoring", {})),
            sticky_key=spec.get("sticky_key"),
            **when,
        )


def _bounded(what: str, value: object, low: float, high: float, whole: bool = False) -> None:
    kinds = (int,) if whole else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds) or not low <= value <= high:
        kind = "a whole number" if whole else "a number"
        raise InvalidInput(f"{what} must be {kind} from {low:g} to {high:g}, got {value!r}")


def shadow_label(ref: str) -> str:
    """The version label a shadow's answers are logged and windowed under."""
    return ref + SHADOW_MARK


def shadowed_ref(label: str) -> str | None:
    """The shadow's own reference when ``label`` marks shadow answers, else None."""
    return label[: -len(SHADOW_MARK)] if label.endswith(SHADOW_MARK) else None


@dataclass(frozen=True)
class ReplicaStatus:
    """One server process's report for one endpoint: what it serves, what failed to load."""

    replica: str
    endpoint: str
    version: str | None
    error: str
    updated_at: datetime
