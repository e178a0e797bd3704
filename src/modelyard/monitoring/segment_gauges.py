"""Prometheus gauges per segment, from the same summaries as the other monitor gauges.

Label cardinality is bounded by the segment settings, never by traffic: at most
``MAX_FEATURES`` (4) segmenting features × (``top`` + 2) segments (the top categories,
``other`` and ``missing``; 5 for a numeric feature's quartiles and ``missing``), and per
segment one rows gauge, one drift-share gauge and at most four quality gauges (the two
headline metrics, realized and estimated). With the default ``top`` of 20: at most
4 × 22 × 6 = 528 series per endpoint version.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from prometheus_client.core import GaugeMetricFamily

from modelyard.domain.monitor_results import MonitorSummary

# Per segment: the metrics that say whether it is right (realized or estimated).
GAUGED = ("accuracy", "f1", "mae", "rmse")


def segment_families(summaries: Mapping[str, MonitorSummary]) -> Iterator[GaugeMetricFamily]:
    labels = ["endpoint", "version", "feature", "segment"]
    rows = GaugeMetricFamily(
        "modelyard_segment_rows",
        "Rows predicted per segment over the rolling period.",
        labels=labels,
    )
    drift = GaugeMetricFamily(
        "modelyard_segment_drift_share",
        "Share of judged features that drifted within the segment.",
        labels=labels,
    )
    quality = GaugeMetricFamily(
        "modelyard_segment_quality",
        "Quality per segment over the rolling period: from feedback (metric accuracy, f1, "
        "mae, rmse) or estimated without labels (estimated_accuracy, …).",
        labels=[*labels, "metric"],
    )
    for endpoint, summary in summaries.items():
        for version in summary.versions:
            for segment in version.segments:
                key = [endpoint, version.version, segment.feature, segment.value]
                rows.add_metric(key, segment.rows)
                if segment.drift_share is not None:
                    drift.add_metric(key, segment.drift_share)
                metrics = segment.metrics()
                for name in GAUGED:
                    for metric in (name, f"estimated_{name}"):
                        value = metrics.get(metric)
                        if value is not None:
                            quality.add_metric([*key, metric], value)
    yield from (rows, drift, quality)
