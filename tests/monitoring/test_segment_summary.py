"""Per-segment quality, estimates and drift in an endpoint's summary, through the recorder
and a real yard; a condition on one segment reads them."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import orjson
import pytest

from modelyard import Yard
from modelyard.control.signals import version_metrics
from modelyard.domain.conditions import parse_condition
from modelyard.domain.monitor_results import MonitorSummary
from modelyard.domain.signature import Signature
from modelyard.errors import InvalidInput
from modelyard.monitoring.recorder import Recorder
from modelyard.monitoring.segment_summary import by_feature
from modelyard.monitoring.summary import summarize
from modelyard.runtime.events import PredictionEvent
from modelyard.runtime.inputs import from_frame
from modelyard.runtime.runner import Output
from tests.monitoring.segmented_data import model, rows, truth

pytestmark = pytest.mark.slow  # registering with a holdout calibrates: ~8 s here

AT = datetime(2024, 5, 1, 12, 1, tzinfo=UTC).timestamp()
PERIOD = (datetime(2024, 5, 1, tzinfo=UTC), datetime(2024, 5, 2, tzinfo=UTC))


@pytest.fixture(scope="module")
def summary(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Yard, MonitorSummary]]:
    """Built once: registering with a holdout calibrates, which takes a few seconds."""
    with Yard(tmp_path_factory.mktemp("segments") / "home", actor="tester") as yard:
        yield yard, _summary(yard)


def _summary(sqlite_yard: Yard) -> MonitorSummary:
    X, y = rows(800, 1)
    classifier = model(X, y)
    holdout = rows(400, 2)
    version = sqlite_yard.register(classifier, "risk", sample=X, holdout=holdout)
    sqlite_yard.create_endpoint("risk", "risk@1", segment_by=["country", "x1"], segment_top=3)
    signature = Signature.from_dict(version.signature)
    spec = sqlite_yard.get_endpoint("risk").monitoring.segments
    live, labels = rows(1200, 3, shift=2.0)
    replicas = [Recorder(sqlite_yard, bucket_seconds=300, clock=lambda: AT) for _ in range(2)]
    ids: list[str] = []
    for start in range(0, len(live), 100):  # two replicas, their windows summed
        frame = live.iloc[start : start + 100]
        output = Output(classifier.predict(frame), classifier.predict_proba(frame))
        part = [uuid.uuid4().hex for _ in range(len(frame))]
        ids += part
        columns = from_frame(signature, frame)
        replica = replicas[start // 100 % 2]
        replica.predicted(PredictionEvent("risk", "risk@1", columns, output, part, 4.0, AT, 0.0,
                                          segments=spec))  # fmt: skip
    for replica in replicas:
        replica.flush()
    actual = truth(live, labels)
    sqlite_yard.add_feedback(
        "risk", [(i, orjson.dumps(a).decode()) for i, a in zip(ids, actual, strict=False)]
    )
    return summarize(sqlite_yard.monitor, "risk", *PERIOD, timeline=False)


def test_the_wrong_country_is_listed_worst_first(summary) -> None:
    _, found = summary
    (version,) = found.versions
    countries = [s for s in version.segments if s.feature == "country"]
    assert {s.value for s in countries} == {"FR", "DE", "IT", "other"}
    assert sum(s.rows for s in countries) == 1200
    worst = countries[0]
    assert worst.value == "FR"
    assert worst.quality.accuracy is not None
    assert worst.quality.accuracy < 0.3
    assert all(s.quality.accuracy > 0.8 for s in countries[1:])
    assert worst.drift_share is not None
    assert worst.drift_share > 0
    assert "x1" in worst.drifted
    assert worst.estimate is not None
    assert worst.estimate.value("accuracy") is not None
    quartiles = [s for s in version.segments if s.feature == "x1"]
    assert {s.value for s in quartiles} <= {"q1", "q2", "q3", "q4"}
    assert quartiles[0].bounds is not None


def test_a_condition_on_a_segment_reads_its_quality(summary) -> None:
    _, found = summary
    metrics = version_metrics(found.versions[0])
    assert parse_condition("accuracy[country=FR]<0.5").judge(metrics).passed is True
    assert parse_condition("accuracy[country=DE]<0.5").judge(metrics).passed is False
    verdict = parse_condition("accuracy[country=*]<0.5").judge(metrics)
    assert verdict.passed is True
    assert "[country=FR]" in verdict.message
    assert metrics["estimated_accuracy[country=DE]"] is not None


def test_status_by_one_feature_keeps_its_segments_and_refuses_others(summary) -> None:
    _, found = summary
    only = by_feature(found, "country", ("country", "x1"))
    assert {s.feature for s in only.versions[0].segments} == {"country"}
    assert only.to_json()["versions"][0]["segments"][0]["value"] == "FR"
    with pytest.raises(InvalidInput, match="by 'plan': endpoint 'risk' is not monitored"):
        by_feature(found, "plan", ("country", "x1"))


def test_policies_on_a_feature_the_endpoint_is_not_split_by_are_refused(summary) -> None:
    yard, _ = summary
    with pytest.raises(InvalidInput, match="is not monitored by 'plan'"):
        yard.add_policy("risk", "accuracy[plan=pro]<0.8", ["run:true"])
    with pytest.raises(InvalidInput, match="segment_by 'plan': not an input of the model"):
        yard.create_endpoint("risk2", "risk@1", segment_by=["plan"])
