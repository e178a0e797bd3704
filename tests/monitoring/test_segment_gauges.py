"""Per-segment gauges: one series per segment and metric, labelled by feature and segment."""

from __future__ import annotations

from datetime import UTC, datetime

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from modelyard.domain.monitor_results import (
    Feedback,
    Latency,
    MonitorSummary,
    Quality,
    Traffic,
    VersionMonitor,
)
from modelyard.domain.monitoring import DriftConfig
from modelyard.domain.segment_results import SegmentMonitor
from modelyard.monitoring.prometheus import MonitorGauges


def _segment(value: str, accuracy: float) -> SegmentMonitor:
    quality = Quality(labeled=50, kind="classification", accuracy=accuracy, f1=accuracy)
    return SegmentMonitor("country", value, 100, 10, 0.5, quality, None, 0.25, ("x1",))


def test_each_segment_gets_its_rows_drift_and_quality_series() -> None:
    traffic = Traffic(10, 200, {}, 0.0, 0.0, Latency(1.0, 2.0, 3.0))
    version = VersionMonitor(
        version="risk@1",
        traffic=traffic,
        drift=None,
        drift_unavailable="none",
        classes={},
        histograms=None,
        quality=Quality(),
        feedback=Feedback(200, 100, 0.5, 1.0),
        segments=(_segment("FR", 0.2), _segment("DE", 0.9)),
    )
    now = datetime.now(UTC)
    gauges = MonitorGauges()
    gauges.update("risk", MonitorSummary("risk", now, now, DriftConfig(), (version,), ()))
    registry = CollectorRegistry()
    registry.register(gauges)
    samples = [
        (sample.name, sample.labels, sample.value)
        for family in text_string_to_metric_families(generate_latest(registry).decode())
        for sample in family.samples
        if sample.name.startswith("modelyard_segment_")
    ]
    france = {"endpoint": "risk", "version": "risk@1", "feature": "country", "segment": "FR"}
    assert ("modelyard_segment_quality", {**france, "metric": "accuracy"}, 0.2) in samples
    assert ("modelyard_segment_rows", france, 100.0) in samples
    assert ("modelyard_segment_drift_share", france, 0.25) in samples
    quality = [s for s in samples if s[0] == "modelyard_segment_quality"]
    assert len(quality) == 4  # accuracy and f1 of two segments; nothing estimated
