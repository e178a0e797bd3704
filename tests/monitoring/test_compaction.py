"""Compaction folds old fine windows into hourly ones without changing what the monitor
says: totals, latency, drift and quality over the period are the same before and after."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from modelyard import Yard
from modelyard.domain.monitor_results import MonitorSummary
from modelyard.domain.signature import Signature
from modelyard.errors import InvalidInput
from modelyard.monitoring.compaction import ROLLUP_REPLICA, compact
from modelyard.monitoring.recorder import Recorder
from modelyard.monitoring.summary import summarize
from modelyard.runtime.events import PredictionEvent
from modelyard.runtime.inputs import from_frame
from modelyard.runtime.runner import Output

START = datetime(2024, 5, 1, tzinfo=UTC)
NOW = START + timedelta(hours=60)


@pytest.fixture
def traffic(yard: Yard, logreg, cancer) -> Yard:
    """60 hours of traffic from two replicas, a request every 40 minutes, drifting later."""
    X, _ = cancer
    version = yard.register(logreg, "churn", sample=X)
    yard.create_endpoint("churn", "churn@1")
    signature = Signature.from_dict(version.signature)
    replicas = [Recorder(yard, bucket_seconds=300) for _ in range(2)]
    for step in range(90):
        at = (START + timedelta(minutes=40 * step + 1)).timestamp()
        frame = X.sample(20, random_state=step)
        if step > 60:
            frame = frame * 1.3
        output = Output(logreg.predict(frame), logreg.predict_proba(frame))
        ids = [uuid.uuid4().hex for _ in range(len(frame))]
        event = PredictionEvent(
            "churn", "churn@1", from_frame(signature, frame), output, ids, 2.0 + step % 7, at, 0.0
        )
        replicas[step % 2].predicted(event)
        replicas[step % 2].flush()
    return yard


def _summary(yard: Yard) -> MonitorSummary:
    return summarize(yard.monitor, "churn", START, NOW + timedelta(hours=1))


def test_old_hours_fold_into_one_window_and_the_summary_stays_the_same(traffic: Yard) -> None:
    before = _summary(traffic)
    fine = traffic.stores.windows.read("churn", START, NOW)
    done = compact(traffic.monitor, timedelta(days=1), now=NOW)
    after = _summary(traffic)
    stored = traffic.stores.windows.read("churn", START, NOW)
    cutoff = NOW - timedelta(days=1)
    old = [w for w in stored if w.bucket_start < cutoff]
    assert {w.bucket_seconds for w in old} == {3600}
    assert {w.replica for w in old} == {ROLLUP_REPLICA}
    assert len(old) == 36  # one per hour of the first 36 hours
    assert [w for w in stored if w.bucket_start >= cutoff] == [
        w for w in fine if w.bucket_start >= cutoff
    ]  # the last day stays fine
    assert done.windows == len([w for w in fine if w.bucket_start < cutoff])
    assert done.rollups == 36
    (b,), (a,) = before.versions, after.versions
    assert a.traffic == b.traffic
    assert (a.drift_share, a.classes) == (b.drift_share, b.classes)
    assert a.drift.features == b.drift.features
    assert compact(traffic.monitor, timedelta(days=1), now=NOW).windows == 0  # nothing left to fold


def test_a_straggler_window_joins_the_hour_it_belongs_to(traffic: Yard) -> None:
    compact(traffic.monitor, timedelta(days=1), now=NOW)
    hour = START + timedelta(hours=2)
    (rollup,) = [w for w in traffic.stores.windows.read("churn", hour, hour + timedelta(hours=1))]
    late = Recorder(traffic, bucket_seconds=300)  # a replica that flushed very late
    requests_before = rollup.sketch["requests"]
    version = traffic.get_version("churn@1")
    frame = pd.DataFrame(
        [{f["name"]: (f["min"] + f["max"]) / 2 for f in version.signature["inputs"]}]
    )
    signature = Signature.from_dict(version.signature)
    event = PredictionEvent(
        "churn",
        "churn@1",
        from_frame(signature, frame),
        Output(pd.Series([0]).to_numpy(), None),
        [uuid.uuid4().hex],
        3.0,
        (hour + timedelta(minutes=7)).timestamp(),
        0.0,
    )
    late.predicted(event)
    late.flush()
    assert compact(traffic.monitor, timedelta(days=1), now=NOW).rollups == 1
    (merged,) = traffic.stores.windows.read("churn", hour, hour + timedelta(hours=1))
    assert merged.sketch["requests"] == requests_before + 1


def test_the_yard_refuses_to_compact_what_is_still_written(sqlite_yard: Yard) -> None:
    with pytest.raises(InvalidInput, match="at least 1h"):
        sqlite_yard.compact_monitoring(timedelta(minutes=30))
    assert sqlite_yard.compact_monitoring().windows == 0
