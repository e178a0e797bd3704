"""One controller tick for the policies: read each endpoint's monitor, advance every
policy's breach state, and act for those that fire."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from modelyard.control.actions import Actions, Context
from modelyard.control.ports import Ports
from modelyard.control.signals import endpoint_metrics
from modelyard.domain.monitor_results import MonitorSummary
from modelyard.domain.policies import Policy, evaluate
from modelyard.errors import NotFound, first_line
from modelyard.monitoring.summary import summarize

log = logging.getLogger(__name__)


def tick(ports: Ports, actions: Actions, now: datetime) -> None:
    summaries: dict[tuple[str, timedelta], MonitorSummary] = {}
    for policy in ports.traffic.list_policies():
        if not policy.enabled:
            continue
        try:
            _one(ports, actions, policy, now, summaries)
        except NotFound as exc:  # its endpoint or version went away: nothing to judge
            log.info("policy %d: %s", policy.id, first_line(exc))
        except Exception:
            log.exception("policy %d: evaluation failed; will retry", policy.id)


def _one(
    ports: Ports,
    actions: Actions,
    policy: Policy,
    now: datetime,
    summaries: dict[tuple[str, timedelta], MonitorSummary],
) -> None:
    key = (policy.endpoint, policy.window)
    if key not in summaries:
        summaries[key] = summarize(
            ports.monitor,
            policy.endpoint,
            now - policy.window,
            now + timedelta(seconds=1),
            timeline=False,
            bucket_seconds=ports.bucket_seconds,
        )
    # The primary route's version: what most callers get, and what a rollback moves.
    serving = ports.registry.get_version(
        ports.traffic.get_endpoint(policy.endpoint).primary.model
    ).ref
    metrics = endpoint_metrics(summaries[key], serving)
    verdict = policy.condition.judge(metrics)
    step = evaluate(policy, verdict.passed, verdict.message, now)
    if (step.policy.breach_since, step.policy.fired_at, step.policy.armed) != (
        policy.breach_since,
        policy.fired_at,
        policy.armed,
    ):
        ports.traffic.policies.save_state(step.policy)
    if not step.fire:
        return
    log.warning("policy %d on %s fired: %s", policy.id, policy.endpoint, verdict.message)
    ports.traffic.policies.record(
        policy,
        "policy.fired",
        ports.traffic.actor,
        {"version": serving, "detail": verdict.message, "then": [a.text for a in policy.actions]},
    )
    context = Context(
        endpoint=policy.endpoint,
        subject=f"policy {policy.id}",
        message=f"{policy.condition.text}: {verdict.message} on {serving}",
        details={
            "policy": policy.id,
            "version": serving,
            "value": metrics.get(policy.condition.metric),
        },
    )

    def record(kind: str, details: dict[str, Any]) -> None:
        ports.traffic.policies.record(policy, f"policy.{kind}", ports.traffic.actor, details)

    for action in policy.actions:
        actions.perform(action, context, record, timeout=policy.run_timeout.total_seconds())
