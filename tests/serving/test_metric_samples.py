"""The sampled gauges and tallies on a real registry (one process: nothing merged)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from modelyard.monitoring.recorder import Recorder
from modelyard.serving.metric_samples import SampledGauge, TableSamples, Tally


def value(registry: CollectorRegistry, name: str, **labels: str) -> float | None:
    return registry.get_sample_value(name, labels)


def test_label_sets_no_longer_seen_read_zero() -> None:
    registry = CollectorRegistry()
    queue = SampledGauge(registry, "queue_rows", "rows", ["version"], "livesum")
    queue.show({("a@1",): 5, ("a@2",): 3})
    queue.show({("a@2",): 4})
    assert value(registry, "queue_rows", version="a@1") == 0
    assert value(registry, "queue_rows", version="a@2") == 4


def test_a_tally_counts_growth_and_restarts_with_a_new_object() -> None:
    registry = CollectorRegistry()
    abandoned = Tally(registry, "abandoned", "calls", ["version"])
    abandoned.show({("a@1",): 2})
    abandoned.show({("a@1",): 5})
    abandoned.show({("a@1",): 1})  # a renewed runner counts from 0 again
    assert value(registry, "abandoned_total", version="a@1") == 6


def test_gauges_and_tallies_without_labels() -> None:
    registry = CollectorRegistry()
    store = SampledGauge(registry, "store_up", "up", [], "livemin")
    dropped = Tally(registry, "dropped", "rows", [])
    store.show({(): 1})
    store.show({})
    dropped.show({(): 3})
    assert value(registry, "store_up") == 0
    assert value(registry, "dropped_total") == 3


def test_the_recorders_shed_windows_are_counted_by_part(sqlite_yard) -> None:
    registry = CollectorRegistry()
    samples = TableSamples(registry)
    recorder = Recorder(sqlite_yard)
    samples.watch(None, recorder)  # type: ignore[arg-type]
    samples.take()
    assert value(registry, "modelyard_monitor_shed_windows_total", part="window") == 0
    recorder.folded_windows, recorder.dropped_windows = 5, 2
    samples.take()
    assert value(registry, "modelyard_monitor_shed_windows_total", part="segments") == 5
    assert value(registry, "modelyard_monitor_shed_windows_total", part="window") == 2
