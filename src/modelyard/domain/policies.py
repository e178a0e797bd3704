"""Policies: when a monitor condition holds long enough, act — alert, roll back, shift
traffic, or run a command (a retrain).

A policy fires once per breach: after firing it waits for the condition to clear (and
for its cooldown) before it can fire again, so a flapping metric does not page or roll
back over and over.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from modelyard.domain.conditions import Condition, parse_condition
from modelyard.domain.monitoring import parse_period
from modelyard.domain.names import parse_ref
from modelyard.domain.webhooks import parse_webhook_url
from modelyard.errors import InvalidInput

ACTION_KINDS = ("alert", "rollback", "shift", "run")
MAX_ACTIONS = 10
MAX_ACTION_TEXT = 2000
DEFAULT_WINDOW = timedelta(minutes=5)
DEFAULT_COOLDOWN = timedelta(minutes=30)
DEFAULT_RUN_TIMEOUT = timedelta(hours=1)


@dataclass(frozen=True)
class Action:
    """``alert:URL``, ``rollback``, ``shift:REF=WEIGHT`` or ``run:COMMAND``."""

    kind: str
    target: str = ""

    @property
    def text(self) -> str:
        return f"{self.kind}:{self.target}" if self.target else self.kind

    def argv(self) -> list[str]:
        """The command of a ``run`` action, split like a shell would (never run by one)."""
        return shlex.split(self.target)

    def shift(self) -> tuple[str, float]:
        ref, _, weight = self.target.rpartition("=")
        return ref, float(weight)


def parse_action(text: str) -> Action:
    if not isinstance(text, str) or not text.strip():
        raise InvalidInput("an action must be text such as 'rollback' or 'alert:https://…'")
    if len(text) > MAX_ACTION_TEXT:
        raise InvalidInput(f"action longer than {MAX_ACTION_TEXT} characters")
    kind, _, target = text.strip().partition(":")
    target = target.strip()
    if kind not in ACTION_KINDS:
        raise InvalidInput(
            f"action {text!r}: unknown kind {kind!r}; expected one of {', '.join(ACTION_KINDS)}"
        )
    if kind == "rollback":
        if target:
            raise InvalidInput("action 'rollback' takes no argument")
    elif kind == "alert":
        # The URL's form here; where it may lead depends on the operator's allow-list and on
        # DNS, checked when a policy is added and again at every delivery.
        target = parse_webhook_url(target, "alert").url
    elif kind == "shift":
        ref, sep, weight = target.rpartition("=")
        if not sep or not ref:
            raise InvalidInput(f"action {text!r}: expected shift:REF=WEIGHT, e.g. shift:churn@4=0")
        parse_ref(ref)
        try:
            value = float(weight)
        except ValueError:
            value = -1.0
        if not 0 <= value < 100:
            raise InvalidInput(f"action {text!r}: the weight must be a number from 0 to below 100")
    else:  # run
        try:
            argv = shlex.split(target)
        except ValueError as exc:
            raise InvalidInput(f"action {text!r}: cannot split the command: {exc}") from None
        if not argv:
            raise InvalidInput(f"action {text!r}: run needs a command, e.g. run:'python train.py'")
    return Action(kind, target)


@dataclass(frozen=True)
class Policy:
    endpoint: str
    condition: Condition
    actions: tuple[Action, ...]
    window: timedelta = DEFAULT_WINDOW  # how far back the metric is computed
    cooldown: timedelta = DEFAULT_COOLDOWN  # least time between two firings
    run_timeout: timedelta = DEFAULT_RUN_TIMEOUT
    id: int = 0
    enabled: bool = True
    created_at: datetime | None = None
    created_by: str = ""
    # Evaluation state (the controller's memory, stored so another controller can resume):
    breach_since: datetime | None = None
    fired_at: datetime | None = None
    armed: bool = True  # False after firing, until the condition clears

    def __post_init__(self) -> None:
        if not self.actions or len(self.actions) > MAX_ACTIONS:
            raise InvalidInput(f"a policy needs 1 to {MAX_ACTIONS} actions (--then)")
        if not timedelta(seconds=1) <= self.window <= timedelta(days=31):
            raise InvalidInput("window must be from 1s to 31d")
        if not timedelta(0) <= self.cooldown <= timedelta(days=31):
            raise InvalidInput("cooldown must be from 0s to 31d")
        if not timedelta(seconds=1) <= self.run_timeout <= timedelta(days=1):
            raise InvalidInput("run timeout must be from 1s to 1d")

    def spec(self) -> dict[str, Any]:
        return {
            "when": self.condition.text,
            "then": [a.text for a in self.actions],
            "window_seconds": self.window.total_seconds(),
            "cooldown_seconds": self.cooldown.total_seconds(),
            "run_timeout_seconds": self.run_timeout.total_seconds(),
        }

    def moved(self, **changes: Any) -> Policy:
        return replace(self, **changes)

    @property
    def state(self) -> str:
        if not self.armed:
            return "fired; re-arms when clear"
        return "breaching" if self.breach_since is not None else "armed"

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "endpoint": self.endpoint,
            **self.spec(),
            "enabled": self.enabled,
            "state": self.state,
            "breach_since": self.breach_since.isoformat() if self.breach_since else None,
            "fired_at": self.fired_at.isoformat() if self.fired_at else None,
            "created_by": self.created_by,
        }

    @classmethod
    def from_spec(cls, endpoint: str, spec: Mapping[str, Any], **rest: Any) -> Policy:
        return cls(
            endpoint=endpoint,
            condition=parse_when(spec["when"]),
            actions=tuple(_stored_action(a) for a in spec["then"]),
            window=timedelta(seconds=spec["window_seconds"]),
            cooldown=timedelta(seconds=spec["cooldown_seconds"]),
            run_timeout=timedelta(seconds=spec.get("run_timeout_seconds", 3600)),
            **rest,
        )


def _stored_action(text: str) -> Action:
    """An action as stored. An alert stored before today's URL rules still loads (so one
    old row cannot stop every policy); its delivery is checked and refused then."""
    kind, _, target = text.partition(":")
    if kind == "alert":
        return Action(kind, target.strip())
    return parse_action(text)


def parse_when(text: str) -> Condition:
    return parse_condition(text, allow_baseline=False, allow_hold=True)


def parse_policy(
    endpoint: str,
    when: str,
    then: Sequence[str],
    *,
    window: str | None = None,
    cooldown: str | None = None,
    run_timeout: str | None = None,
) -> Policy:
    return Policy(
        endpoint=endpoint,
        condition=parse_when(when),
        actions=tuple(parse_action(a) for a in then),
        window=parse_period(window) if window else DEFAULT_WINDOW,
        cooldown=parse_period(cooldown) if cooldown else DEFAULT_COOLDOWN,
        run_timeout=parse_period(run_timeout) if run_timeout else DEFAULT_RUN_TIMEOUT,
    )


@dataclass(frozen=True)
class Step:
    """What one evaluation decided: ``fire`` and the policy's new state."""

    policy: Policy
    fire: bool
    message: str


def evaluate(policy: Policy, passed: bool | None, message: str, now: datetime) -> Step:
    """Advance a policy's state given whether its condition holds now (None: no data,
    which neither starts nor ends a breach)."""
    if passed is None:
        return Step(policy, False, message)
    if not passed:
        cleared = policy.moved(breach_since=None, armed=True)
        return Step(cleared, False, message)
    since = policy.breach_since or now
    held = now - since >= policy.condition.hold
    cooled = policy.fired_at is None or now - policy.fired_at >= policy.cooldown
    if held and policy.armed and cooled:
        return Step(policy.moved(breach_since=since, fired_at=now, armed=False), True, message)
    return Step(policy.moved(breach_since=since), False, message)
