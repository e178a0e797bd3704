"""The data-quality and per-class gauges: one series per feature signal, refusal rule and
class, and no confusion matrix past MAX_MATRIX_CLASSES classes."""

from __future__ import annotations

from datetime import UTC, datetime

from prometheus_client import CollectorRegistry, generate_latest

from modelyard.domain.monitor_results import (
    Feedback,
    Latency,
    MonitorSummary,
    Quality,
    Traffic,
    VersionMonitor,
)
from modelyard.domain.monitoring import DriftConfig
from modelyard.domain.quality_signals import DataQuality, FeatureQuality
from modelyard.monitoring.class_metrics import class_report_of
from modelyard.monitoring.prometheus import MonitorGauges
from modelyard.monitoring.prometheus_quality import MAX_MATRIX_CLASSES


def _summary(classes: list[str]) -> MonitorSummary:
    quality = DataQuality(
        (FeatureQuality("age", "numeric", 100, 10, out_of_range=9),),
        attempts=40,
        refused={"unseen_category": 4},
    )
    version = VersionMonitor(
        version="churn@1",
        traffic=Traffic(36, 100, {"422": 4}, 0.0, 0.1, Latency()),
        drift=None,
        drift_unavailable="none",
        classes={},
        histograms=None,
        quality=Quality(),
        feedback=Feedback(100, 0, 0.0, None),
        data_quality=quality,
        per_class=class_report_of(classes, classes[::-1], classes),
    )
    at = datetime(2025, 1, 1, tzinfo=UTC)
    return MonitorSummary("churn-api", at, at, DriftConfig(), (version,))


def _scrape(summary: MonitorSummary) -> list[str]:
    gauges = MonitorGauges()
    gauges.update("churn-api", summary)
    registry = CollectorRegistry()
    registry.register(gauges)
    return generate_latest(registry).decode().splitlines()


def test_gauges_hold_the_shares_and_class_metrics() -> None:
    lines = _scrape(_summary(["churn", "stay"]))
    key = 'endpoint="churn-api",feature="age",signal="out_of_range_share",version="churn@1"'
    assert f"modelyard_feature_quality{{{key}}} 0.1" in lines  # 9 of the 90 given
    rule = 'endpoint="churn-api",rule="unseen_category",version="churn@1"'
    assert f"modelyard_refused_share{{{rule}}} 0.1" in lines
    assert sum(line.startswith("modelyard_class_quality{") for line in lines) == 2 * 3
    assert sum(line.startswith("modelyard_confusion_rows{") for line in lines) == 4


def test_no_confusion_matrix_past_its_class_limit() -> None:
    many = [f"c{i}" for i in range(MAX_MATRIX_CLASSES + 1)]
    lines = _scrape(_summary(many))
    assert not any(line.startswith("modelyard_confusion_rows{") for line in lines)
    assert sum(line.startswith("modelyard_class_quality{") for line in lines) == 3 * len(many)
