"""One controller tick for one canary rollout: read both versions' monitor over the
current step, decide, and write the decision (routes and state in one transaction).

Checks are judged as soon as the candidate has its minimum sample: a failing check
aborts at once (fail fast protects callers); advancing needs the whole interval with
every check passing. A check with no data (no feedback yet) keeps the step waiting.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from modelyard.control.actions import Actions, Context
from modelyard.control.ports import Ports
from modelyard.control.signals import endpoint_metrics
from modelyard.domain.conditions import Condition, Verdict
from modelyard.domain.monitor_results import QUALITY_METRICS, MonitorSummary
from modelyard.domain.names import parse_ref
from modelyard.domain.rollouts import Rollout
from modelyard.errors import NotFound, first_line
from modelyard.monitoring.summary import summarize

log = logging.getLogger(__name__)

Metrics = dict[str, float | None]


@dataclass(frozen=True)
class Decision:
    kind: str  # "wait", "advance", "finish" or "abort"
    message: str
    verdicts: tuple[tuple[str, Verdict], ...] = ()

    def checks(self) -> list[dict[str, object]]:
        return [{"check": c, "passed": v.passed, "detail": v.message} for c, v in self.verdicts]


def decide(rollout: Rollout, candidate: Metrics, baseline: Metrics, now: datetime) -> Decision:
    plan = rollout.plan
    label = f"step {rollout.step + 1}/{len(plan.steps)} ({rollout.weight}% to {plan.candidate})"
    rows = int(candidate.get("rows") or 0)
    attempts = int(candidate.get("attempts") or 0)  # failed requests are evidence too
    if max(rows, attempts) < plan.min_rows:
        return Decision("wait", f"{label}: {rows} of {plan.min_rows} rows needed so far")
    verdicts = tuple((c.text, _judge(c, candidate, baseline, plan.min_rows)) for c in plan.checks)
    failed = [f"{text}: {v.message}" for text, v in verdicts if v.passed is False]
    if failed:
        return Decision("abort", f"{label}: check failed — {'; '.join(failed)}", verdicts)
    left = plan.interval - (now - rollout.step_started_at)
    if left > timedelta(0):
        return Decision(
            "wait", f"{label}: checks pass so far, {left.total_seconds():.0f}s left", verdicts
        )
    pending = [text for text, v in verdicts if v.passed is None]
    if pending:
        return Decision("wait", f"{label}: waiting for data for {', '.join(pending)}", verdicts)
    kind = "finish" if rollout.last_step else "advance"
    return Decision(kind, f"{label}: every check passed over {rows} rows", verdicts)


def _judge(check: Condition, candidate: Metrics, baseline: Metrics, min_rows: int) -> Verdict:
    """Quality from a handful of labels is noise: a quality check waits until both versions
    have ``min_rows`` labelled rows — and so does a segment's or a class's, counted on its
    own (``labeled[country=FR]``, ``support[class=churn]``) — so a canary is never aborted
    on a few unlucky labels."""
    if check.metric.split("[", 1)[0] in QUALITY_METRICS:  # recall[class=churn] too
        for who, metrics in (("candidate", candidate), ("baseline", baseline)):
            labeled = int(metrics.get("labeled") or 0)
            if labeled < min_rows:
                return Verdict(
                    None, f"{check.metric}: {labeled} of {min_rows} labelled rows ({who})"
                )
    return check.judge(candidate, baseline, min_labeled=min_rows)


def tick(ports: Ports, rollout: Rollout, actions: Actions, now: datetime) -> Rollout:
    """Bring one active rollout one decision further."""
    if rollout.state != "running":
        return rollout
    wanted = rollout.plan.routes_at(rollout.step)
    if tuple(ports.traffic.get_endpoint(rollout.plan.endpoint).routes) != wanted:
        log.info("rollout %d: routes differ from its step; setting them again", rollout.id)
        ports.traffic.rollouts.reroute(rollout, wanted, ports.traffic.actor)
    step_start = rollout.step_started_at
    summary = _summary(ports, rollout, step_start, now + timedelta(seconds=1))
    candidate = endpoint_metrics(summary, rollout.plan.candidate)
    if rollout.weight < 100:
        baseline = endpoint_metrics(summary, rollout.plan.baseline)
    else:  # the baseline gets no traffic now: compare with it over the step before
        before = _summary(ports, rollout, step_start - rollout.plan.interval, step_start)
        baseline = endpoint_metrics(before, rollout.plan.baseline)
    decision = decide(rollout, candidate, baseline, now)
    unservable = _load_failure(ports, rollout, candidate, now)
    if unservable is not None:
        decision = Decision("abort", unservable)
    if decision.kind == "wait":
        if decision.message != rollout.message:
            ports.traffic.rollouts.note(rollout, decision.message)
        return rollout
    if decision.kind == "abort":
        return abort(ports, rollout, actions, decision.message, checks=decision.checks())
    if decision.kind == "advance":
        step = rollout.step + 1
        weight = rollout.plan.steps[step]
        return ports.traffic.rollouts.transition(
            rollout,
            ports.traffic.actor,
            action="rollout.step",
            routes=rollout.plan.routes_at(step),
            details={"passed": decision.message, "checks": decision.checks()},
            step=step,
            step_started_at=now,
            message=f"step {step + 1}/{len(rollout.plan.steps)}: {weight}% to "
            f"{rollout.plan.candidate}",
        )
    return finish(ports, rollout, actions, decision)


def _summary(ports: Ports, rollout: Rollout, since: datetime, until: datetime) -> MonitorSummary:
    return summarize(
        ports.monitor,
        rollout.plan.endpoint,
        since,
        until,
        timeline=False,
        bucket_seconds=ports.bucket_seconds,
    )


def _load_failure(ports: Ports, rollout: Rollout, candidate: Metrics, now: datetime) -> str | None:
    """A candidate that no replica could load gets no traffic, so its checks would wait
    forever: after a whole interval without a row, a replica's load error aborts it."""
    if candidate.get("attempts") or now - rollout.step_started_at < rollout.plan.interval:
        return None
    for status in ports.monitor.serving_status(rollout.plan.endpoint):
        if status.error and status.updated_at >= rollout.step_started_at:
            return (
                f"{rollout.plan.candidate} got no traffic and replica {status.replica} "
                f"reports: {status.error}"
            )
    return None


def finish(ports: Ports, rollout: Rollout, actions: Actions, decision: Decision) -> Rollout:
    """Move the alias (compare-and-set against the baseline) and hand the endpoint back to
    it, in the same write as the state: an abort racing this leaves the alias alone. An
    alias someone else moved (or deleted) meanwhile aborts the rollout instead."""
    plan = rollout.plan
    move = None
    if plan.alias is not None:
        name, candidate_version, _ = parse_ref(plan.candidate)
        _, baseline_version, _ = parse_ref(plan.baseline)
        assert candidate_version is not None
        try:
            current = ports.registry.get_version(f"{name}@{plan.alias}").version
        except NotFound as exc:
            return abort(ports, rollout, actions, f"cannot finish: {first_line(exc)}")
        if current not in (candidate_version, baseline_version):
            return abort(
                ports,
                rollout,
                actions,
                f"cannot finish: {name}@{plan.alias} was moved to version {current} "
                "during the rollout",
            )
        if current != candidate_version:  # else a crashed controller already moved it
            reason = f"rollout {rollout.id} finished: {decision.message}"
            move = (name, plan.alias, candidate_version, reason, baseline_version)
    done = ports.traffic.rollouts.transition(
        rollout,
        ports.traffic.actor,
        action="rollout.succeeded",
        routes=plan.final_routes(),
        alias=move,
        details={"checks": decision.checks()},
        state="succeeded",
        message=f"{plan.candidate} took over: {decision.message}",
    )
    _tell(ports, actions, done, "succeeded")
    return done


def abort(
    ports: Ports,
    rollout: Rollout,
    actions: Actions,
    message: str,
    *,
    checks: list[dict[str, object]] | None = None,
    actor: str | None = None,
) -> Rollout:
    """Traffic back to how it was before the rollout, in the same write as the state."""
    done = ports.traffic.rollouts.transition(
        rollout,
        actor or ports.traffic.actor,
        action="rollout.abort",
        routes=rollout.plan.original_routes,
        details={"checks": checks or []},
        state="aborted",
        message=message,
    )
    _tell(ports, actions, done, "aborted")
    return done


def _tell(ports: Ports, actions: Actions, rollout: Rollout, outcome: str) -> None:
    if rollout.plan.alert is None:
        return
    context = Context(
        endpoint=rollout.plan.endpoint,
        subject=f"rollout {rollout.id}",
        message=f"rollout of {rollout.plan.candidate} {outcome}: {rollout.message}",
        details={"rollout": rollout.id, "state": rollout.state},
    )

    def record(kind: str, details: dict[str, object]) -> None:
        ports.traffic.record_event(
            rollout.plan.endpoint, f"rollout.{kind}", {"rollout": rollout.id, **details}
        )

    actions.submit_alert(rollout.plan.alert, context, record)
