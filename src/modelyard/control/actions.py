"""What a fired policy (or a finished rollout) does: alert, rollback, shift, run.

Actions are looked up by their stable name. Slow ones — webhooks with retries, commands
with a timeout — run on worker threads so the controller keeps ticking; every outcome
(delivered, failed after N attempts, exit code and output tail) lands in the history.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import subprocess
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from modelyard.domain.endpoints import Endpoint, Route
from modelyard.domain.names import parse_ref
from modelyard.domain.policies import Action
from modelyard.errors import InvalidInput, first_line

log = logging.getLogger(__name__)

OUTPUT_TAIL = 10_000  # characters of a command's output kept in the history


class Hands(Protocol):
    """What actions may change (the Yard provides it; actions act only through it)."""

    actor: str

    def get_endpoint(self, name: str) -> Endpoint: ...

    def set_routes(
        self, name: str, routes: Any, *, sticky_key: str | None = None, reason: str = ""
    ) -> Endpoint: ...

    def rollback(self, name: str, alias: str = "production", *, reason: str = "") -> Any: ...

    def abort_rollout(self, endpoint: str, *, reason: str = "") -> Any: ...

    def active_rollout(self, endpoint: str) -> Any: ...


Record = Callable[[str, dict[str, Any]], None]  # (what happened, details) → the history


@dataclass(frozen=True)
class Retry:
    attempts: int = 4
    first_delay: float = 0.5  # seconds; doubles after every failed attempt
    timeout: float = 5.0


@dataclass(frozen=True)
class Context:
    """Why an action runs: the endpoint, the subject and a message for people."""

    endpoint: str
    subject: str  # "policy 3", "rollout 7"
    message: str
    details: Mapping[str, Any] = dataclasses.field(default_factory=dict)


class Actions:
    def __init__(self, hands: Hands, *, retry: Retry | None = None, workers: int = 4) -> None:
        self.hands = hands
        self.retry = retry or Retry()
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="action")
        self._running: dict[str, Future[None]] = {}
        self._lock = threading.Lock()

    def perform(
        self, action: Action, context: Context, record: Record, *, timeout: float = 3600.0
    ) -> None:
        """Do ``action``; quick ones now, slow ones on a worker. Never raises."""
        try:
            if action.kind == "alert":
                self.submit_alert(action.target, context, record)
            elif action.kind == "run":
                key = f"{context.subject}:{action.text}"
                self._background(key, lambda: self.run(action, context, record, timeout))
            elif action.kind == "rollback":
                record("action", {"action": "rollback", **self.rollback(context)})
            elif action.kind == "shift":
                record("action", {"action": action.text, **self.shift(action, context)})
        except Exception as exc:  # one broken action must not stop the others
            log.warning("%s: action %s failed: %s", context.subject, action.text, first_line(exc))
            record("action_failed", {"action": action.text, "error": first_line(exc)})

    def submit_alert(self, url: str, context: Context, record: Record) -> None:
        """Deliver a webhook on a worker (retries with backoff take seconds)."""
        self._background(f"{context.subject}:alert:{url}", lambda: self.alert(url, context, record))

    def _background(self, key: str, work: Callable[[], None]) -> None:
        with self._lock:
            self._running = {k: f for k, f in self._running.items() if not f.done()}
            running = self._running.get(key)
            if running is not None and not running.done():
                raise RuntimeError("the previous run of this action is still going")
            self._running[key] = self._pool.submit(work)

    # -- the actions ----------------------------------------------------------------------

    def alert(self, url: str, context: Context, record: Record) -> None:
        body = {
            "endpoint": context.endpoint,
            "subject": context.subject,
            "message": context.message,
            "details": dict(context.details),
            "at": time.time(),
        }
        delay, errors = self.retry.first_delay, []
        for attempt in range(1, self.retry.attempts + 1):
            try:
                response = httpx.post(url, json=body, timeout=self.retry.timeout)
                if response.status_code < 300:
                    record("delivered", {"url": url, "attempts": attempt})
                    return
                errors.append(f"HTTP {response.status_code}")
            except httpx.HTTPError as exc:
                errors.append(first_line(exc) or type(exc).__name__)
            if attempt < self.retry.attempts:
                time.sleep(delay)
                delay *= 2
        log.warning("%s: webhook %s failed %d times", context.subject, url, len(errors))
        record("delivery_failed", {"url": url, "attempts": len(errors), "errors": errors})

    def run(self, action: Action, context: Context, record: Record, timeout: float) -> None:
        environment = {
            **os.environ,
            "MODELYARD_ENDPOINT": context.endpoint,
            "MODELYARD_TRIGGER": context.subject,
        }
        started = time.monotonic()
        try:
            done = subprocess.run(
                action.argv(),
                capture_output=True,
                text=True,
                timeout=timeout,
                env=environment,
                check=False,
            )
            code: int | None = done.returncode
            output = (done.stdout or "") + (done.stderr or "")
            outcome = "ok" if done.returncode == 0 else "failed"
        except subprocess.TimeoutExpired as exc:
            code, outcome = None, "timed out"
            output = _text(exc.stdout) + _text(exc.stderr)
        except OSError as exc:
            code, outcome, output = None, "failed", first_line(exc)
        record(
            "run",
            {
                "command": action.target,
                "outcome": outcome,
                "exit_code": code,
                "seconds": round(time.monotonic() - started, 3),
                "output": output[-OUTPUT_TAIL:],
            },
        )

    def rollback(self, context: Context) -> dict[str, Any]:
        """Undo the last change: abort a rollout in progress, else move the primary
        route's alias back to the version it had before."""
        reason = f"{context.subject}: {context.message}"
        if self.hands.active_rollout(context.endpoint) is not None:
            self.hands.abort_rollout(context.endpoint, reason=reason)
            return {"outcome": "rollout aborted"}
        endpoint = self.hands.get_endpoint(context.endpoint)
        name, _version, alias = parse_ref(endpoint.primary.model)
        if alias is None:
            raise InvalidInput(
                f"endpoint {context.endpoint!r} serves {endpoint.primary.model}, not an alias: "
                "nothing to roll back"
            )
        event = self.hands.rollback(name, alias, reason=reason)
        return {
            "outcome": "alias moved back",
            "alias": f"{name}@{alias}",
            "from": getattr(event, "from_version", None),
            "to": getattr(event, "to_version", None),
        }

    def shift(self, action: Action, context: Context) -> dict[str, Any]:
        """Set one route's weight; the primary route takes up the difference."""
        ref, weight = action.shift()
        endpoint = self.hands.get_endpoint(context.endpoint)
        primary = endpoint.primary
        if ref == primary.model:
            raise InvalidInput(f"{ref} is the primary route; shift another route")
        others = [r for r in endpoint.routes if r is not primary and r.model != ref]
        moved = Route(ref, weight, "canary") if weight > 0 else None
        taken = sum(r.weight for r in others if r.role != "shadow") + weight
        if taken >= 100:
            raise InvalidInput(f"shifting {ref} to {weight:g} leaves the primary no traffic")
        routes = [dataclasses.replace(primary, weight=100 - taken), *others]
        if moved is not None:
            routes.append(moved)
        self.hands.set_routes(
            context.endpoint,
            routes,
            sticky_key=endpoint.sticky_key,
            reason=f"{context.subject}: {context.message}",
        )
        return {"outcome": "routes changed", "routes": [f"{r.model}={r.weight:g}" for r in routes]}

    def close(self, wait: bool = True) -> None:
        self._pool.shutdown(wait=wait, cancel_futures=not wait)


def _text(value: str | bytes | None) -> str:
    if value is None:
        return ""
    return value.decode(errors="replace") if isinstance(value, bytes) else value
