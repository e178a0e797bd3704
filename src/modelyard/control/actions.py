"""What a fired policy (or a finished rollout) does: alert, rollback, shift, run.

Actions are looked up by their stable name. Slow ones — webhooks with retries, commands
with a timeout — run on worker threads so the controller keeps ticking; every outcome
(delivered, failed after N attempts, exit code and output tail) lands in the history.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import IO, Any

import httpx

from modelyard.control.ports import Aliases, Traffic
from modelyard.control.webhooks import Webhooks
from modelyard.domain.endpoints import Route
from modelyard.domain.names import parse_ref
from modelyard.domain.policies import Action
from modelyard.errors import InvalidInput, first_line

log = logging.getLogger(__name__)

OUTPUT_TAIL = 10_000  # characters of a command's output kept in the history
MAX_COMMANDS = 4  # commands running at once (each may be a whole retrain)


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
    """Acts only through ``traffic`` (routes, rollouts) and ``registry`` (alias moves)."""

    def __init__(
        self,
        traffic: Traffic,
        registry: Aliases,
        *,
        retry: Retry | None = None,
        webhooks: Webhooks | None = None,
    ) -> None:
        self.traffic, self.registry = traffic, registry
        self.retry = retry or Retry()
        self.webhooks = webhooks or Webhooks()  # no allow-list: public addresses only
        self._running: dict[str, threading.Thread] = {}
        self._commands: set[subprocess.Popen[bytes]] = set()
        self._lock = threading.Lock()
        self._closing = False

    def perform(
        self, action: Action, context: Context, record: Record, *, timeout: float = 3600.0
    ) -> None:
        """Do ``action``; quick ones now, slow ones on a thread of their own. Never raises."""
        try:
            if action.kind == "alert":
                self.submit_alert(action.target, context, record)
            elif action.kind == "run":
                key = f"{context.subject}:{action.text}"
                self._background(
                    key, action, record, lambda: self.run(action, context, record, timeout)
                )
            elif action.kind == "rollback":
                record("action", {"action": "rollback", **self.rollback(context)})
            elif action.kind == "shift":
                record("action", {"action": action.text, **self.shift(action, context)})
        except Exception as exc:  # one broken action must not stop the others
            log.warning("%s: action %s failed: %s", context.subject, action.text, first_line(exc))
            record("action_failed", {"action": action.text, "error": first_line(exc)})

    def submit_alert(self, url: str, context: Context, record: Record) -> None:
        """Deliver a webhook on its own thread (retries with backoff take seconds)."""
        action = Action("alert", url)
        key = f"{context.subject}:alert:{url}"
        self._background(key, action, record, lambda: self.alert(url, context, record))

    def _background(
        self, key: str, action: Action, record: Record, work: Callable[[], None]
    ) -> None:
        """Run ``work`` on a daemon thread: a retrain or a slow receiver never holds up the
        controller or another action, nor the process's exit. Whatever it raises is
        logged and recorded, never lost in a thread."""

        def guarded() -> None:
            try:
                work()
            except Exception as exc:
                log.warning("%s failed: %s", action.text, first_line(exc))
                try:
                    record("action_failed", {"action": action.text, "error": first_line(exc)})
                except Exception:
                    log.exception("could not record the failure of %s", action.text)

        with self._lock:
            self._running = {k: t for k, t in self._running.items() if t.is_alive()}
            if key in self._running:
                raise RuntimeError("the previous run of this action is still going")
            if action.kind == "run" and (
                sum(k.split(":", 1)[1].startswith("run") for k in self._running) >= MAX_COMMANDS
            ):
                raise RuntimeError(f"{MAX_COMMANDS} commands are running already")
            thread = threading.Thread(target=guarded, name=f"action {key}"[:60], daemon=True)
            self._running[key] = thread
        thread.start()

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
                response = self.webhooks.post(url, body, timeout=self.retry.timeout)
            except InvalidInput as exc:  # a rule, not a flake: recorded, never retried or raised
                errors.append(f"refused: {first_line(exc)}")
                break
            except (httpx.HTTPError, OSError) as exc:
                errors.append(first_line(exc) or type(exc).__name__)
            else:
                if response.status_code < 300:
                    record("delivered", {"url": url, "attempts": attempt})
                    return
                if 300 <= response.status_code < 400:  # its target was never checked
                    errors.append(f"HTTP {response.status_code}: redirects are not followed")
                    break
                errors.append(f"HTTP {response.status_code}")
            if attempt < self.retry.attempts:
                time.sleep(delay)
                delay *= 2
        log.warning("%s: webhook %s failed %d times", context.subject, url, len(errors))
        record(
            "delivery_failed",
            {"url": url, "attempts": len(errors), "errors": errors, "error": errors[-1]},
        )

    def run(self, action: Action, context: Context, record: Record, timeout: float) -> None:
        """The command in a session of its own (so a timeout or a shutdown ends it and its
        children), output to a temporary file (an hour of training logs stays off the heap)."""
        environment = {
            **os.environ,
            "MODELYARD_ENDPOINT": context.endpoint,
            "MODELYARD_TRIGGER": context.subject,
        }
        started = time.monotonic()
        code: int | None = None
        with tempfile.TemporaryFile() as output:
            try:
                process = subprocess.Popen(
                    action.argv(),
                    stdout=output,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    env=environment,
                    start_new_session=True,
                )
            except OSError as exc:
                outcome, text = "failed", first_line(exc)
            else:
                with self._lock:
                    self._commands.add(process)
                try:
                    code = process.wait(timeout)
                    outcome = "ok" if code == 0 else "failed"
                except subprocess.TimeoutExpired:
                    _end(process)
                    outcome = "timed out"
                finally:
                    with self._lock:
                        self._commands.discard(process)
                if self._closing and outcome != "ok":
                    outcome, code = "cancelled (controller stopped)", None
                text = _tail(output)
        record(
            "run",
            {
                "command": action.target,
                "outcome": outcome,
                "exit_code": code,
                "seconds": round(time.monotonic() - started, 3),
                "output": text,
            },
        )

    def rollback(self, context: Context) -> dict[str, Any]:
        """Undo the last change: abort a rollout in progress, else move the primary
        route's alias back to the version it had before."""
        reason = f"{context.subject}: {context.message}"
        if self.traffic.active_rollout(context.endpoint) is not None:
            self.traffic.abort_rollout(context.endpoint, reason=reason)
            return {"outcome": "rollout aborted"}
        endpoint = self.traffic.get_endpoint(context.endpoint)
        name, _version, alias = parse_ref(endpoint.primary.model)
        if alias is None:
            raise InvalidInput(
                f"endpoint {context.endpoint!r} serves {endpoint.primary.model}, not an alias: "
                "nothing to roll back"
            )
        event = self.registry.rollback(name, alias, reason=reason)
        return {
            "outcome": "alias moved back",
            "alias": f"{name}@{alias}",
            "from": getattr(event, "from_version", None),
            "to": getattr(event, "to_version", None),
        }

    def shift(self, action: Action, context: Context) -> dict[str, Any]:
        """Set one route's weight; the primary route takes up the difference."""
        ref, weight = action.shift()
        endpoint = self.traffic.get_endpoint(context.endpoint)
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
        self.traffic.set_routes(
            context.endpoint,
            routes,
            sticky_key=endpoint.sticky_key,
            reason=f"{context.subject}: {context.message}",
        )
        return {"outcome": "routes changed", "routes": [f"{r.model}={r.weight:g}" for r in routes]}

    def close(self, wait: float | None = 5.0) -> None:
        """Give running actions ``wait`` seconds (None: until they end), then end the
        commands still running (their whole process group). Threads are daemons, so
        nothing holds the process's exit after that."""
        with self._lock:
            threads = list(self._running.values())
        deadline = None if wait is None else time.monotonic() + wait
        for thread in threads:
            thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
        with self._lock:
            self._closing = True
            commands = list(self._commands)
        for process in commands:
            _end(process)
        for thread in threads:  # their "cancelled" records
            thread.join(10.0)


def _end(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the command's process group, SIGKILL it if still there after 2 s."""
    for sig, grace in ((signal.SIGTERM, 2.0), (signal.SIGKILL, 5.0)):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, sig)
        try:
            process.wait(grace)
            return
        except subprocess.TimeoutExpired:
            continue


def _tail(output: IO[bytes]) -> str:
    output.seek(0, os.SEEK_END)
    size = output.tell()
    output.seek(max(0, size - 4 * OUTPUT_TAIL))
    return output.read().decode("utf-8", errors="replace")[-OUTPUT_TAIL:]
