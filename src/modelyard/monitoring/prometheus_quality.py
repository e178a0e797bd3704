"""Prometheus gauges for data quality and per-class quality, read from the same summaries
as the drift gauges (monitoring/prometheus.py).

Label values stay bounded: features are the signature's, refusal rules a fixed set
(domain/refusal_rules.py), classes at most MAX_CLASSES (domain/quality_signals.py), and
the confusion matrix is exported only for up to MAX_MATRIX_CLASSES classes (its series
grow with the square).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from prometheus_client.core import GaugeMetricFamily

from modelyard.domain.monitor_results import MonitorSummary
from modelyard.domain.quality_signals import CLASS_METRICS, MAX_CLASSES

MAX_MATRIX_CLASSES = 10
_SHARES = ("missing_share", "out_of_range_share", "unseen_share")


def quality_families(summaries: Mapping[str, MonitorSummary]) -> Iterator[GaugeMetricFamily]:
    labels = ["endpoint", "version"]
    feature = GaugeMetricFamily(
        "modelyard_feature_quality",
        "Share of a feature's values over the rolling period that were missing, outside "
        "the training range (numeric) or never seen in training (open categories).",
        labels=[*labels, "feature", "signal"],
    )
    refused = GaugeMetricFamily(
        "modelyard_refused_share",
        "Share of requests over the rolling period refused (4xx) by each rule.",
        labels=[*labels, "rule"],
    )
    per_class = GaugeMetricFamily(
        "modelyard_class_quality",
        "Per-class precision, recall and F1 from feedback over the rolling period.",
        labels=[*labels, "class", "metric"],
    )
    confusion = GaugeMetricFamily(
        "modelyard_confusion_rows",
        "Labelled rows over the rolling period by actual and predicted class.",
        labels=[*labels, "actual", "predicted"],
    )
    for endpoint, summary in summaries.items():
        for version in summary.versions:
            key = [endpoint, version.version]
            quality = version.data_quality
            if quality is not None:
                for item in quality.features:
                    for signal in _SHARES:
                        if (share := getattr(item, signal)) is not None:
                            feature.add_metric([*key, item.feature, signal], share)
                for rule in quality.refused:
                    refused.add_metric([*key, rule], quality.refused_share(rule) or 0.0)
            report = version.per_class
            if report is None:
                continue
            for one in report.classes[:MAX_CLASSES]:
                for metric in CLASS_METRICS:
                    per_class.add_metric([*key, one.label, metric], getattr(one, metric))
            if len(report.labels) <= MAX_MATRIX_CLASSES:
                for actual, row in zip(report.labels, report.confusion, strict=True):
                    for predicted, count in zip(report.labels, row, strict=True):
                        confusion.add_metric([*key, actual, predicted], count)
    yield from (feature, refused, per_class, confusion)
