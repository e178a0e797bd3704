"""A classifier registered with a labelled holdout: the monitor estimates its accuracy from
the probabilities the recorder counted, before any label arrives."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from modelyard import Yard
from modelyard.control.signals import version_metrics
from modelyard.domain.conditions import parse_condition
from modelyard.domain.signature import Signature
from modelyard.errors import InvalidInput, NotFound
from modelyard.monitoring.recorder import Recorder
from modelyard.monitoring.report import render_html
from modelyard.monitoring.summary import summarize
from modelyard.runtime.events import PredictionEvent
from modelyard.runtime.inputs import from_frame
from modelyard.runtime.runner import Output

BUCKET = 60
START = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def shifted_data(n: int, shift: float, seed: int) -> tuple[pd.DataFrame, pd.Series]:
    """Covariate shift towards the decision boundary: the rule P(y | x) stays the same."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0.0, 1.0, size=(n, 3))
    x[:, 0] = rng.normal(2.0 - shift, 1.0, n)
    p = 1 / (1 + np.exp(-(2.0 * x[:, 0] - 2.0 + 0.5 * x[:, 1])))
    y = (rng.uniform(size=n) < p).astype(int)
    return pd.DataFrame(x, columns=["a", "b", "c"]), pd.Series(y, name="y")


@pytest.fixture
def registered(sqlite_yard: Yard) -> tuple[Yard, LogisticRegression]:
    X, y = shifted_data(3000, 0.0, 1)
    model = LogisticRegression().fit(X, y)
    holdout = shifted_data(2000, 0.0, 2)
    sqlite_yard.register(model, "risk", holdout=holdout)
    sqlite_yard.create_endpoint("risk", "risk@1")
    return sqlite_yard, model


def _send(yard: Yard, model: LogisticRegression, frames: list[pd.DataFrame]) -> None:
    signature = Signature.from_dict(yard.get_version("risk@1").signature)
    now = START.timestamp()
    recorder = Recorder(yard.monitor, bucket_seconds=BUCKET, clock=lambda: now + 10 * BUCKET)
    for i, frame in enumerate(frames):
        output = Output(model.predict(frame), model.predict_proba(frame))
        ids = [uuid.uuid4().hex for _ in range(len(frame))]
        at = now + i * BUCKET + 1
        event = PredictionEvent(
            "risk", "risk@1", from_frame(signature, frame), output, ids, 5.0, at, 0.0
        )
        recorder.predicted(event)
    recorder.flush()


def test_the_estimate_falls_when_the_inputs_move_towards_the_boundary(registered) -> None:
    yard, model = registered
    reference = yard.get_version("risk@1")
    assert yard.registry.profile("risk@1")["estimation"]["rows"] == 2000
    calm, _ = shifted_data(600, 0.0, 3)
    moved, truth = shifted_data(600, 1.0, 4)
    _send(yard, model, [calm, moved])
    summary = summarize(yard.monitor, "risk", START, START + timedelta(minutes=5))
    version = summary.version("risk@1")
    assert version is not None
    assert version.estimate is not None
    assert version.estimate.rows == 1200
    # per bucket: the calm one near the holdout's accuracy, the moved one well below it
    points = version.timeline.points  # type: ignore[union-attr]
    calm_accuracy, moved_accuracy = (p.estimated["accuracy"] for p in points)  # type: ignore[index]
    accuracy = version.estimate.metrics["accuracy"]
    assert accuracy.reference is not None
    assert calm_accuracy == pytest.approx(accuracy.reference, abs=0.04)
    realized = float((model.predict(moved) == truth).mean())
    assert moved_accuracy == pytest.approx(realized, abs=0.06)
    assert moved_accuracy < accuracy.reference - 0.05
    assert accuracy.low is not None
    assert accuracy.high is not None
    assert accuracy.low < accuracy.value < accuracy.high  # type: ignore[operator]
    assert accuracy.realized is None  # no labels yet
    data = summary.to_json()["versions"][0]["estimated"]
    assert data["method"] == "cbpe"
    assert set(data["metrics"]) == {"accuracy", "precision", "recall", "f1", "roc_auc"}
    # conditions read the estimate like any metric: a canary judged before its labels
    metrics = version_metrics(version)
    assert metrics["estimated_accuracy"] == accuracy.value
    check = parse_condition("estimated_accuracy>=baseline-0.02")
    assert check.judge(metrics, {"estimated_accuracy": accuracy.reference}).passed is False
    policy = parse_condition("estimated_f1<0.85 for 30m", allow_baseline=False, allow_hold=True)
    assert policy.hold == timedelta(minutes=30)
    assert reference.version == 1
    # the report shows the estimate with its assumptions, and its chart over time
    page = render_html(summary)
    assert "Quality estimated without labels" in page
    assert "CBPE on 1,200 rows" in page
    assert "only the inputs shifted" in page


def test_a_holdout_for_a_classifier_without_probabilities_is_refused(sqlite_yard: Yard) -> None:
    from sklearn.svm import LinearSVC

    X, y = shifted_data(300, 0.0, 5)
    with pytest.raises(InvalidInput, match="classifiers with probabilities"):
        sqlite_yard.register(LinearSVC().fit(X, y), "svc", holdout=(X, y))
    with pytest.raises(NotFound):  # nothing half-stored
        sqlite_yard.list_versions("svc")


def noisy_regression(n: int, shift: float, seed: int) -> tuple[pd.DataFrame, pd.Series]:
    """The noise grows with |a|: moving the inputs outwards raises the error, P(y | x) same."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0.0, 1.0, size=(n, 3))
    x[:, 0] += shift
    y = 3 * x[:, 0] - x[:, 1] + rng.normal(0.0, 0.2 + np.abs(x[:, 0]), n)
    return pd.DataFrame(x, columns=["a", "b", "c"]), pd.Series(y, name="y")


def test_a_regressors_nanny_estimates_mae_and_rmse(sqlite_yard: Yard) -> None:
    from sklearn.linear_model import LinearRegression

    from modelyard.monitoring.loss_estimation import NANNY_FILE

    X, y = noisy_regression(3000, 0.0, 1)
    model = LinearRegression().fit(X, y)
    version = sqlite_yard.register(model, "price", holdout=noisy_regression(2000, 0.0, 2))
    assert version.file(NANNY_FILE) is not None  # a blob of the version, hash-verified
    sqlite_yard.create_endpoint("price", "price@1")
    signature = Signature.from_dict(version.signature)
    now = START.timestamp()
    recorder = Recorder(sqlite_yard.monitor, bucket_seconds=BUCKET, clock=lambda: now + 600)
    streams = [noisy_regression(800, 0.0, 3), noisy_regression(800, 1.0, 4)]
    for i, (frame, _) in enumerate(streams):
        output = Output(model.predict(frame), None)
        ids = [uuid.uuid4().hex for _ in range(len(frame))]
        recorder.predicted(
            PredictionEvent(
                "price", "price@1", from_frame(signature, frame), output, ids, 5.0,
                now + i * BUCKET + 1, 0.0,
            )
        )  # fmt: skip
    recorder.flush()
    summary = summarize(sqlite_yard.monitor, "price", START, START + timedelta(minutes=5))
    served = summary.version("price@1")
    assert served is not None
    assert served.estimate is not None
    assert served.estimate.method == "dle"
    calm, moved = (p.estimated for p in served.timeline.points)  # type: ignore[union-attr]
    for (frame, truth), point in zip(streams, (calm, moved), strict=True):
        realized = float(np.abs(model.predict(frame) - truth).mean())
        half = served.estimate.metrics["mae"]
        assert half.high is not None
        assert half.value is not None
        width = (half.high - half.value) * np.sqrt(1600 / 800)  # this bucket's 800 rows
        assert point["mae"] == pytest.approx(realized, abs=2 * width)  # type: ignore[index]
    assert moved["mae"] > calm["mae"] * 1.2  # type: ignore[index]
    metrics = version_metrics(served)
    assert metrics["estimated_rmse"] == served.estimate.value("rmse")
    assert parse_condition("estimated_mae>1.5 for 30m", allow_hold=True).metric == "estimated_mae"


def test_holdout_labels_outside_the_classes_are_refused(sqlite_yard: Yard) -> None:
    X, y = shifted_data(300, 0.0, 6)
    model = LogisticRegression().fit(X, y)
    with pytest.raises(InvalidInput, match="not among the classes"):
        sqlite_yard.register(model, "risk", holdout=(X, y.replace({1: 7})))


def test_a_replaced_profile_keeps_the_holdouts_estimation(registered) -> None:
    yard, _ = registered
    kept = yard.registry.profile("risk@1")["estimation"]
    yard.set_profile("risk@1", shifted_data(500, 0.0, 9)[0], replace=True, reason="fresh")
    assert yard.registry.profile("risk@1")["estimation"] == kept


def test_each_bucket_carries_its_own_interval_at_its_rows(registered) -> None:
    """The chart draws what the server computed: a bucket of a quarter of the rows gets an
    interval twice as wide (the holdout-chunk rule), around that bucket's own estimate."""
    from modelyard.monitoring.estimation import interval

    yard, model = registered
    _send(yard, model, [shifted_data(800, 0.0, 6)[0], shifted_data(200, 0.0, 7)[0]])
    summary = summarize(yard.monitor, "risk", START, START + timedelta(minutes=5))
    points = summary.to_json()["versions"][0]["timeline"]
    reference = yard.registry.profile("risk@1")["estimation"]
    widths = []
    for point, rows in zip(points, (800, 200), strict=True):
        assert point["estimated_rows"] == rows
        low, high = point["estimated_interval"]["accuracy"]
        value = point["estimated"]["accuracy"]
        assert low < value < high
        half = interval(reference, "accuracy", rows)
        assert half is not None
        assert (low, high) == pytest.approx((max(0.0, value - half), min(1.0, value + half)))
        widths.append(high - low)
    assert widths[1] > 1.5 * widths[0]


def test_the_assumptions_say_whether_the_scores_were_calibrated(registered) -> None:
    yard, model = registered
    _send(yard, model, [shifted_data(300, 0.0, 8)[0]])
    summary = summarize(yard.monitor, "risk", START, START + timedelta(minutes=5))
    version = summary.version("risk@1")
    assert version is not None
    assert version.estimate is not None
    calibrated = bool(yard.registry.profile("risk@1")["estimation"].get("calibration"))
    assert version.estimate.calibrated is calibrated
    said = " ".join(summary.to_json()["versions"][0]["estimated"]["assumptions"])
    assert ("calibrated (isotonic)" in said) is calibrated
    assert ("raw scores" in said) is not calibrated
    # the other way round too: the same estimate, flipped, says the opposite
    flipped = dataclasses.replace(version.estimate, calibrated=not calibrated)
    other = " ".join(flipped.to_json()["assumptions"])
    assert ("calibrated (isotonic)" in other) is not calibrated
    assert ("raw scores" in other) is calibrated
