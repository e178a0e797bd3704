"""The prediction log and its feedback, on SQLite and on PostgreSQL."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from modelyard import NotFound, Yard
from modelyard.store.windows import StoredWindow

NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def yard(yard: Yard, logreg, cancer) -> Yard:
    """A yard serving one model under two endpoints."""
    X, _ = cancer
    yard.register(logreg, "churn", sample=X.iloc[:20])
    yard.create_endpoint("churn", "churn@1")
    yard.create_endpoint("fraud", "churn@1")
    return yard


def _row(pid: str, endpoint: str = "churn", age: timedelta = timedelta(0), **extra) -> dict:
    return {
        "id": pid,
        "endpoint": endpoint,
        "version": "churn@1",
        "created_at": NOW - age,
        "latency_ms": 2.5,
        "prediction": "1",
        "scores": "[0.25,0.75]",
        "routing_key": None,
        "inputs": None,
    } | extra


def test_a_logged_prediction_reads_back(yard: Yard) -> None:
    yard.log_predictions([_row("p1", routing_key="user-7", inputs='{"age":41}'), _row("p2")])
    assert yard.stores.predictions.get("p1") == {
        "id": "p1",
        "endpoint": "churn",
        "version": "churn@1",
        "created_at": NOW,
        "latency_ms": 2.5,
        "prediction": "1",
        "scores": "[0.25,0.75]",
        "routing_key": "user-7",
        "inputs": '{"age":41}',
        "actual": None,
    }
    assert yard.stores.predictions.get("nope") is None
    yard.log_predictions([])  # nothing to write is fine


def test_feedback_is_idempotent_and_corrections_replace(yard: Yard) -> None:
    yard.log_predictions([_row("p1"), _row("p2")])
    first = yard.add_feedback("churn", [("p1", "1"), ("p2", "0")])
    assert (first.accepted, first.updated, first.duplicates, first.unknown) == (2, 0, 0, [])
    again = yard.add_feedback("churn", [("p1", "1"), ("p2", "0")])
    assert (again.accepted, again.updated, again.duplicates) == (0, 0, 2)
    corrected = yard.add_feedback("churn", [("p1", "1"), ("p2", "1")])
    assert (corrected.accepted, corrected.updated, corrected.duplicates) == (0, 1, 1)
    assert yard.stores.predictions.get("p2")["actual"] == "1"


def test_unknown_ids_are_reported_with_their_index(yard: Yard) -> None:
    yard.log_predictions([_row("p1"), _row("p2")])
    result = yard.add_feedback("churn", [("p1", "1"), ("nope", "1"), ("p2", "0"), ("x", "0")])
    assert result.unknown == [(1, "nope"), (3, "x")]
    assert result.accepted == 2


def test_ids_of_another_endpoint_are_unknown(yard: Yard) -> None:
    yard.log_predictions([_row("p1", endpoint="fraud")])
    result = yard.add_feedback("churn", [("p1", "1")])
    assert (result.accepted, result.unknown) == (0, [(0, "p1")])
    assert yard.stores.predictions.get("p1")["actual"] is None
    assert yard.add_feedback("fraud", [("p1", "1")]).accepted == 1


def test_feedback_for_an_unknown_endpoint_is_refused(yard: Yard) -> None:
    with pytest.raises(NotFound, match="nobody"):
        yard.add_feedback("nobody", [("p1", "1")])


def test_one_id_twice_in_a_batch(yard: Yard) -> None:
    yard.log_predictions([_row("p1"), _row("p2")])
    result = yard.add_feedback("churn", [("p1", "1"), ("p1", "0"), ("p2", "1"), ("p2", "1")])
    assert (result.accepted, result.updated, result.duplicates) == (2, 1, 1)
    assert yard.stores.predictions.get("p1")["actual"] == "0"


def test_many_ids_in_one_batch(yard: Yard) -> None:
    ids = [f"p{i}" for i in range(1200)]  # more than one IN (…) chunk
    yard.log_predictions([_row(pid) for pid in ids])
    result = yard.add_feedback("churn", [(pid, "1") for pid in ids] + [("zzz", "1")])
    assert (result.accepted, result.unknown) == (1200, [(1200, "zzz")])


def test_labeled_predictions_in_a_period_newest_first(yard: Yard) -> None:
    yard.log_predictions(
        [
            _row("old", age=timedelta(days=2)),
            _row("a", age=timedelta(minutes=30)),
            _row("b", age=timedelta(minutes=10), prediction="0", scores=None),
            _row("unlabeled", age=timedelta(minutes=5)),
            _row("other", endpoint="fraud", age=timedelta(minutes=5)),
        ]
    )
    yard.add_feedback("churn", [("old", "1"), ("a", "0"), ("b", '"no"')])
    yard.add_feedback("fraud", [("other", "1")])
    since, until = NOW - timedelta(hours=1), NOW + timedelta(seconds=1)
    rows = yard.stores.predictions.labeled("churn", since, until, limit=10)
    assert [(r.prediction, r.scores, r.actual) for r in rows] == [
        ("0", None, '"no"'),
        ("1", "[0.25,0.75]", "0"),
    ]
    assert rows[0].created_at == NOW - timedelta(minutes=10)
    assert rows[0].received_at >= rows[0].created_at
    assert len(yard.stores.predictions.labeled("churn", since, until, limit=1)) == 1


def test_labeled_predictions_carry_the_segments_they_were_logged_with(yard: Yard) -> None:
    segments = '{"country":"FR","age":"q2"}'
    yard.log_predictions([_row("seg", segments=segments), _row("plain")])
    yard.add_feedback("churn", [("seg", "1"), ("plain", "0")])
    since, until = NOW - timedelta(hours=1), NOW + timedelta(seconds=1)
    rows = yard.stores.predictions.labeled("churn", since, until, limit=10)
    assert sorted((r.actual, r.segments) for r in rows) == [("0", None), ("1", segments)]


def test_counts_per_version(yard: Yard) -> None:
    yard.log_predictions(
        [
            _row("a"),
            _row("b"),
            _row("c", version="churn@2"),
            _row("d", endpoint="fraud"),
            _row("e", age=timedelta(days=3)),
        ]
    )
    log = yard.stores.predictions
    counts = log.counts("churn", NOW - timedelta(days=1), NOW + timedelta(days=1))
    assert counts == {"churn@1": 2, "churn@2": 1}


def test_prune_removes_old_rows_their_feedback_and_windows(yard: Yard) -> None:
    yard.log_predictions(
        [
            _row("old1", age=timedelta(days=40)),
            _row("old2", age=timedelta(days=31)),
            _row("new", age=timedelta(days=29)),
        ]
    )
    yard.add_feedback("churn", [("old1", "1"), ("new", "0")])
    yard.save_windows(
        [
            StoredWindow("churn", "churn@1", NOW - timedelta(days=35), 300, "r1", {"rows": 1}),
            StoredWindow("churn", "churn@1", NOW - timedelta(days=1), 300, "r1", {"rows": 2}),
        ]
    )
    dry = yard.prune_monitoring(timedelta(days=30), dry_run=True)
    assert (dry.predictions, dry.feedback, dry.windows) == (2, 1, 1)
    assert yard.stores.predictions.get("old1")["actual"] == "1"  # nothing deleted yet
    assert yard.audit(action="monitor.prune") == []
    done = yard.prune_monitoring(timedelta(days=30))
    assert (done.predictions, done.feedback, done.windows) == (2, 1, 1)
    assert [yard.stores.predictions.get(pid) for pid in ("old1", "old2")] == [None, None]
    assert yard.stores.predictions.get("new")["actual"] == "0"
    everything = yard.stores.windows.read("churn", NOW - timedelta(days=400), NOW)
    assert [w.sketch for w in everything] == [{"rows": 2}]
    (event,) = yard.audit(action="monitor.prune")
    assert event.details["predictions"] == 2
    assert yard.prune_monitoring(timedelta(days=30)).predictions == 0
    assert yard.add_feedback("churn", [("old1", "0")]).unknown == [(0, "old1")]


def _request(base: str, age: timedelta = timedelta(0), **extra) -> dict:
    """A three-row request logged as one row (store/grouped_rows.py)."""
    texts = {
        "prediction": "[0,1,1]",
        "scores": "[[0.9,0.1],[0.2,0.8],[0.3,0.7]]",
        "segments": '[{"country":"FR"},null,{"country":"DE"}]',
        "rows": 3,
    }
    return _row(base, age=age, **texts) | extra


def test_a_requests_row_reads_back_as_its_rows(yard: Yard) -> None:
    yard.log_predictions([_request("r1", inputs='[null,{"age":41},null]'), _row("p1")])
    log = yard.stores.predictions
    middle = log.get("r1-1")
    assert middle is not None
    assert (middle["id"], middle["prediction"], middle["scores"]) == ("r1-1", "1", "[0.2,0.8]")
    assert (middle["inputs"], log.get("r1-0")["inputs"]) == ('{"age":41}', None)
    assert [log.get(pid) for pid in ("r1-3", "r1", "r1-x", "p1-0")] == [None] * 4
    assert log.get("p1")["prediction"] == "1"
    assert log.counts("churn", NOW - timedelta(days=1), NOW + timedelta(days=1)) == {"churn@1": 4}


def test_feedback_on_a_requests_rows(yard: Yard) -> None:
    yard.log_predictions([_request("r1"), _request("r2", endpoint="fraud")])
    result = yard.add_feedback("churn", [("r1-2", "1"), ("r1-3", "0"), ("r1", "1"), ("r2-0", "1")])
    assert (result.accepted, result.unknown) == (1, [(1, "r1-3"), (2, "r1"), (3, "r2-0")])
    assert yard.add_feedback("churn", [("r1-2", "0")]).updated == 1
    assert yard.stores.predictions.get("r1-2")["actual"] == "0"
    since, until = NOW - timedelta(hours=1), NOW + timedelta(seconds=1)
    (row,) = yard.stores.predictions.labeled("churn", since, until, limit=10)
    assert (row.prediction, row.scores, row.segments, row.actual) == (
        "1",
        "[0.3,0.7]",
        '{"country":"DE"}',
        "0",
    )


def test_prune_counts_and_removes_a_requests_rows_and_their_feedback(yard: Yard) -> None:
    yard.log_predictions(
        [
            _request("old", age=timedelta(days=40)),
            _row("old-single", age=timedelta(days=40)),
            _request("new", age=timedelta(days=1)),
        ]
    )
    labels = [("old-0", "1"), ("old-2", "0"), ("old-single", "1"), ("new-1", "1")]
    assert yard.add_feedback("churn", labels).accepted == 4
    dry = yard.prune_monitoring(timedelta(days=30), dry_run=True)
    assert (dry.predictions, dry.feedback) == (4, 3)
    done = yard.prune_monitoring(timedelta(days=30))
    assert (done.predictions, done.feedback) == (4, 3)
    assert yard.stores.predictions.get("old-0") is None
    assert yard.stores.predictions.get("new-1")["actual"] == "1"


def test_a_non_canonical_index_is_not_a_second_name_for_a_row(yard: Yard) -> None:
    yard.log_predictions([_request("r1")])
    result = yard.add_feedback("churn", [("r1-1", "1"), ("r1-01", "0")])
    assert (result.accepted, result.unknown) == (1, [(1, "r1-01")])
    assert yard.stores.predictions.get("r1-01") is None


def test_prune_in_batches_of_predictions(yard: Yard, monkeypatch: pytest.MonkeyPatch) -> None:
    from modelyard.store import predictions

    monkeypatch.setattr(predictions, "PRUNE_BATCH", 4)  # fewer than two requests' rows
    old = [_request(f"old{i}", age=timedelta(days=40)) for i in range(3)]
    yard.log_predictions([*old, _row("old-one", age=timedelta(days=40))])
    assert yard.add_feedback("churn", [("old0-0", "1"), ("old2-2", "0")]).accepted == 2
    done = yard.prune_monitoring(timedelta(days=30))
    assert (done.predictions, done.feedback) == (10, 2)
    assert yard.stores.predictions.counts("churn", NOW - timedelta(days=90), NOW) == {}


def test_ab_metrics_read_a_requests_rows_newest_first_up_to_the_limit(yard: Yard) -> None:
    yard.log_predictions(
        [_request("r1", age=timedelta(minutes=2)), _row("p1", age=timedelta(minutes=1))]
    )
    since, until = NOW - timedelta(hours=1), NOW + timedelta(seconds=1)
    read = yard.stores.abtests.predictions
    assert read("churn", ("churn@1",), since, until, 10) == [
        ("churn@1", "1"),
        ("churn@1", "0"),
        ("churn@1", "1"),
        ("churn@1", "1"),
    ]
    assert len(read("churn", ("churn@1",), since, until, 2)) == 2


def test_log_columns_are_a_sequence_of_rows() -> None:
    from modelyard.store.predictions import LOG_COLUMNS, LogColumns

    def row(i: int) -> tuple:
        return (f"p{i}", "churn", "churn@1", NOW, 1.0, str(i), None, None, None, None, None)

    rows = LogColumns([[v] for v in row(0)])
    rows.extend([row(1), row(2)])
    rows.extend(LogColumns([[v] for v in row(3)]))
    rows.extend([])
    assert len(rows) == 4
    assert list(rows) == [row(i) for i in range(4)]
    assert rows[2] == row(2)
    assert list(rows[1:3]) == [row(1), row(2)]
    assert len(LogColumns()) == 0
    with pytest.raises(ValueError, match="all of one length"):
        LogColumns([["a"], []] + [[]] * (len(LOG_COLUMNS) - 2))


def test_log_columns_of_a_flush_read_back_as_rows_with_datetimes(yard: Yard) -> None:
    from modelyard.store.predictions import LogColumns

    at = time.time()
    values = ["p1", "churn", "churn@1", at, 2.5, "1", None, None, None, None, None]
    rows = LogColumns([[v] for v in values])
    assert rows[0][3] == datetime.fromtimestamp(at, UTC)
    assert next(iter(rows))[3] == datetime.fromtimestamp(at, UTC)
    yard.stores.predictions.append(rows)
    stored = yard.stores.predictions.get("p1")
    assert stored is not None
    assert stored["created_at"] == datetime.fromtimestamp(at, UTC)
