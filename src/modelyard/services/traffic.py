"""Where each endpoint's traffic goes: endpoints, routes, rollouts and policies.

Users start, pause, resume and abort rollouts and add or remove policies here; the
controller (``modelyard.control``) does the stepping and the acting. Who may set an
endpoint's routes is decided in one place, ``modelyard.store.route_claims``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from modelyard.config import Settings
from modelyard.control.webhooks import Webhooks
from modelyard.domain.conditions import Condition
from modelyard.domain.endpoints import Endpoint, Limits, Route
from modelyard.domain.entities import AuditEvent
from modelyard.domain.monitoring import MonitorSpec
from modelyard.domain.names import parse_ref
from modelyard.domain.policies import Policy, parse_action, parse_policy
from modelyard.domain.rollouts import (
    Rollout,
    RolloutPlan,
    parse_checks,
    parse_interval,
    parse_steps,
)
from modelyard.domain.segments import DEFAULT_TOP, SegmentSpec, check_segment_features
from modelyard.errors import Conflict, InvalidInput, NotFound
from modelyard.store import audit as audit_log
from modelyard.store.db import Database
from modelyard.store.endpoints import EndpointStore
from modelyard.store.policies import PolicyStore
from modelyard.store.registry import RegistryStore
from modelyard.store.rollouts import RolloutStore
from modelyard.store.route_claims import check_routes_free, set_routes
from modelyard.store.schema import utcnow

MAX_REASON = 1000


class Traffic:
    """Endpoints and what sends their callers to which version."""

    def __init__(
        self,
        db: Database,
        endpoints: EndpointStore,
        rollouts: RolloutStore,
        policies: PolicyStore,
        registry: RegistryStore,
        settings: Settings,
        actor: str,
    ) -> None:
        self.db, self.endpoints, self.rollouts, self.policies = db, endpoints, rollouts, policies
        self.registry, self.settings, self.actor = registry, settings, actor

    # -- endpoints ------------------------------------------------------------------------

    def create_endpoint(
        self,
        name: str,
        model: str,
        *,
        limits: Limits | None = None,
        segment_by: Sequence[str] = (),
        segment_top: int = DEFAULT_TOP,
    ) -> Endpoint:
        """Serve ``model`` (``churn@production``) under ``name``; the reference must resolve.
        ``segment_by``: input features the monitor is split by (``country``, ``plan``),
        keeping the ``segment_top`` most frequent reference categories of each."""
        segments = SegmentSpec(tuple(segment_by), segment_top)
        endpoint = Endpoint(
            name, (Route(model),), limits or Limits(), monitoring=MonitorSpec(segments=segments)
        )
        check_segment_features(segments, self.registry.resolve(model).signature)
        return self.endpoints.create(endpoint, self.actor)

    def get_endpoint(self, name: str) -> Endpoint:
        return self.endpoints.get(name)

    def list_endpoints(self) -> list[Endpoint]:
        return self.endpoints.list()

    def delete_endpoint(self, name: str, *, reason: str = "") -> None:
        self.endpoints.delete(name, self.actor, reason)

    def set_routes(
        self,
        name: str,
        routes: Sequence[Route],
        *,
        sticky_key: str | None = None,
        reason: str = "",
    ) -> Endpoint:
        """Split ``name``'s traffic (weights add up to 100; the first route is primary);
        audited, and picked up by every running server within a poll interval. Refused
        while a rollout or an A/B test owns the routes."""
        for route in routes:
            self.registry.resolve(route.model)
        return set_routes(self.db, name, routes, sticky_key, self.actor, reason)

    def configure_monitoring(
        self, name: str, monitoring: MonitorSpec, *, reason: str = ""
    ) -> Endpoint:
        """Replace an endpoint's monitoring settings (input sampling, drift tests, segments);
        audited."""
        endpoint = dataclasses.replace(self.endpoints.get(name), monitoring=monitoring)
        check_segment_features(
            monitoring.segments, self.registry.resolve(endpoint.primary.model).signature
        )
        return self.endpoints.update(endpoint, self.actor, reason)

    # -- rollouts -------------------------------------------------------------------------

    def start_rollout(
        self,
        endpoint: str,
        candidate: str,
        *,
        steps: str | Sequence[int] = "5,25,50,100",
        interval: str = "10m",
        checks: Sequence[str] = (),
        min_rows: int = 100,
        alert: str | None = None,
        reason: str = "",
    ) -> Rollout:
        """Give ``candidate`` (``churn@4``) the first step of ``endpoint``'s traffic; the
        controller takes it from there. The primary route is the baseline; when it names an
        alias (``churn@production``), that alias moves to the candidate at the end."""
        current = self.endpoints.get(endpoint)
        check_routes_free(self.db, endpoint)
        if any(
            r.role != "shadow" and r.weight > 0 for r in current.routes if r is not current.primary
        ):
            raise Conflict(
                f"endpoint {endpoint!r} already splits its traffic; set one route with "
                "`modelyard endpoint routes` before a rollout"
            )
        name, _, alias = parse_ref(current.primary.model)
        baseline = self.registry.resolve(current.primary.model)
        chosen = self.registry.resolve(candidate)
        if chosen.name != name:
            raise InvalidInput(
                f"candidate {candidate} is a version of {chosen.name!r}, but {endpoint} serves "
                f"{name!r}"
            )
        for shadow in (r for r in current.routes if r.role == "shadow"):
            if self.registry.resolve(shadow.model).ref == chosen.ref:
                raise Conflict(
                    f"{chosen.ref} shadows {endpoint!r}, and a rollout would send it callers "
                    "too; set the routes without that shadow (`modelyard endpoint routes`) "
                    "first"
                )
        if alert is not None:
            alert = parse_action(f"alert:{alert}").target  # the same URL rule as a policy's
            Webhooks.from_settings(self.settings).check_configured(alert, "alert")
        plan = RolloutPlan(
            endpoint=endpoint,
            candidate=chosen.ref,
            baseline=baseline.ref,
            baseline_route=current.primary.model,
            steps=parse_steps(steps) if isinstance(steps, str) else tuple(steps),
            interval=parse_interval(interval),
            checks=parse_checks(checks),
            min_rows=min_rows,
            alias=alias,
            alert=alert,
            original_routes=current.routes,
            shadows=tuple(r for r in current.routes if r.role == "shadow"),
        )
        _check_segments(current, plan.checks)
        Endpoint(endpoint, plan.routes_at(0))  # every step's routes must be valid routes
        return self.rollouts.start(plan, self.actor, _reason(reason))

    def active_rollout(self, endpoint: str) -> Rollout | None:
        return next((r for r in self.rollouts.active() if r.plan.endpoint == endpoint), None)

    def rollout_status(self, endpoint: str) -> Rollout:
        """The endpoint's rollout in progress, or its latest one."""
        self.endpoints.get(endpoint)
        return self.active_rollout(endpoint) or self.rollouts.latest(endpoint)

    def pause_rollout(self, endpoint: str, *, reason: str = "") -> Rollout:
        rollout = self._in_progress(endpoint, "running")
        return self.rollouts.transition(
            rollout,
            self.actor,
            action="rollout.pause",
            details={"reason": _reason(reason)},
            state="paused",
            message=f"paused at {rollout.weight}% by {self.actor}",
        )

    def resume_rollout(self, endpoint: str, *, reason: str = "") -> Rollout:
        """Carry on; the step's interval starts again (paused time proves nothing)."""
        rollout = self._in_progress(endpoint, "paused")
        return self.rollouts.transition(
            rollout,
            self.actor,
            action="rollout.resume",
            details={"reason": _reason(reason)},
            state="running",
            step_started_at=utcnow(),
            message=f"resumed at {rollout.weight}% by {self.actor}",
        )

    def abort_rollout(self, endpoint: str, *, reason: str = "") -> Rollout:
        """Traffic back to the routes the endpoint had before the rollout; the alias stays."""
        rollout = self._in_progress(endpoint, None)
        return self.rollouts.transition(
            rollout,
            self.actor,
            action="rollout.abort",
            routes=rollout.plan.original_routes,
            details={"reason": _reason(reason)},
            state="aborted",
            message=f"aborted by {self.actor}" + (f": {reason}" if reason else ""),
        )

    def _in_progress(self, endpoint: str, state: str | None) -> Rollout:
        self.endpoints.get(endpoint)
        rollout = self.active_rollout(endpoint)
        if rollout is None:
            raise NotFound(f"endpoint {endpoint!r} has no rollout in progress")
        if state is not None and rollout.state != state:
            raise Conflict(f"rollout {rollout.id} is {rollout.state}, not {state}")
        return rollout

    # -- policies -------------------------------------------------------------------------

    def add_policy(
        self,
        endpoint: str,
        when: str,
        then: Sequence[str],
        *,
        window: str | None = None,
        cooldown: str | None = None,
        run_timeout: str | None = None,
    ) -> Policy:
        """``when``: ``drift_share>0.3 for 15m``; ``then``: ``alert:URL``, ``rollback``,
        ``shift:REF=WEIGHT``, ``run:COMMAND``."""
        served = self.endpoints.get(endpoint)
        policy = parse_policy(
            endpoint, when, then, window=window, cooldown=cooldown, run_timeout=run_timeout
        )
        _check_segments(served, [policy.condition])
        webhooks = Webhooks.from_settings(self.settings)
        for action in policy.actions:
            if action.kind == "alert":
                webhooks.check_configured(action.target, "alert")
        return self.policies.add(policy, self.actor)

    def list_policies(self, endpoint: str | None = None) -> list[Policy]:
        if endpoint is not None:
            self.endpoints.get(endpoint)
        return self.policies.list(endpoint)

    def remove_policy(self, policy_id: int, *, reason: str = "") -> Policy:
        return self.policies.remove(policy_id, self.actor, _reason(reason))

    def policy_history(self, endpoint: str, limit: int = 100) -> list[AuditEvent]:
        """What the endpoint's policies did: added, fired, acted, delivered, failed."""
        self.endpoints.get(endpoint)
        return self._events(endpoint, "policy.*", limit)

    def rollout_history(self, endpoint: str, limit: int = 100) -> list[AuditEvent]:
        self.endpoints.get(endpoint)
        return self._events(endpoint, "rollout.*", limit)

    def record_event(self, endpoint: str, action: str, details: dict[str, Any]) -> None:
        self.db.write(
            lambda session: audit_log.record(
                session, self.actor, action, f"endpoint:{endpoint}", details
            )
        )

    def _events(self, endpoint: str, action: str, limit: int) -> list[AuditEvent]:
        return self.db.read(
            lambda s: audit_log.list_events(
                s, target=f"endpoint:{endpoint}", action=action, limit=limit
            )
        )


def _reason(reason: str) -> str:
    if not isinstance(reason, str) or len(reason) > MAX_REASON:
        raise InvalidInput(f"reason must be text of at most {MAX_REASON} characters")
    return reason


def _check_segments(endpoint: Endpoint, conditions: Sequence[Condition]) -> None:
    """A condition on a segment must name a feature the endpoint is split by."""
    features = endpoint.monitoring.segments.features
    for condition in conditions:
        if condition.segment is not None and condition.segment[0] not in features:
            split = ", ".join(features) or "nothing (see `endpoint create --segment-by`)"
            raise InvalidInput(
                f"condition {condition.text!r}: endpoint {endpoint.name!r} is not monitored "
                f"by {condition.segment[0]!r}; it is split by {split}"
            )
