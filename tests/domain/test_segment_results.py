"""One segment's metrics as conditions read them: its labelled rows, and realized quality
only from MIN_LABELED of them."""

from __future__ import annotations

from modelyard.domain.conditions import parse_condition
from modelyard.domain.monitor_results import Quality
from modelyard.domain.segment_results import MIN_LABELED, SegmentMonitor
from modelyard.domain.segments import segment_key


def _segment(value: str, accuracy: float, labeled: int) -> SegmentMonitor:
    quality = Quality(labeled=labeled, kind="classification", accuracy=accuracy)
    return SegmentMonitor("country", value, 500, 500, 0.5, quality, None, None, ())


def _flat(*segments: SegmentMonitor) -> dict[str, float | None]:
    return {
        segment_key(name, s.feature, s.value): value
        for s in segments
        for name, value in s.metrics().items()
    }


def test_a_segment_reports_its_labelled_rows_and_quality_only_from_enough_of_them() -> None:
    few = _segment("FR", 0.0, MIN_LABELED - 1).metrics()
    assert few["labeled"] == MIN_LABELED - 1
    assert few["accuracy"] is None
    assert _segment("FR", 0.0, MIN_LABELED).metrics()["accuracy"] == 0.0


def test_a_policy_on_any_segment_ignores_segments_with_a_few_labels() -> None:
    metrics = _flat(_segment("FR", 0.0, 2), _segment("DE", 0.9, 300))
    verdict = parse_condition("accuracy[country=*]<0.8").judge(metrics)
    assert verdict.passed is False
    assert "[country=DE]" in verdict.message
