"""The report's data-quality and per-class tables, as a reader of the page sees them."""

from __future__ import annotations

from datetime import UTC, datetime

from sklearn.metrics import precision_recall_fscore_support

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
from modelyard.monitoring.report import render_html
from modelyard.monitoring.report.quality import class_section, data_quality_section

TRUE, PRED, CLASSES = ["yes", "no", "yes"], ["yes", "yes", "yes"], ["no", "yes"]
QUALITY = DataQuality(
    (
        FeatureQuality("age", "numeric", 200, 20, out_of_range=30),
        FeatureQuality("<plan>", "categorical", 200, 0, unseen=80),
    ),
    attempts=50,
    refused={"wrong_type": 5},
)


def _version(quality: DataQuality | None) -> VersionMonitor:
    return VersionMonitor(
        version="churn@1",
        traffic=Traffic(45, 200, {"422": 5}, 0.0, 0.1, Latency()),
        drift=None,
        drift_unavailable="none",
        classes={},
        histograms=None,
        quality=Quality(),
        feedback=Feedback(200, 3, 0.015, None),
        data_quality=quality,
        per_class=class_report_of(TRUE, PRED, CLASSES),
    )


def test_the_worst_feature_comes_first_with_its_shares() -> None:
    text = data_quality_section(_version(QUALITY))
    assert text.index("&lt;plan&gt;") < text.index("age")  # 40 % unseen before 15 %
    assert "<td>10.0 %</td><td>16.7 %</td>" in text  # age: 20 of 200 missing, 30 of 180 outside
    assert "<code>wrong_type</code> 10.0 %" in text


def test_per_class_table_and_confusion_matrix() -> None:
    text = class_section(_version(QUALITY))
    p, r, f, n = (
        v[1] for v in precision_recall_fscore_support(TRUE, PRED, labels=CLASSES, zero_division=0)
    )
    assert f"<tr><td>yes</td><td>{p:.3f}</td><td>{r:.3f}</td><td>{f:.3f}</td><td>{n}</td>" in text
    assert "<tr><th>no</th><td>0</td><td>1</td></tr>" in text


def test_the_page_says_when_there_is_no_reference() -> None:
    at = datetime(2025, 1, 1, tzinfo=UTC)
    bare = _version(DataQuality((), attempts=50, refused={"wrong_type": 5}))
    page = render_html(MonitorSummary("churn-api", at, at, DriftConfig(), (bare,)))
    assert "No reference profile: no per-feature signals." in page
    assert "<code>wrong_type</code> 10.0 %" in page
    assert "Quality per class (from feedback)" in page
