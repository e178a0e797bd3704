"""Prometheus metrics on an injected registry (never the global one), right with N workers.

With ``serve --workers N`` each worker is a process of its own and a scrape reaches one of
them, so the values live in prometheus_client's multiprocess files (a private folder the
``serve`` parent makes, ``Settings.metrics_dir``) and every scrape merges them: counters
and histograms are summed over the workers, each gauge merges by the rule its
``multiprocess_mode`` names (docs/observability.md lists them). Values a worker only knows
by looking (queue depth, what is loaded) are written into gauges by ``TableSamples``, every
second and before each scrape. Values the store gives every worker alike (drift, quality)
and the processes' resources are read at scrape time by whichever worker answers.
"""

from __future__ import annotations

import asyncio
import logging
import os

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    values,
)
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from modelyard.monitoring.recorder import Recorder
from modelyard.runtime.batcher import BatchObserver
from modelyard.runtime.table import EndpointTable
from modelyard.serving.metric_samples import TableSamples
from modelyard.serving.process_metrics import ProcessResources, live_workers

log = logging.getLogger(__name__)
SAMPLE_SECONDS = 1.0  # how stale another worker's gauges may be at a scrape
LATENCY_BUCKETS_SECONDS = (
    0.0005,
    0.001,
    0.002,
    0.003,
    0.005,
    0.0075,
    0.01,
    0.015,
    0.025,
    0.05,
    0.075,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)


def shared_mode(metrics_dir: str | None) -> str | None:
    """The folder to merge from, when this process writes its values there (which
    prometheus_client decides once, when it is first imported)."""
    if metrics_dir is None:
        return None
    if not getattr(values.ValueClass, "_multiprocess", False):
        log.warning("metrics_dir %s ignored: PROMETHEUS_MULTIPROC_DIR was not set", metrics_dir)
        return None
    return metrics_dir


class Metrics:
    def __init__(self, registry: CollectorRegistry, metrics_dir: str | None = None) -> None:
        self.registry = registry
        self.shared_dir = shared_mode(metrics_dir)
        self.requests = Counter(
            "modelyard_requests",
            "Inference requests by endpoint, version and HTTP status.",
            ["endpoint", "version", "status"],
            registry=registry,
        )
        self.latency = Histogram(
            "modelyard_request_duration_seconds",
            "Inference request latency, from the first byte read to the answer.",
            ["endpoint"],
            buckets=LATENCY_BUCKETS_SECONDS,
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
        self.batch_seconds = Histogram(
            "modelyard_batch_duration_seconds",
            "Model call time per batch.",
            ["endpoint", "version"],
            buckets=LATENCY_BUCKETS_SECONDS,
            registry=registry,
        )
        self.in_flight = Gauge(
            "modelyard_in_flight_requests",
            "Requests being handled (summed over the workers).",
            registry=registry,
            multiprocess_mode="livesum",
        )
        self.shadow = ShadowMetrics(registry)
        self.samples = TableSamples(registry)
        self._at_scrape: list[Collector] = []
        self.read_at_scrape(ProcessResources(lambda: live_workers(self.shared_dir)))

    def observer(self, endpoint: str, version: str) -> BatchObserver:
        rows = self.batch_rows.labels(endpoint, version)
        duration = self.batch_seconds.labels(endpoint, version)

        def observe(batch_rows: int, seconds: float) -> None:
            rows.observe(batch_rows)
            duration.observe(seconds)

        return observe

    def watch(self, table: EndpointTable, recorder: Recorder | None = None) -> None:
        self.samples.watch(table, recorder)

    def read_at_scrape(self, collector: Collector) -> None:
        """A collector every worker answers alike (read from the shared store, or about
        every worker): asked by whichever worker serves the scrape, never merged."""
        self._at_scrape.append(collector)
        if self.shared_dir is None:
            self.registry.register(collector)

    def exposition(self) -> bytes:
        """The text a scrape gets: this worker's samples taken now, merged with every
        other worker's when there are several."""
        self.samples.take()
        if self.shared_dir is None:
            return generate_latest(self.registry)
        live_workers(self.shared_dir)  # marks dead workers dead before their files are read
        merged = CollectorRegistry(auto_describe=False)
        MultiProcessCollector(merged, self.shared_dir)  # type: ignore[no-untyped-call]
        for collector in self._at_scrape:
            merged.register(collector)
        return generate_latest(merged)

    async def keep_sampling(self, seconds: float = SAMPLE_SECONDS) -> None:
        """Write this worker's samples every ``seconds`` (only needed with workers: a
        scrape another worker answers sees them)."""
        while True:
            self.samples.take()
            await asyncio.sleep(seconds)

    def leave(self) -> None:
        """This worker stops: its live gauges (queue depth, in-flight) leave the merge;
        its counters stay in it, so totals do not drop."""
        if self.shared_dir is not None:
            from prometheus_client.multiprocess import mark_process_dead

            mark_process_dead(os.getpid(), self.shared_dir)  # type: ignore[no-untyped-call]


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
            "modelyard_shadow_duration_seconds",
            "Shadow latency (queue + model) of mirrored requests.",
            labels,
            buckets=LATENCY_BUCKETS_SECONDS,
            registry=registry,
        )
