"""The recorder with a real yard as its sink: prediction rows and per-replica windows."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime

import numpy as np
import orjson
import pandas as pd
import pytest

from modelyard import Yard
from modelyard.domain.histograms import NumericHistogram
from modelyard.domain.monitor_results import Latency, MonitorSummary
from modelyard.domain.signature import Signature
from modelyard.monitoring.recorder import Recorder
from modelyard.monitoring.sketch import NumericCounts
from modelyard.monitoring.summary import summarize
from modelyard.runtime.events import PredictionEvent
from modelyard.runtime.inputs import from_frame
from modelyard.runtime.runner import Output

AT = datetime(2024, 5, 1, 12, 1, tzinfo=UTC).timestamp()  # inside the 12:00 bucket
BUCKET = 300
PERIOD = (datetime(2024, 5, 1, tzinfo=UTC), datetime(2024, 5, 2, tzinfo=UTC))


@pytest.fixture
def served(sqlite_yard: Yard, logreg, cancer):
    """The yard with ``churn@1`` registered and an endpoint serving it, and an event maker."""
    X, _ = cancer
    version = sqlite_yard.register(logreg, "churn", sample=X)
    sqlite_yard.create_endpoint("churn", "churn@1")
    signature = Signature.from_dict(version.signature)

    def event(frame: pd.DataFrame, at: float = AT, log_inputs: float = 0.0) -> PredictionEvent:
        output = Output(logreg.predict(frame), logreg.predict_proba(frame))
        base = uuid.uuid4().hex  # ids as serving makes them: a request of n rows is one log row
        ids = [f"{base}-{i}" for i in range(len(frame))]
        columns = from_frame(signature, frame)
        return PredictionEvent("churn", "churn@1", columns, output, ids, 4.0, at, log_inputs)

    return sqlite_yard, event


def _recorder(yard: Yard, **options) -> Recorder:
    return Recorder(yard, bucket_seconds=BUCKET, clock=lambda: AT, **options)


def _summary(yard: Yard, **options) -> MonitorSummary:
    return summarize(yard.monitor, "churn", *PERIOD, **options)


def test_flush_writes_prediction_rows_and_a_window(served, logreg, cancer) -> None:
    yard, event = served
    X, _ = cancer
    recorder = _recorder(yard)
    first = event(X.iloc[:10])
    recorder.predicted(first)
    recorder.flush()
    stored = yard.stores.predictions.get(first.prediction_ids[3])
    assert stored is not None
    assert (stored["endpoint"], stored["version"], stored["latency_ms"]) == (
        "churn",
        "churn@1",
        4.0,
    )
    assert stored["created_at"] == datetime.fromtimestamp(AT, UTC)
    assert orjson.loads(stored["prediction"]) == logreg.predict(X.iloc[3:4])[0]
    assert orjson.loads(stored["scores"]) == pytest.approx(logreg.predict_proba(X.iloc[3:4])[0])
    (window,) = yard.stores.windows.read("churn", *PERIOD)
    assert (window.replica, window.bucket_start.timestamp(), window.bucket_seconds) == (
        recorder.replica,
        AT - AT % BUCKET,
        BUCKET,
    )
    assert (window.sketch["rows"], window.sketch["requests"]) == (10, 1)
    radius = window.sketch["features"]["mean radius"]
    assert sum(radius["counts"]) + radius["low"] + radius["high"] == 10


def test_later_flushes_rewrite_the_cumulative_window(served, cancer) -> None:
    yard, event = served
    X, _ = cancer
    recorder = _recorder(yard)
    recorder.predicted(event(X.iloc[:10]))
    recorder.flush()
    recorder.predicted(event(X.iloc[10:30]))
    recorder.predicted(event(X.iloc[30:35]))
    recorder.flush()
    (window,) = yard.stores.windows.read("churn", *PERIOD)
    assert (window.sketch["rows"], window.sketch["requests"]) == (35, 3)
    assert yard.stores.predictions.counts("churn", *PERIOD) == {"churn@1": 35}


def test_two_replicas_merge_by_addition(served, cancer) -> None:
    yard, event = served
    X, _ = cancer
    one, other = _recorder(yard), _recorder(yard)
    one.predicted(event(X.iloc[:100]))
    other.predicted(event(X.iloc[100:250]))
    other.predicted(event(X.iloc[250:300]))
    one.flush()
    other.flush()
    (version,) = _summary(yard, histograms=True).versions
    assert (version.requests, version.rows) == (3, 300)
    radius = version.histograms["mean radius"]
    assert isinstance(radius, NumericHistogram)
    whole = NumericCounts.empty(radius.edges)
    whole.add(X["mean radius"].iloc[:300].to_numpy())
    assert list(radius.current) == whole.counts.tolist()
    assert (radius.below, radius.above) == (whole.low, whole.high)
    assert sum(version.classes.values()) == 300
    replicas = {w.replica for w in yard.stores.windows.read("churn", *PERIOD)}
    assert replicas == {one.replica, other.replica}


def test_the_reference_data_itself_shows_no_drift(served, cancer) -> None:
    yard, event = served
    X, _ = cancer
    recorder = _recorder(yard)
    recorder.predicted(event(X))
    recorder.flush()
    (version,) = _summary(yard).versions
    assert version.drift.verdict == "no drift"
    assert version.drift_share == 0.0


def test_events_fall_in_their_time_buckets(served, cancer) -> None:
    yard, event = served
    X, _ = cancer
    recorder = _recorder(yard)
    recorder.predicted(event(X.iloc[:5]))
    recorder.predicted(event(X.iloc[5:12], at=AT + BUCKET))
    recorder.flush()
    windows = yard.stores.windows.read("churn", *PERIOD)
    assert [w.sketch["rows"] for w in windows] == [5, 7]
    timeline = _summary(yard).versions[0].timeline
    assert [p.traffic.rows for p in timeline.points if p.traffic] == [5, 7]


def test_errors_are_counted_in_the_window(served, cancer) -> None:
    yard, event = served
    X, _ = cancer
    recorder = _recorder(yard)
    recorder.predicted(event(X.iloc[:5]))
    recorder.failed("churn", "churn@1", 503)
    recorder.failed("churn", "churn@1", 503)
    recorder.failed("churn", "churn@1", 422)
    recorder.flush()
    (version,) = _summary(yard).versions
    assert version.traffic.errors == {"422": 1, "503": 2}
    assert version.error_rate == pytest.approx(2 / 4)
    assert version.client_error_rate == pytest.approx(1 / 4)


def test_a_bucket_with_only_errors(served) -> None:
    yard, _ = served
    recorder = _recorder(yard)
    recorder.failed("churn", "churn@1", 503)
    recorder.flush()
    (version,) = _summary(yard).versions
    assert (version.requests, version.traffic.errors, version.error_rate) == (0, {"503": 1}, 1.0)
    assert version.drift.verdict == "not enough data"
    assert version.latency_ms == Latency(None, None, None)


def test_a_full_queue_drops_rows_and_counts_them(served, cancer) -> None:
    yard, event = served
    X, _ = cancer
    recorder = _recorder(yard, max_pending_rows=15)
    kept, dropped, small = event(X.iloc[:10]), event(X.iloc[10:20]), event(X.iloc[20:25])
    for e in (kept, dropped, small):
        recorder.predicted(e)
    assert recorder.dropped_rows == 10
    recorder.flush()
    assert yard.stores.predictions.get(dropped.prediction_ids[0]) is None
    assert yard.stores.predictions.get(kept.prediction_ids[0]) is not None
    assert yard.stores.predictions.get(small.prediction_ids[-1]) is not None
    recorder.predicted(dropped)  # the queue has room again after a flush
    assert recorder.dropped_rows == 10


def test_no_raw_inputs_are_stored_by_default(served, cancer) -> None:
    yard, event = served
    X, _ = cancer
    recorder = _recorder(yard)
    unlogged = event(X.iloc[:50], log_inputs=0.0)
    recorder.predicted(unlogged)
    recorder.flush()
    stored = yard.stores.predictions
    assert all(stored.get(pid)["inputs"] is None for pid in unlogged.prediction_ids)


def test_log_inputs_one_stores_every_row(served, cancer) -> None:
    yard, event = served
    X, _ = cancer
    recorder = _recorder(yard)
    logged = event(X.iloc[:50], log_inputs=1.0)
    recorder.predicted(logged)
    recorder.flush()
    for i, pid in enumerate(logged.prediction_ids):
        assert orjson.loads(yard.stores.predictions.get(pid)["inputs"]) == X.iloc[i].to_dict()


def test_log_inputs_stores_a_share_of_rows(served, cancer) -> None:
    yard, event = served
    X, _ = cancer
    recorder = _recorder(yard)
    half = event(X, log_inputs=0.5)
    recorder.predicted(half)
    recorder.flush()
    log = yard.stores.predictions
    stored = sum(log.get(pid)["inputs"] is not None for pid in half.prediction_ids)
    assert 0 < stored < len(X)  # 569 coin flips: all or none has probability 2^-568


def test_close_flushes_everything(served, cancer) -> None:
    yard, event = served
    X, _ = cancer
    recorder = _recorder(yard, flush_seconds=3600)
    recorder.start()
    last = event(X.iloc[:20])
    recorder.predicted(last)
    recorder.failed("churn", "churn@1", 500)
    recorder.close()
    assert yard.stores.predictions.get(last.prediction_ids[-1]) is not None
    (window,) = yard.stores.windows.read("churn", *PERIOD)
    assert (window.sketch["rows"], window.sketch["errors"]) == (20, {"500": 1})
    assert recorder.flush_failures == 0


def test_a_flush_starts_early_once_flush_rows_wait(served, cancer) -> None:
    """An hour's interval: only the row trigger can write before ``close``."""
    yard, event = served
    X, _ = cancer
    recorder = _recorder(yard, flush_seconds=3600, flush_rows=20)
    recorder.start()
    try:
        first = event(X.iloc[:10])
        recorder.predicted(first)
        time.sleep(0.5)
        assert yard.stores.predictions.get(first.prediction_ids[-1]) is None  # 10 of 20
        second = event(X.iloc[10:20])
        recorder.predicted(second)
        deadline = time.monotonic() + 30
        while yard.stores.predictions.get(second.prediction_ids[-1]) is None:
            assert time.monotonic() < deadline, "20 rows waited and nothing was written"
            time.sleep(0.05)
        assert yard.stores.predictions.get(first.prediction_ids[-1]) is not None
    finally:
        recorder.close()


def test_a_version_without_a_profile_still_counts_traffic(served, cancer) -> None:
    yard, event = served
    X, _ = cancer
    recorder = _recorder(yard)
    lost = event(X.iloc[:5])
    recorder.predicted(
        PredictionEvent(
            "churn", "churn@9", lost.columns, lost.output, lost.prediction_ids, 1.0, AT, 0.0
        )
    )
    recorder.flush()
    (window,) = yard.stores.windows.read("churn", *PERIOD)
    assert (window.version, window.sketch["rows"], window.sketch["features"]) == ("churn@9", 5, {})
    assert np.sum(window.sketch["latency"]) == 1


class _FlakySink:
    """The real yard, with one write that commits and then reports a failure (a lost
    acknowledgement) or fails outright — the faults a network store produces."""

    def __init__(self, yard: Yard, commit_then_fail: bool) -> None:
        self.yard = yard
        self.commit_then_fail = commit_then_fail
        self.failures_left = 1

    def monitor_profile(self, ref: str):
        return self.yard.monitor_profile(ref)

    def save_windows(self, windows) -> None:
        self.yard.save_windows(windows)

    def log_predictions(self, rows) -> None:
        if self.failures_left:
            self.failures_left -= 1
            if self.commit_then_fail:
                self.yard.log_predictions(rows)
            raise ConnectionError("connection reset while committing")
        self.yard.log_predictions(rows)


@pytest.mark.parametrize("commit_then_fail", [True, False], ids=["acked-lost", "failed"])
def test_a_failed_log_write_is_retried_without_duplicates_or_loss(
    served, cancer, commit_then_fail: bool
) -> None:
    yard, event = served
    X, _ = cancer
    recorder = Recorder(_FlakySink(yard, commit_then_fail), bucket_seconds=BUCKET, clock=lambda: AT)
    first = event(X.iloc[:50])
    recorder.predicted(first)
    with pytest.raises(ConnectionError):
        recorder.flush()
    (window,) = yard.stores.windows.read("churn", *PERIOD)  # windows are saved all the same
    assert window.sketch["rows"] == 50
    second = event(X.iloc[50:60])
    recorder.predicted(second)
    recorder.flush()  # retries the 50 rows (some already there) and writes 10 more
    recorder.predicted(event(X.iloc[60:61]))
    recorder.flush()  # and nothing is stuck behind them
    assert yard.stores.predictions.counts("churn", *PERIOD) == {"churn@1": 61}
    assert all(yard.stores.predictions.get(pid) for pid in first.prediction_ids)


def test_late_rows_for_a_forgotten_bucket_never_shrink_its_stored_counts(served, cancer) -> None:
    yard, event = served
    X, _ = cancer
    now = [AT]
    recorder = Recorder(yard, bucket_seconds=BUCKET, clock=lambda: now[0])
    recorder.predicted(event(X.iloc[:100]))
    recorder.flush()
    now[0] = AT + 3 * BUCKET  # three buckets later: the first one is forgotten
    recorder.predicted(event(X.iloc[:5], at=now[0]))
    recorder.flush()
    recorder.predicted(event(X.iloc[:3]))  # late rows stamped in the first bucket
    recorder.flush()
    first_bucket = [
        w for w in yard.stores.windows.read("churn", *PERIOD) if w.bucket_start.timestamp() <= AT
    ]
    assert sorted(w.sketch["rows"] for w in first_bucket) == [3, 100]
    assert _summary(yard).versions[0].rows == 108


def test_a_profile_that_could_not_be_read_is_tried_again(served, cancer) -> None:
    yard, event = served
    X, _ = cancer

    class Hiccup(_FlakySink):
        def monitor_profile(self, ref: str):
            if self.failures_left:
                self.failures_left -= 1
                raise ConnectionError("store restarting")
            return self.yard.monitor_profile(ref)

    now = [AT]
    recorder = Recorder(Hiccup(yard, False), bucket_seconds=BUCKET, clock=lambda: now[0])
    recorder.predicted(event(X.iloc[:10]))
    recorder.flush()
    now[0] = AT + BUCKET  # the next bucket gets the profile
    recorder.predicted(event(X.iloc[:200], at=now[0]))
    recorder.flush()
    windows = sorted(yard.stores.windows.read("churn", *PERIOD), key=lambda w: w.bucket_start)
    assert windows[0].sketch["features"] == {}
    assert windows[1].sketch["features"]["mean radius"]["counts"]


def test_an_answer_that_cannot_be_encoded_costs_only_its_own_rows(served, cancer) -> None:
    yard, event = served
    X, _ = cancer
    recorder = _recorder(yard)
    good = event(X.iloc[:5])
    odd = event(X.iloc[5:7])
    weird = np.array([object(), object()], dtype=object)  # not JSON in any reading
    odd = PredictionEvent(
        odd.endpoint,
        odd.version,
        odd.columns,
        Output(weird, None),
        odd.prediction_ids,
        odd.latency_ms,
        odd.at,
        odd.log_inputs,
    )
    recorder.predicted(good)
    recorder.predicted(odd)
    recorder.flush()
    assert all(yard.stores.predictions.get(pid) for pid in good.prediction_ids)


def test_refusals_reach_the_window_under_their_rule(served) -> None:
    yard, _ = served
    recorder = _recorder(yard)
    recorder.failed("churn", "churn@1", 422, "unseen_category")
    recorder.failed("churn", "churn@1", 422, "unseen_category")
    recorder.failed("churn", "churn@1", 400)  # a refusal nobody named: "other"
    recorder.failed("churn", "churn@1", 422, "made up")  # not a known rule: "other"
    recorder.failed("churn", "churn@1", 500, "unseen_category")  # not a refusal
    recorder.flush()
    (window,) = yard.stores.windows.read("churn", *PERIOD)
    assert window.sketch["refused"] == {"unseen_category": 2, "other": 2}
    assert window.sketch["errors"] == {"422": 3, "400": 1, "500": 1}
    quality = _summary(yard).versions[0].data_quality
    assert quality is not None
    assert quality.refused_share("unseen_category") == 2 / 5


def test_each_timeline_point_has_its_own_refused_share(served, cancer) -> None:
    yard, event = served
    X, _ = cancer
    now = [AT]
    recorder = Recorder(yard, bucket_seconds=BUCKET, clock=lambda: now[0])
    recorder.failed("churn", "churn@1", 422, "wrong_type")
    recorder.predicted(event(X.iloc[:5]))
    recorder.flush()
    now[0] = AT + BUCKET
    recorder.predicted(event(X.iloc[:5], at=AT + BUCKET))
    recorder.flush()
    version = _summary(yard, timeline=True).versions[0]
    assert version.timeline is not None
    shares = [p.data_quality["refused_share"] for p in version.timeline.points if p.data_quality]
    assert shares == [0.5, 0.0]


class _Outage(_FlakySink):
    """The real yard behind a switch: while ``down``, every write fails."""

    def __init__(self, yard: Yard) -> None:
        super().__init__(yard, commit_then_fail=False)
        self.down = True

    def save_windows(self, windows) -> None:
        if self.down:
            raise ConnectionError("database is down")
        self.yard.save_windows(windows)

    def log_predictions(self, rows) -> None:
        if self.down:
            raise ConnectionError("database is down")
        self.yard.log_predictions(rows)


def test_an_outage_keeps_log_rows_to_a_byte_bound_and_every_window(served, cancer) -> None:
    yard, event = served
    X, _ = cancer
    sink = _Outage(yard)
    # A request is one log row (its rows' texts as arrays): 20 rows ~1.2 kB, 50 ~2.3 kB.
    recorder = Recorder(sink, bucket_seconds=BUCKET, clock=lambda: AT, max_unwritten_bytes=3_000)
    first = event(X.iloc[:20])
    recorder.predicted(first)
    with pytest.raises(ConnectionError):
        recorder.flush()
    assert recorder.dropped_rows == 0  # 20 rows fit in 3 kB
    for start in range(20, 220, 50):
        recorder.predicted(event(X.iloc[start : start + 50]))
        with pytest.raises(ConnectionError):
            recorder.flush()
    assert 0 < recorder.unwritten_bytes <= 3_000
    assert recorder.dropped_rows == 200  # the newest requests past the bound, counted in rows
    sink.down = False
    recorder.flush()
    assert recorder.unwritten_bytes == 0
    logged = yard.stores.predictions.counts("churn", *PERIOD)["churn@1"]
    assert logged + recorder.dropped_rows == 220
    assert all(yard.stores.predictions.get(pid) for pid in first.prediction_ids)  # the oldest
    (window,) = yard.stores.windows.read("churn", *PERIOD)
    assert window.sketch["rows"] == 220  # windows count every answer, outage or not


class _CountedOutage(_Outage):
    """An outage that counts the tries to save windows, and when they came."""

    def __init__(self, yard: Yard, clock: list[float]) -> None:
        super().__init__(yard)
        self.clock = clock
        self.tries: list[float] = []

    def save_windows(self, windows) -> None:
        self.tries.append(self.clock[0])
        super().save_windows(windows)


def _flush_through_outage(recorder: Recorder) -> None:
    with pytest.raises(ConnectionError):
        recorder.flush(every_window=False)


def test_failed_window_saves_back_off(served, cancer) -> None:
    yard, event = served
    X, _ = cancer
    now = [AT]
    sink = _CountedOutage(yard, now)
    recorder = Recorder(sink, bucket_seconds=3600, clock=lambda: now[0])
    for second in range(600):  # ten minutes of one-second flushes, a request each
        now[0] = AT + second
        recorder.predicted(event(X.iloc[:2], at=now[0]))
        _flush_through_outage(recorder)
    gaps = np.diff(sink.tries).tolist()
    assert gaps[:3] == [5, 10, 20]  # doubling from the save interval (5 s)
    assert set(gaps[3:]) == {30}  # then once every 30 s
    assert len(sink.tries) < 25  # not 600 re-encodings of every window
    sink.down = False
    recorder.flush(every_window=False)  # the wait is not over: nothing tried yet
    assert yard.stores.windows.read("churn", *PERIOD) == []
    now[0] = sink.tries[-1] + 30
    recorder.flush(every_window=False)
    (window,) = yard.stores.windows.read("churn", *PERIOD)
    assert window.sketch["rows"] == 1200
    now[0] += 5  # saved again: back to the usual interval
    recorder.predicted(event(X.iloc[:2], at=now[0]))
    recorder.flush(every_window=False)
    (window,) = yard.stores.windows.read("churn", *PERIOD)
    assert window.sketch["rows"] == 1202


def test_unsaved_windows_stay_within_their_bound_through_a_long_outage(served, cancer) -> None:
    yard, _ = served
    X, _ = cancer
    version = yard.registry.get_version("churn@1")
    segmented = ["mean radius", "mean texture", "mean area", "mean smoothness"]
    yard.create_endpoint("seg", "churn@1", segment_by=segmented, segment_top=20)
    spec = yard.get_endpoint("seg").monitoring.segments
    signature = Signature.from_dict(version.signature)
    now = [AT]
    sink = _CountedOutage(yard, now)
    recorder = Recorder(sink, bucket_seconds=BUCKET, clock=lambda: now[0])

    def answer(at: float) -> None:
        frame = X.sample(50, random_state=int(at) % 1000)
        output = Output(np.zeros(len(frame), dtype=int), None)
        base = uuid.uuid4().hex
        ids = [f"{base}-{i}" for i in range(len(frame))]
        columns = from_frame(signature, frame)
        recorder.predicted(
            PredictionEvent("seg", "churn@1", columns, output, ids, 4.0, at, 0.0, segments=spec)
        )

    answer(now[0])
    _flush_through_outage(recorder)
    one = recorder.unsaved_window_bytes
    assert one > 0
    recorder.max_unsaved_bytes = 2 * one  # room for about two whole windows
    most_windows = 0
    for step in range(1, 12 * 8):  # 8 hours of 5-minute buckets, a flush in each
        now[0] = AT + BUCKET * step
        answer(now[0])
        _flush_through_outage(recorder)
        assert recorder.unsaved_window_bytes <= recorder.max_unsaved_bytes
        most_windows = max(most_windows, len(recorder._windows))
    assert most_windows < 48  # not one per bucket of the outage (96): the bound holds
    assert recorder.folded_windows > 0
    assert recorder.dropped_windows > 0
    kept = {key[2]: window.rows for key, window in recorder._windows.items()}
    folded = {key[2] for key in recorder._folded}
    assert folded
    sink.down = False
    recorder.flush()
    saved = yard.stores.windows.read("seg", *PERIOD)
    # every kept window saved, whole; the dropped ones never
    assert {w.bucket_start.timestamp(): w.sketch["rows"] for w in saved} == kept
    for window in saved:  # a window has all its segments or none, never a part
        segments = window.sketch.get("segments", {})
        if window.bucket_start.timestamp() in folded:
            assert segments == {}
        for parts in segments.values():
            assert sum(part["rows"] for part in parts.values()) == window.sketch["rows"]


def test_a_window_dropped_in_an_outage_never_overwrites_its_saved_counts(served, cancer) -> None:
    yard, event = served
    X, _ = cancer
    now = [AT]
    sink = _Outage(yard)
    sink.down = False
    recorder = Recorder(sink, bucket_seconds=BUCKET, clock=lambda: now[0], max_unsaved_bytes=1)
    recorder.predicted(event(X.iloc[:2]))
    recorder.flush()  # saved: 2 rows
    sink.down = True
    recorder.predicted(event(X.iloc[:3]))
    now[0] = AT + BUCKET  # the next bucket: the unsaved old window is past the bound
    recorder.predicted(event(X.iloc[:5], at=now[0]))
    _flush_through_outage(recorder)
    assert recorder.dropped_windows == 1
    recorder.predicted(event(X.iloc[:7]))  # a late answer of the dropped window's bucket
    sink.down = False
    recorder.flush()
    start = AT - AT % BUCKET
    saved = [
        w for w in yard.stores.windows.read("churn", *PERIOD) if w.bucket_start.timestamp() == start
    ]
    assert sorted(w.sketch["rows"] for w in saved) == [2, 7]  # the 3 shed, nothing overwritten


@pytest.mark.parametrize("bound", [("ROWS_PER_PART", 3), ("REQUESTS_PER_PART", 1)])
def test_a_big_group_counted_in_parts_stores_what_it_stores_whole(
    served, cancer, monkeypatch, bound
) -> None:
    """A flush bounds each array call by counting a group a part at a time (of a bounded
    number of rows, and of requests); the window and the log rows are the ones a single
    pass would store."""
    from modelyard.monitoring import recorder as recorder_module
    from modelyard.monitoring.event_groups import parts_of

    yard, event = served
    X, _ = cancer
    events = [event(X.iloc[i : i + size]) for i, size in ((0, 3), (3, 1), (4, 5), (9, 2))]
    whole = _recorder(yard)
    for one in events:
        whole.predicted(one)
    whole.flush()
    (stored_whole,) = yard.stores.windows.read("churn", *PERIOD)

    monkeypatch.setattr(recorder_module, *bound)
    assert [len(p) for p in parts_of(events, 3)] == [1, 1, 1, 1]
    assert [len(p) for p in parts_of(events, 4)] == [2, 1, 1]
    assert [len(p) for p in parts_of(events, 100, 3)] == [3, 1]
    assert [len(p) for p in parts_of(events, 100, 1)] == [1, 1, 1, 1]
    again = [event(X.iloc[i : i + size]) for i, size in ((0, 3), (3, 1), (4, 5), (9, 2))]
    parted = Recorder(yard, bucket_seconds=BUCKET, clock=lambda: AT)
    for one in again:
        parted.predicted(one)
    parted.flush()
    windows = {w.replica: w for w in yard.stores.windows.read("churn", *PERIOD)}
    sketch, expected = windows[parted.replica].sketch, stored_whole.sketch
    assert (
        (sketch["rows"], sketch["requests"]) == (expected["rows"], expected["requests"]) == (11, 4)
    )
    assert sketch["features"] == expected["features"]
    assert sketch["output"] == expected["output"]
    for one, twin in zip(events, again, strict=True):
        for pid, twin_id in zip(one.prediction_ids, twin.prediction_ids, strict=True):
            first, second = yard.stores.predictions.get(pid), yard.stores.predictions.get(twin_id)
            assert first is not None
            assert second is not None
            assert (first["prediction"], first["scores"]) == (
                second["prediction"],
                second["scores"],
            )
