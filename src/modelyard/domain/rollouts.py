"""Canary rollouts: a candidate version takes growing steps of an endpoint's traffic while
its checks hold against the baseline; the last step moves the alias.

The stored rollout is the whole truth: the routes a step wants are computed from it, so a
controller that crashed between two writes puts them right on its next tick.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from modelyard.domain.conditions import Condition, parse_condition
from modelyard.domain.endpoints import Route
from modelyard.domain.monitoring import parse_period
from modelyard.errors import InvalidInput

ACTIVE = ("running", "paused")
STATES = (*ACTIVE, "succeeded", "aborted")
MAX_STEPS = 20
MAX_CHECKS = 20
MAX_MIN_ROWS = 10_000_000


@dataclass(frozen=True)
class RolloutPlan:
    """What the user asked for, with references resolved when it started."""

    endpoint: str
    candidate: str  # "churn@4": the version taking traffic
    baseline: str  # "churn@3": the version the primary route served at the start
    baseline_route: str  # the primary route as written ("churn@production")
    steps: tuple[int, ...]
    interval: timedelta
    checks: tuple[Condition, ...] = ()
    min_rows: int = 100
    alias: str | None = None  # moved to the candidate at the end ("production")
    alert: str | None = None  # webhook told when the rollout aborts or finishes
    original_routes: tuple[Route, ...] = ()  # restored on abort
    shadows: tuple[Route, ...] = field(default=())

    def __post_init__(self) -> None:
        check_steps(self.steps)
        seconds = self.interval.total_seconds()
        if not 1 <= seconds <= 7 * 86_400:
            raise InvalidInput("interval must be from 1s to 7d")
        if len(self.checks) > MAX_CHECKS:
            raise InvalidInput(f"at most {MAX_CHECKS} checks")
        if (
            isinstance(self.min_rows, bool)
            or not isinstance(self.min_rows, int)
            or not 1 <= self.min_rows <= MAX_MIN_ROWS
        ):
            raise InvalidInput(f"min_rows must be a whole number from 1 to {MAX_MIN_ROWS}")
        if self.candidate == self.baseline:
            raise InvalidInput(
                f"{self.candidate} already serves {self.endpoint}: nothing to roll out"
            )

    def routes_at(self, step: int) -> tuple[Route, ...]:
        """The endpoint's routes while step ``step`` runs (shadows kept as they were)."""
        weight = self.steps[step]
        if weight >= 100:
            serving = (
                Route(self.candidate, 100.0, "primary"),
                Route(self.baseline_route, 0.0, "canary"),
            )
        else:
            serving = (
                Route(self.baseline_route, float(100 - weight), "primary"),
                Route(self.candidate, float(weight), "canary"),
            )
        return serving + self.shadows

    def final_routes(self) -> tuple[Route, ...]:
        """After success: the alias route alone when the alias moved, else the candidate."""
        head = self.baseline_route if self.alias else self.candidate
        return (Route(head, 100.0, "primary"), *self.shadows)

    def spec(self) -> dict[str, Any]:
        return {
            "endpoint": self.endpoint,
            "candidate": self.candidate,
            "baseline": self.baseline,
            "baseline_route": self.baseline_route,
            "steps": list(self.steps),
            "interval_seconds": self.interval.total_seconds(),
            "checks": [c.text for c in self.checks],
            "min_rows": self.min_rows,
            "alias": self.alias,
            "alert": self.alert,
            "original_routes": [_route_spec(r) for r in self.original_routes],
            "shadows": [_route_spec(r) for r in self.shadows],
        }

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any]) -> RolloutPlan:
        return cls(
            endpoint=spec["endpoint"],
            candidate=spec["candidate"],
            baseline=spec["baseline"],
            baseline_route=spec["baseline_route"],
            steps=tuple(spec["steps"]),
            interval=timedelta(seconds=spec["interval_seconds"]),
            checks=tuple(parse_condition(c) for c in spec["checks"]),
            min_rows=spec["min_rows"],
            alias=spec.get("alias"),
            alert=spec.get("alert"),
            original_routes=tuple(Route(**r) for r in spec.get("original_routes", [])),
            shadows=tuple(Route(**r) for r in spec.get("shadows", [])),
        )


@dataclass(frozen=True)
class Rollout:
    id: int
    plan: RolloutPlan
    state: str
    step: int  # index into plan.steps
    step_started_at: datetime
    message: str = ""
    revision: int = 0  # bumped by every write: the compare-and-set token
    created_at: datetime | None = None
    updated_at: datetime | None = None
    created_by: str = ""

    @property
    def active(self) -> bool:
        return self.state in ACTIVE

    @property
    def weight(self) -> int:
        return self.plan.steps[self.step]

    @property
    def last_step(self) -> bool:
        return self.step == len(self.plan.steps) - 1

    def moved(self, **changes: Any) -> Rollout:
        return replace(self, **changes)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "endpoint": self.plan.endpoint,
            "state": self.state,
            "step": self.step + 1,
            "weight": self.weight,
            "step_started_at": self.step_started_at.isoformat(),
            "message": self.message,
            "plan": self.plan.spec(),
            "created_at": self.created_at.isoformat() if self.created_at else None,
            "created_by": self.created_by,
        }


def parse_steps(text: str) -> tuple[int, ...]:
    """``5,25,50,100`` → (5, 25, 50, 100)."""
    parts = [p.strip() for p in text.split(",")] if isinstance(text, str) else []
    if not parts or not all(p.isascii() and p.isdigit() for p in parts):
        raise InvalidInput(
            f"steps {text!r}: expected percentages separated by commas, e.g. 5,25,100"
        )
    steps = tuple(int(p) for p in parts)
    check_steps(steps)
    return steps


def check_steps(steps: Sequence[int]) -> None:
    if not steps or len(steps) > MAX_STEPS:
        raise InvalidInput(f"a rollout needs 1 to {MAX_STEPS} steps")
    if any(isinstance(s, bool) or not isinstance(s, int) or not 1 <= s <= 100 for s in steps):
        raise InvalidInput("every step must be a whole percentage from 1 to 100")
    if any(b <= a for a, b in itertools.pairwise(steps)):
        raise InvalidInput("steps must grow: each larger than the one before")


def parse_interval(text: str) -> timedelta:
    interval = parse_period(text)
    if interval > timedelta(days=7):
        raise InvalidInput(f"interval {text!r}: at most 7d")
    return interval


def parse_checks(texts: Sequence[str]) -> tuple[Condition, ...]:
    return tuple(parse_condition(t, allow_baseline=True) for t in texts)


def _route_spec(route: Route) -> dict[str, Any]:
    return {"model": route.model, "weight": route.weight, "role": route.role}
