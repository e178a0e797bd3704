"""Prometheus metrics on an injected registry (never the global one)."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from modelyard.runtime.batcher import BatchObserver
from modelyard.runtime.table import EndpointTable
from modelyard.serving.refusals import REFUSALS, Refusals

LATENCY_BUCKETS_MS = (
    0.5,
    1,
    2,
    3,
    5,
    7.5,
    10,
    15,
    25,
    50,
    75,
    100,
    250,
    500,
    1000,
    2500,
    5000,
    10000,
)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)


class Metrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.requests = Counter(
            "modelyard_requests",
            "Inference requests by endpoint, version and HTTP status.",
            ["endpoint", "version", "status"],
            registry=registry,
        )
        self.latency = Histogram(
            "modelyard_request_duration_milliseconds",
            "Inference request latency (ms).",
            ["endpoint"],
            buckets=LATENCY_BUCKETS_MS,
            registry=registry,
        )
        self.rows = Counter(
            "modelyard_predicted_rows",
            "Rows predicted.",
            ["endpoint", "version"],
            registry=registry,
        )
        self.batch_rows = Histogram(
            "modelyard_batch_rows",
            "Rows per model call (micro-batch size).",
            ["endpoint", "version"],
            buckets=BATCH_BUCKETS,
            registry=registry,
        )
        self.batch_ms = Histogram(
            "modelyard_batch_duration_milliseconds",
            "Model call time per batch (ms).",
            ["endpoint", "version"],
            buckets=LATENCY_BUCKETS_MS,
            registry=registry,
        )
        self.in_flight = Gauge(
            "modelyard_in_flight_requests", "Requests being handled.", registry=registry
        )
        self.shadow = ShadowMetrics(registry)
        registry.register(_RefusalCollector(REFUSALS))

    def observer(self, endpoint: str, version: str) -> BatchObserver:
        rows = self.batch_rows.labels(endpoint, version)
        duration = self.batch_ms.labels(endpoint, version)

        def observe(batch_rows: int, seconds: float) -> None:
            rows.observe(batch_rows)
            duration.observe(seconds * 1000)

        return observe

    def watch(self, table: EndpointTable) -> None:
        self.registry.register(_TableCollector(table))


class ShadowMetrics:
    """Shadow vs the version that answered, labelled endpoint/primary/shadow. Means are
    ratios: abs_diff / rows, proba_abs_diff / proba_rows, agreements / rows."""

    def __init__(self, registry: CollectorRegistry) -> None:
        labels = ["endpoint", "primary", "shadow"]

        def counter(name: str, text: str) -> Counter:
            return Counter(f"modelyard_shadow_{name}", text, labels, registry=registry)

        self.rows = counter("rows", "Rows answered by both a shadow and the primary.")
        self.agreements = counter("agreements", "Compared rows where the two answers agree.")
        self.abs_diff = counter("abs_diff", "Sum of |shadow − primary| numeric predictions.")
        self.proba_rows = counter("proba_rows", "Compared rows with probabilities on both sides.")
        self.proba_abs_diff = counter(
            "proba_abs_diff", "Sum of per-row mean |Δ| class probabilities (binary: positive)."
        )
        self.errors = counter("errors", "Mirrored rows the shadow failed on (raised, timed out).")
        self.skipped = counter("skipped", "Rows not mirrored because the shadow's queue was full.")
        self.latency = Histogram(
            "modelyard_shadow_duration_milliseconds",
            "Shadow latency (queue + model) of mirrored requests (ms).",
            labels,
            buckets=LATENCY_BUCKETS_MS,
            registry=registry,
        )


class _TableCollector(Collector):
    """Values read from the live table at scrape time: queue depth, loaded models."""

    def __init__(self, table: EndpointTable) -> None:
        self.table = table

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        queue = GaugeMetricFamily(
            "modelyard_queue_rows",
            "Rows waiting in an endpoint's queue.",
            labels=["endpoint", "version"],
        )
        serving = GaugeMetricFamily(
            "modelyard_endpoint_serving",
            "1 for the version an endpoint routes to.",
            labels=["endpoint", "version"],
        )
        for name, active in self.table.active.items():
            for variant in active.every:
                queue.add_metric([name, variant.loaded.ref], variant.batcher.queued_rows)
                serving.add_metric([name, variant.loaded.ref], 1)
        load = GaugeMetricFamily(
            "modelyard_model_load_seconds",
            "Seconds it took to load, verify and warm a version.",
            labels=["version"],
        )
        for ref, loaded in self.table.pool.loaded.items():
            load.add_metric([ref], loaded.load_seconds)
        errors = GaugeMetricFamily(
            "modelyard_endpoint_load_failed",
            "1 when the newest version of an endpoint failed to load.",
            labels=["endpoint"],
        )
        for name in self.table.errors:
            errors.add_metric([name], 1)
        shadow_queue = GaugeMetricFamily(
            "modelyard_shadow_queue_rows",
            "Rows waiting in a shadow's queue.",
            labels=["endpoint", "shadow"],
        )
        for name, active in self.table.active.items():
            for shadow in active.shadows:
                shadow_queue.add_metric([name, shadow.loaded.ref], shadow.batcher.queued_rows)
        shadow_failed = GaugeMetricFamily(
            "modelyard_shadow_load_failed",
            "1 for a shadow route left out because it could not load.",
            labels=["endpoint", "route"],
        )
        for name, problems in self.table.shadow_errors.items():
            for route in problems:
                shadow_failed.add_metric([name, route], 1)
        fallback = GaugeMetricFamily(
            "modelyard_endpoint_fallback",
            "1 when an endpoint serves an earlier version because the one it names cannot load.",
            labels=["endpoint", "version"],
        )
        for name, chosen in self.table.fallbacks.items():
            fallback.add_metric([name, chosen.serving], 1)
        nothing = GaugeMetricFamily(
            "modelyard_endpoints_serving_nothing",
            "Endpoints this process knows and has no version loaded for.",
        )
        nothing.add_metric([], len(self.table.serving_nothing))
        abandoned = CounterMetricFamily(
            "modelyard_model_calls_abandoned",
            "Model calls given up on as stuck (their thread abandoned, a fresh one serving).",
            labels=["version"],
        )
        stuck = GaugeMetricFamily(
            "modelyard_model_calls_stuck",
            "Abandoned model calls that have not returned yet.",
            labels=["version"],
        )
        for ref, loaded in self.table.pool.loaded.items():
            abandoned.add_metric([ref], loaded.runner.abandoned)
            stuck.add_metric([ref], loaded.runner.stuck)
        store = GaugeMetricFamily(
            "modelyard_store_up", "1 while the store answers this process's polls, else 0."
        )
        store.add_metric([], 0 if self.table.store_down_since is not None else 1)
        yield from (queue, serving, load, errors, shadow_queue, shadow_failed)
        yield from (fallback, nothing, abandoned, stuck, store)


class _RefusalCollector(Collector):
    """Refusals by the limits on callers; ``limit`` takes a fixed set of values."""

    def __init__(self, refusals: Refusals) -> None:
        self.refusals = refusals

    def collect(self) -> Iterator[CounterMetricFamily]:
        family = CounterMetricFamily(
            "modelyard_refused",
            "Requests and connections refused by a limit on callers (docs/security.md).",
            labels=["limit"],
        )
        for limit, count in self.refusals.counts.items():
            family.add_metric([limit], count)
        yield family
