"""``modelyard rollout …``, ``modelyard policy …`` and ``modelyard controller``."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from modelyard.cli.context import open_yard
from modelyard.cli.output import JsonOption, print_json, say, table, when

if TYPE_CHECKING:
    from modelyard.domain.entities import AuditEvent
    from modelyard.domain.policies import Policy
    from modelyard.domain.rollouts import Rollout

rollout_app = typer.Typer(
    help="Canary rollouts: a candidate takes growing steps of traffic while its checks hold.",
    no_args_is_help=True,
)
policy_app = typer.Typer(
    help="Policies: when a monitor condition holds, alert, roll back, shift or run a command.",
    no_args_is_help=True,
)

ReasonOption = typer.Option("", "--reason", help="Why (kept in the audit log).")


@rollout_app.command("start")
def rollout_start(
    ctx: typer.Context,
    endpoint: str = typer.Argument(..., help="Endpoint whose traffic the candidate takes."),
    candidate: str = typer.Option(..., "--candidate", "-c", help="Version, e.g. churn@4."),
    steps: str = typer.Option("5,25,50,100", "--steps", help="Traffic percentages, in order."),
    interval: str = typer.Option("10m", "--interval", help="Time each step must hold (90s, 10m)."),
    check: list[str] = typer.Option(
        [],
        "--check",
        help="METRIC OP VALUE or METRIC OP baseline±X, e.g. 'p95_ms<50', "
        "'accuracy>=baseline-0.02' (repeat; all must pass).",
    ),
    min_rows: int = typer.Option(100, "--min-rows", help="Candidate rows a step needs."),
    alert: str | None = typer.Option(
        None, "--alert", help="Webhook URL told when the rollout aborts or finishes."
    ),
    reason: str = ReasonOption,
    as_json: bool = JsonOption,
) -> None:
    """Start moving ENDPOINT's traffic to a candidate; the controller advances it."""
    rollout = open_yard(ctx).start_rollout(
        endpoint,
        candidate,
        steps=steps,
        interval=interval,
        checks=check,
        min_rows=min_rows,
        alert=alert,
        reason=reason,
    )
    _show(rollout, as_json)


@rollout_app.command("status")
def rollout_status(
    ctx: typer.Context,
    endpoint: str = typer.Argument(..., help="Endpoint."),
    as_json: bool = JsonOption,
) -> None:
    """The rollout in progress (or the latest one) and its history."""
    yard = open_yard(ctx)
    rollout = yard.rollout_status(endpoint)
    history = [e for e in yard.rollout_history(endpoint) if e.details.get("rollout") == rollout.id]
    if as_json:
        print_json({**rollout.to_json(), "history": [e.to_json() for e in history]})
        return
    _show(rollout, False)
    table(
        "history",
        ["at", "event", "actor", "detail"],
        [
            [when(e.at), e.action.removeprefix("rollout."), e.actor, e.details.get("message", "")]
            for e in reversed(history)
        ],
    )


@rollout_app.command("pause")
def rollout_pause(
    ctx: typer.Context, endpoint: str, reason: str = ReasonOption, as_json: bool = JsonOption
) -> None:
    """Hold the traffic where it is; no step advances until resumed."""
    _show(open_yard(ctx).pause_rollout(endpoint, reason=reason), as_json)


@rollout_app.command("resume")
def rollout_resume(
    ctx: typer.Context, endpoint: str, reason: str = ReasonOption, as_json: bool = JsonOption
) -> None:
    """Carry on; the current step's interval starts again."""
    _show(open_yard(ctx).resume_rollout(endpoint, reason=reason), as_json)


@rollout_app.command("abort")
def rollout_abort(
    ctx: typer.Context, endpoint: str, reason: str = ReasonOption, as_json: bool = JsonOption
) -> None:
    """Stop now: traffic goes back to the routes from before the rollout."""
    _show(open_yard(ctx).abort_rollout(endpoint, reason=reason), as_json)


@policy_app.command("add")
def policy_add(
    ctx: typer.Context,
    endpoint: str = typer.Argument(..., help="Endpoint whose monitor the policy reads."),
    when_: str = typer.Option(
        ...,
        "--when",
        help="METRIC[FEATURE=VALUE|*] OP VALUE [for PERIOD], e.g. 'drift_share>0.3 for 15m' "
        "or 'accuracy[country=FR]<0.8' (a segment of an endpoint split by country).",
    ),
    then: list[str] = typer.Option(
        ...,
        "--then",
        help="alert:URL | rollback | shift:REF=WEIGHT | run:COMMAND (repeat; done in order).",
    ),
    window: str | None = typer.Option(
        None, "--window", help="How far back the metric is computed [default: 5m]."
    ),
    cooldown: str | None = typer.Option(
        None, "--cooldown", help="Least time between two firings [default: 30m]."
    ),
    run_timeout: str | None = typer.Option(
        None, "--run-timeout", help="Longest a run: command may take [default: 1h]."
    ),
    as_json: bool = JsonOption,
) -> None:
    """Add a policy; the controller evaluates it every tick."""
    policy = open_yard(ctx).add_policy(
        endpoint, when_, then, window=window, cooldown=cooldown, run_timeout=run_timeout
    )
    if as_json:
        print_json(policy.to_json())
        return
    say(f"policy {policy.id} on {endpoint}: when {policy.condition.text} → " + _then(policy))


@policy_app.command("list")
def policy_list(
    ctx: typer.Context,
    endpoint: str | None = typer.Argument(None, help="Only this endpoint's policies."),
    as_json: bool = JsonOption,
) -> None:
    """Every policy, with its state (armed, breaching since, last fired)."""
    policies = open_yard(ctx).list_policies(endpoint)
    if as_json:
        print_json([p.to_json() for p in policies])
        return
    table(
        None,
        ["id", "endpoint", "when", "then", "window", "cooldown", "state", "fired"],
        [
            [
                p.id,
                p.endpoint,
                p.condition.text,
                _then(p),
                _period(p.window.total_seconds()),
                _period(p.cooldown.total_seconds()),
                _policy_state(p),
                when(p.fired_at),
            ]
            for p in policies
        ],
    )


@policy_app.command("remove")
def policy_remove(
    ctx: typer.Context,
    policy_id: int = typer.Argument(..., help="Policy id (see `policy list`)."),
    reason: str = ReasonOption,
) -> None:
    """Delete a policy (its history stays in the audit log)."""
    policy = open_yard(ctx).remove_policy(policy_id, reason=reason)
    say(f"policy {policy.id} removed from {policy.endpoint}")


@policy_app.command("history")
def policy_history(
    ctx: typer.Context,
    endpoint: str = typer.Argument(..., help="Endpoint."),
    limit: int = typer.Option(100, "--limit", help="Most recent entries shown."),
    as_json: bool = JsonOption,
) -> None:
    """What the endpoint's policies did: fired, acted, delivered or failed, and why."""
    events = open_yard(ctx).policy_history(endpoint, limit)
    if as_json:
        print_json([e.to_json() for e in events])
        return
    table(
        None,
        ["at", "policy", "event", "detail"],
        [
            [when(e.at), e.details.get("policy", ""), e.action.removeprefix("policy."), _detail(e)]
            for e in reversed(events)
        ],
    )


def controller(
    ctx: typer.Context,
    interval: float | None = typer.Option(
        None, "--interval", help="Seconds between ticks [default: MODELYARD_CONTROLLER_INTERVAL]."
    ),
    once: bool = typer.Option(False, "--once", help="One tick, then exit (for cron and tests)."),
) -> None:
    """Advance rollouts and act on policies, alone (no HTTP). Any number may run: one holds
    the lease and acts (PostgreSQL advisory lock / a file lock beside the SQLite file)."""
    import logging
    import signal

    from modelyard.errors import InvalidInput
    from modelyard.services.compose import build_controller

    yard = open_yard(ctx)
    seconds = yard.settings.controller_interval if interval is None else interval
    if not 0.1 <= seconds <= 3600:
        raise InvalidInput(f"--interval must be from 0.1 to 3600 seconds, got {seconds:g}")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    worker = build_controller(yard.services, interval=seconds)  # the services, not the yard
    if once:
        acted = worker.tick()
        worker.actions.close(wait=None)  # this tick's alerts and commands run to their end
        worker.lease.release()
        say("ticked" if acted else "another controller holds the lease; did nothing")
        return
    signal.signal(signal.SIGTERM, lambda *_: worker.request_stop())
    say(f"controller running every {seconds:g}s (Ctrl-C to stop)")
    try:
        worker.run()
    except KeyboardInterrupt:
        pass
    finally:
        worker.stop()


# -- views --------------------------------------------------------------------------------


def _show(rollout: Rollout, as_json: bool) -> None:
    if as_json:
        print_json(rollout.to_json())
        return
    plan = rollout.plan
    steps = ",".join(str(s) for s in plan.steps)
    say(
        f"rollout {rollout.id} on {plan.endpoint}: {plan.candidate} vs {plan.baseline} — "
        f"{rollout.state}, step {rollout.step + 1}/{len(plan.steps)} ({rollout.weight}%; "
        f"steps {steps}, every {_period(plan.interval.total_seconds())})"
    )
    if rollout.message:
        say(f"  {rollout.message}")


def _then(policy: Policy) -> str:
    return ", ".join(a.text for a in policy.actions)


def _policy_state(policy: Policy) -> str:
    if policy.state == "breaching" and policy.breach_since is not None:
        return f"breaching since {when(policy.breach_since)}"
    return policy.state


def _detail(event: AuditEvent) -> str:
    details = event.details
    for key in ("detail", "outcome", "error", "url"):
        if details.get(key):
            extra = f" (exit {details['exit_code']})" if "exit_code" in details else ""
            return f"{details[key]}{extra}"
    return str(details.get("when", ""))


def _period(seconds: float) -> str:
    for unit, size in (("d", 86_400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds / size:g}{unit}"
    return f"{seconds:g}s"


def install(app: typer.Typer) -> None:
    app.add_typer(rollout_app, name="rollout")
    app.add_typer(policy_app, name="policy")
    app.command("controller")(controller)
