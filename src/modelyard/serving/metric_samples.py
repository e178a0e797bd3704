"""What a worker knows by looking (its queues, what it loaded, what it refused), written
into metrics that merge across workers.

Each gauge names its merge rule (``multiprocess_mode``): ``livesum`` for amounts that add
up over workers (rows queued), ``livemax`` for facts any worker may report (a failed load,
the version served), ``livemin`` where one worker's trouble must show (the store is down).
Label sets a worker stops seeing are set to 0 rather than removed: prometheus_client cannot
remove a series from the shared files, and 0 is what they mean then ("not serving", "not
failing"). They are bounded by the versions and endpoints the yard has. Tallies kept as
plain numbers elsewhere (abandoned model calls, refusals, dropped log rows) feed counters
by their increase since the last look.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from prometheus_client import CollectorRegistry, Counter, Gauge

from modelyard.monitoring.recorder import Recorder
from modelyard.runtime.table import EndpointTable
from modelyard.serving.refusals import REFUSALS
from modelyard.serving.taken import TAKEN

Labels = tuple[str, ...]
Mode = Literal["livesum", "livemax", "livemin"]


class SampledGauge:
    """One gauge whose label sets are all written at each look; those gone read 0."""

    def __init__(
        self, registry: CollectorRegistry, name: str, text: str, labels: list[str], mode: Mode
    ) -> None:
        self.gauge = Gauge(name, text, labels, registry=registry, multiprocess_mode=mode)
        self.seen: set[Labels] = set()

    def show(self, now: Mapping[Labels, float]) -> None:
        if not self.gauge._labelnames:
            self.gauge.set(now.get((), 0))
            return
        for labels in self.seen - now.keys():
            self.gauge.labels(*labels).set(0)
        for labels, value in now.items():
            self.gauge.labels(*labels).set(value)
        self.seen |= now.keys()


class Tally:
    """A counter fed from a number that only grows (or restarts from 0 with a new object)."""

    def __init__(self, registry: CollectorRegistry, name: str, text: str, labels: list[str]):
        self.counter = Counter(name, text, labels, registry=registry)
        self.last: dict[Labels, float] = {}

    def show(self, now: Mapping[Labels, float]) -> None:
        for labels, value in now.items():
            before = self.last.get(labels, 0.0)
            grown = value - before if value >= before else value
            # the child is made at 0 too: a series that exists from the start lets rate()
            # and the rules read "nothing refused yet" instead of "no data"
            child = self.counter.labels(*labels) if labels else self.counter
            if grown:
                child.inc(grown)
            self.last[labels] = value


class TableSamples:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.table: EndpointTable | None = None
        self.recorder: Recorder | None = None
        version = ["endpoint", "version"]

        def gauge(name: str, text: str, labels: list[str], mode: Mode) -> SampledGauge:
            return SampledGauge(registry, f"modelyard_{name}", text, labels, mode)

        self.queue = gauge(
            "queue_rows", "Rows waiting in an endpoint's queues.", version, "livesum"
        )
        self.queue_limit = gauge(
            "queue_limit_rows",
            "The endpoint's queue_rows setting, summed like queue_rows: what a shadow's queue "
            "may hold before mirrored requests are dropped (requests are admitted by deadline).",
            version,
            "livesum",
        )
        self.serving = gauge(
            "endpoint_serving", "1 for a version an endpoint routes to.", version, "livemax"
        )
        self.weight = gauge(
            "route_weight",
            "Percent of an endpoint's requests a route sends to its model (shadows: mirrored).",
            ["endpoint", "model", "role"],
            "livemax",
        )
        self.load_seconds = gauge(
            "model_load_seconds",
            "Seconds it took to load, verify and warm a version.",
            ["version"],
            "livemax",
        )
        self.memory = gauge(
            "model_memory_bytes",
            "Resident memory a worker gained while loading and warming a version.",
            ["version"],
            "livemax",
        )
        self.load_failed = gauge(
            "endpoint_load_failed",
            "1 when the newest version of an endpoint failed to load.",
            ["endpoint"],
            "livemax",
        )
        self.shadow_queue = gauge(
            "shadow_queue_rows",
            "Rows waiting in a shadow's queue.",
            ["endpoint", "shadow"],
            "livesum",
        )
        self.shadow_failed = gauge(
            "shadow_load_failed",
            "1 for a shadow route left out because it could not load.",
            ["endpoint", "route"],
            "livemax",
        )
        self.fallback = gauge(
            "endpoint_fallback",
            "1 when an endpoint serves an earlier version because the one it names cannot load.",
            version,
            "livemax",
        )
        self.nothing = gauge(
            "endpoints_serving_nothing",
            "Endpoints a worker knows and has no version loaded for.",
            [],
            "livemax",
        )
        self.expected_wait = gauge(
            "expected_wait_seconds",
            "What a request to this endpoint's version would wait now: the rows ahead of it "
            "at the version's cost per row (the worst worker's; admission compares it with "
            "the request's deadline).",
            version,
            "livemax",
        )
        self.row_cost = gauge(
            "row_cost_seconds",
            "Seconds one row costs the version (moving average over its batches).",
            ["version"],
            "livemax",
        )
        self.stuck = gauge(
            "model_calls_stuck", "Abandoned model calls not returned yet.", ["version"], "livesum"
        )
        self.store_up = gauge(
            "store_up", "1 while the store answers every worker's polls, else 0.", [], "livemin"
        )
        self.unwritten = gauge(
            "monitor_unwritten_bytes",
            "Prediction log rows kept in memory after a failed write (the database is down), "
            "in estimated bytes; past MODELYARD_MONITOR_MAX_UNWRITTEN_BYTES rows are dropped.",
            [],
            "livesum",
        )
        self.abandoned = Tally(
            registry,
            "modelyard_model_calls_abandoned",
            "Model calls given up on as stuck (their thread abandoned, a fresh one serving).",
            ["version"],
        )
        self.refused = Tally(
            registry,
            "modelyard_refused",
            "Requests and connections refused by a limit on callers (docs/security.md).",
            ["limit"],
        )
        self.direct = Tally(
            registry,
            "modelyard_direct_requests",
            "Inference requests answered on the connection itself (MODELYARD_DIRECT_PREDICT), "
            "not through ASGI; next to modelyard_requests_total it shows how much traffic "
            "takes the slower path.",
            [],
        )
        self.dropped = Tally(
            registry,
            "modelyard_monitor_dropped_rows",
            "Prediction rows a worker could not queue for the log.",
            [],
        )
        self.shed_windows = Tally(
            registry,
            "modelyard_monitor_shed_windows",
            "Unsaved monitor windows made smaller during a database outage, past "
            "MODELYARD_MONITOR_MAX_UNSAVED_BYTES: part=segments lost their per-segment "
            "sub-windows, part=window were dropped whole.",
            ["part"],
        )
        self.flush_failures = Tally(
            registry,
            "modelyard_monitor_flush_failures",
            "Monitoring flushes that failed (retried at the next interval).",
            [],
        )

    def watch(self, table: EndpointTable, recorder: Recorder | None) -> None:
        self.table, self.recorder = table, recorder

    def take(self) -> None:
        """Write what this worker sees now."""
        self.refused.show({(limit,): n for limit, n in REFUSALS.counts.items()})
        self.direct.show({(): TAKEN.direct})
        if self.recorder is not None:
            self.dropped.show({(): self.recorder.dropped_rows})
            self.flush_failures.show({(): self.recorder.flush_failures})
            self.shed_windows.show(
                {
                    ("segments",): self.recorder.folded_windows,
                    ("window",): self.recorder.dropped_windows,
                }
            )
            self.unwritten.show({(): self.recorder.unwritten_bytes})
        table = self.table
        if table is None:
            return
        queue: dict[Labels, float] = {}
        limit: dict[Labels, float] = {}
        serving: dict[Labels, float] = {}
        weight: dict[Labels, float] = {}
        shadow_queue: dict[Labels, float] = {}
        wait: dict[Labels, float] = {}
        cost: dict[Labels, float] = {}
        for name, active in table.active.items():
            for variant in active.every:
                key = (name, variant.loaded.ref)
                queue[key] = queue.get(key, 0) + variant.batcher.queued_rows
                wait[key] = max(wait.get(key, 0.0), variant.batcher.expected_wait)
                cost[(variant.loaded.ref,)] = variant.batcher.cost.seconds_per_row
                limit[key] = variant.batcher.limits.queue_rows
                serving[key] = 1
            for route in active.endpoint.routes:
                weight[(name, route.model, route.role)] = route.weight
            for shadow in active.shadows:
                shadow_queue[(name, shadow.loaded.ref)] = shadow.batcher.queued_rows
        self.queue.show(queue)
        self.queue_limit.show(limit)
        self.serving.show(serving)
        self.weight.show(weight)
        self.shadow_queue.show(shadow_queue)
        self.expected_wait.show(wait)
        self.row_cost.show(cost)
        loaded = table.pool.loaded
        self.load_seconds.show({(ref,): v.load_seconds for ref, v in loaded.items()})
        self.memory.show(
            {(ref,): v.memory_bytes for ref, v in loaded.items() if v.memory_bytes is not None}
        )
        self.stuck.show({(ref,): v.runner.stuck for ref, v in loaded.items()})
        self.abandoned.show({(ref,): v.runner.abandoned for ref, v in loaded.items()})
        self.load_failed.show(dict.fromkeys(((n,) for n in table.errors), 1))
        self.shadow_failed.show(
            {(n, route): 1 for n, problems in table.shadow_errors.items() for route in problems}
        )
        self.fallback.show({(n, c.serving): 1 for n, c in table.fallbacks.items()})
        self.nothing.show({(): len(table.serving_nothing)})
        self.store_up.show({(): 0 if table.store_down_since is not None else 1})
