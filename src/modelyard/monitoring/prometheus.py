"""Prometheus gauges for drift, quality and feedback, read from the latest summaries.

Summaries are computed off the event loop every refresh interval over the trailing
rolling period, from the store (so every replica reports the fleet's merged windows);
a scrape only reads the last result.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from modelyard.domain.monitor_results import MonitorSummary
from modelyard.domain.quality_signals import MAX_CLASSES
from modelyard.monitoring.prometheus_quality import quality_families
from modelyard.monitoring.segment_gauges import segment_families

log = logging.getLogger(__name__)


class MonitorGauges(Collector):
    def __init__(self) -> None:
        self.summaries: dict[str, MonitorSummary] = {}

    def update(self, endpoint: str, summary: MonitorSummary) -> None:
        self.summaries[endpoint] = summary

    def keep_only(self, endpoints: set[str]) -> None:
        for name in [n for n in self.summaries if n not in endpoints]:
            del self.summaries[name]

    async def keep_fresh(
        self,
        endpoints: Callable[[], list[str]],
        summarize: Callable[[str], MonitorSummary],
        seconds: float,
    ) -> None:
        """Recompute every endpoint's summary off the event loop, every ``seconds``."""
        while True:
            names = endpoints()
            for name in names:
                try:
                    self.update(name, await asyncio.to_thread(summarize, name))
                except Exception:  # a deleted endpoint or a store hiccup: next round
                    log.exception("monitor gauges for %s could not be refreshed", name)
            self.keep_only(set(names))
            await asyncio.sleep(seconds)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        labels = ["endpoint", "version"]
        feature = GaugeMetricFamily(
            "modelyard_feature_drift",
            "Drift test value per feature over the rolling period (p-values end in _p_value).",
            labels=[*labels, "feature", "test"],
        )
        output = GaugeMetricFamily(
            "modelyard_output_drift",
            "Drift test value of the model output over the rolling period.",
            labels=[*labels, "test"],
        )
        share = GaugeMetricFamily(
            "modelyard_drift_share", "Share of judged features that drifted.", labels=labels
        )
        share_threshold = GaugeMetricFamily(
            "modelyard_drift_share_threshold",
            "The drift share at which the endpoint counts its data as drifted.",
            labels=labels,
        )
        dataset = GaugeMetricFamily(
            "modelyard_dataset_drift",
            "1 when the drift share reaches the endpoint's threshold.",
            labels=labels,
        )
        quality = GaugeMetricFamily(
            "modelyard_quality",
            "Live quality from feedback over the rolling period.",
            labels=[*labels, "metric"],
        )
        estimated = GaugeMetricFamily(
            "modelyard_estimated_quality",
            "Quality estimated without labels over the rolling period (bound: value, or the "
            "interval's low and high end).",
            labels=[*labels, "metric", "bound"],
        )
        classes = GaugeMetricFamily(
            "modelyard_predicted_class_rows",
            "Rows predicted per class over the rolling period.",
            labels=[*labels, "class"],
        )
        lag = GaugeMetricFamily(
            "modelyard_feedback_lag_seconds",
            "Median time from prediction to its feedback.",
            labels=labels,
        )
        coverage = GaugeMetricFamily(
            "modelyard_feedback_coverage",
            "Share of predicted rows that have feedback.",
            labels=labels,
        )
        for endpoint, summary in self.summaries.items():
            for version in summary.versions:
                key = [endpoint, version.version]
                drift = version.drift
                if drift is not None:
                    for item in drift.features:
                        for test, value in item.values.items():
                            feature.add_metric([*key, item.feature, test], value)
                    if drift.output is not None:
                        for test, value in drift.output.values.items():
                            output.add_metric([*key, test], value)
                    if drift.drift_share is not None:
                        share.add_metric(key, drift.drift_share)
                        share_threshold.add_metric(key, drift.config.drift_share)
                        dataset.add_metric(key, 1.0 if drift.drifted else 0.0)
                for metric, value in _numbers(version.quality.to_json()):
                    quality.add_metric([*key, metric], value)
                for name, guess in (version.estimate.metrics if version.estimate else {}).items():
                    for bound in ("value", "low", "high"):
                        if (number := getattr(guess, bound)) is not None:
                            estimated.add_metric([*key, name, bound], number)
                for label, count in list(version.classes.items())[:MAX_CLASSES]:
                    classes.add_metric([*key, label], count)
                fed = version.feedback
                if fed.lag_seconds_p50 is not None:
                    lag.add_metric(key, fed.lag_seconds_p50)
                if fed.coverage is not None:
                    coverage.add_metric(key, fed.coverage)
        yield from (feature, output, share, share_threshold, dataset, quality, estimated)
        yield from (classes, lag, coverage)
        yield from quality_families(self.summaries)
        yield from segment_families(self.summaries)  # bounded labels: segment_gauges.py


def _numbers(values: Mapping[str, Any]) -> Iterator[tuple[str, float]]:
    for name, value in values.items():
        if isinstance(value, int | float) and not isinstance(value, bool):
            yield name, float(value)
