"""Locust as a library: the users, the runner and what they measured.

Importing this module imports Locust, which monkey-patches the standard library with
gevent (sockets, threads, ssl) for the rest of the process. Only ``modelyard loadtest``
imports it, inside the command, after everything else it needs is read: no other command
ever runs on a patched interpreter (tests/cli/test_imports.py).
"""

from __future__ import annotations

import itertools
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import gevent
from locust import FastHttpUser, constant, task
from locust.env import Environment

# A user still waiting for an answer when the time is up is stopped after this long: the
# command ends within --duration plus this, whatever the server does.
STOP_GRACE_SECONDS = 2.0


@dataclass
class Measured:
    """Every answer of one run: exact times in ms (Locust's own percentiles are rounded to
    whole milliseconds, too coarse for a sub-millisecond budget) and the HTTP status of
    each (0: no answer at all)."""

    times_ms: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    seconds: float = 0.0
    requests_per_second: float = 0.0

    @property
    def requests(self) -> int:
        return sum(self.statuses.values())

    @property
    def errors(self) -> dict[int, int]:
        return {s: n for s, n in sorted(self.statuses.items()) if not 200 <= s < 300}


def run(
    base_url: str,
    path: str,
    bodies: Sequence[str],
    headers: dict[str, str],
    users: int,
    seconds: float,
) -> Measured:
    """``users`` callers, each posting the next body as soon as the last one is answered,
    for ``seconds``; returns what they measured."""
    rows = itertools.cycle(bodies)
    request_headers = {"Content-Type": "application/json", **headers}

    class Caller(FastHttpUser):
        host = base_url
        wait_time = constant(0)

        @task
        def predict(self) -> None:
            self.client.post(path, data=next(rows), headers=request_headers, name=path)

    measured = Measured()

    def on_request(response_time: float, response: Any = None, **_: Any) -> None:
        status = getattr(response, "status_code", 0) or 0
        measured.statuses[int(status)] += 1
        measured.times_ms.append(float(response_time))

    environment = Environment(user_classes=[Caller], host=base_url, stop_timeout=0)
    environment.events.request.add_listener(on_request)  # type: ignore[no-untyped-call]
    runner = environment.create_local_runner()
    # gevent's timers count from the loop's cached clock, stale since the hub was made when
    # Locust was imported: refresh it, or the run ends early by the time spent since.
    gevent.get_hub().loop.update_now()
    started = time.monotonic()
    runner.start(users, spawn_rate=users)
    gevent.spawn_later(seconds, runner.quit)
    runner.greenlet.join(timeout=seconds + STOP_GRACE_SECONDS)
    runner.greenlet.kill(block=False)  # a no-op unless some user outlived the grace
    measured.seconds = time.monotonic() - started
    total = environment.stats.total
    measured.requests_per_second = total.num_requests / max(measured.seconds, 1e-9)
    return measured
