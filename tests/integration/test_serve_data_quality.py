"""Data-quality signals and per-class quality through a real ``modelyard serve``: a
scikit-learn pipeline with a numeric feature and an open category gets rows with known
shares of missing, out-of-range and unseen values and a known number of refused requests;
the shares reported by ``monitor status``, the HTTP API and ``/metrics`` are those sent,
per-class quality from feedback is scikit-learn's, and a policy on a share fires."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import make_column_transformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import confusion_matrix, precision_recall_fscore_support
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder
from tests.integration.serving_fixtures import Server, run_cli, running_server

from modelyard import Yard

pytestmark = pytest.mark.slow

ENV = {
    "MODELYARD_MONITOR_BUCKET_SECONDS": "2",
    "MODELYARD_MONITOR_FLUSH_SECONDS": "0.2",
    "MODELYARD_MONITOR_REFRESH_SECONDS": "0.3",
    "MODELYARD_CONTROLLER_INTERVAL": "0.3",
    "MODELYARD_POLL_SECONDS": "0.2",
}
ROWS, PER_REQUEST = 200, 20
MISSING, OUT_OF_RANGE, UNSEEN = 20, 30, 40  # rows of each kind among ROWS
WRONG_TYPE, MISSING_FEATURE = 5, 3  # refused requests


def _model() -> tuple[Pipeline, pd.DataFrame]:
    rng = np.random.default_rng(0)
    age = rng.uniform(20, 70, size=400)
    frame = pd.DataFrame({"age": age, "plan": rng.choice(["basic", "pro", "team"], size=400)})
    frame.loc[::25, "age"] = np.nan  # the training data has missing ages: nullable
    labels = np.where(frame["age"].fillna(45) > 45, "churn", "stay")
    encode = make_column_transformer(
        (SimpleImputer(), ["age"]), (OneHotEncoder(handle_unknown="ignore"), ["plan"])
    )
    return make_pipeline(encode, LogisticRegression()).fit(frame, labels), frame


def _traffic() -> pd.DataFrame:
    """ROWS rows: MISSING without an age, OUT_OF_RANGE outside 20–70, UNSEEN with a plan
    never seen in training, the rest ordinary."""
    rng = np.random.default_rng(1)
    age = rng.uniform(25, 65, size=ROWS).astype(object)
    age[:MISSING] = None
    age[MISSING : MISSING + OUT_OF_RANGE] = [150.0, -5.0] * (OUT_OF_RANGE // 2)
    plan = rng.choice(["basic", "pro", "team"], size=ROWS).astype(object)
    plan[MISSING + OUT_OF_RANGE : MISSING + OUT_OF_RANGE + UNSEEN] = "enterprise"
    order = rng.permutation(ROWS)  # every request a mix, as traffic is
    return pd.DataFrame({"age": age[order], "plan": plan[order]})


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Pipeline]]:
    home = tmp_path_factory.mktemp("quality") / "home"
    model, frame = _model()
    with Yard(home) as yard:
        version = yard.register(model, "churn", sample=frame)
        assert {f["name"]: f["kind"] for f in version.signature["inputs"]}["plan"] == "open"
        yard.create_endpoint("churn-api", "churn@1")
    for when in ("missing_share[age]>0.05", "unseen_share[plan]>0.9"):
        added = run_cli(home, "policy", "add", "churn-api", "--when", when, "--then", "run:true",
                        "--window", "1h")  # fmt: skip
        assert added.returncode == 0, added.stdout + added.stderr
    with running_server(home, "--dev", env=ENV) as server:
        yield server, model


@pytest.fixture(scope="module")
def sent(served: tuple[Server, Pipeline]) -> dict[str, Any]:
    server, _ = served
    rows = _traffic()
    ids, predictions = [], []
    with server.client() as client:
        for start in range(0, ROWS, PER_REQUEST):
            chunk = rows.iloc[start : start + PER_REQUEST]
            body = {"instances": json.loads(chunk.to_json(orient="records"))}
            answer = client.post("/v1/endpoints/churn-api/predict", json=body)
            assert answer.status_code == 200, answer.text
            ids += answer.json()["prediction_ids"]
            predictions += answer.json()["predictions"]
        for _ in range(WRONG_TYPE):
            bad = {"instances": [{"age": "old", "plan": "pro"}]}
            assert client.post("/v1/endpoints/churn-api/predict", json=bad).status_code == 422
        for _ in range(MISSING_FEATURE):
            bad = {"instances": [{"age": 30.0}]}
            assert client.post("/v1/endpoints/churn-api/predict", json=bad).status_code == 422
        truth = ["churn" if i % 3 else "stay" for i in range(ROWS)]
        items = [{"prediction_id": p, "actual": t} for p, t in zip(ids, truth, strict=True)]
        done = client.post("/v1/endpoints/churn-api/feedback", json={"feedback": items})
        assert done.status_code == 200, done.text
    return {"predictions": predictions, "truth": truth}


def _version(server: Server, sent: dict[str, Any]) -> dict[str, Any]:
    """The version's summary once every request and label is in it."""
    deadline = time.monotonic() + 30
    while True:
        with server.client() as client:
            summary = client.get("/api/endpoints/churn-api/monitor", params={"since": "1h"})
        assert summary.status_code == 200, summary.text
        versions = summary.json()["versions"]
        if versions:
            (version,) = versions
            quality = version["data_quality"] or {}
            labelled = (version["per_class"] or {}).get("per_class", {})
            if quality.get("attempts") == ROWS // PER_REQUEST + WRONG_TYPE + MISSING_FEATURE and (
                sum(c["support"] for c in labelled.values()) == ROWS
            ):
                return dict(version)
        assert time.monotonic() < deadline, f"summary incomplete: {versions}"
        time.sleep(0.3)


def test_reported_shares_are_those_sent(served, sent) -> None:
    server, _ = served
    version = _version(server, sent)
    quality = version["data_quality"]
    features = {f["feature"]: f for f in quality["features"]}
    assert features["age"]["rows"] == ROWS
    assert features["age"]["missing_share"] == pytest.approx(MISSING / ROWS)
    # of the ages given: a column going missing must not hide where the rest went
    assert features["age"]["out_of_range_share"] == pytest.approx(OUT_OF_RANGE / (ROWS - MISSING))
    assert features["plan"]["unseen_share"] == pytest.approx(UNSEEN / ROWS)
    attempts = ROWS // PER_REQUEST + WRONG_TYPE + MISSING_FEATURE
    assert quality["refused"] == {"missing_feature": MISSING_FEATURE, "wrong_type": WRONG_TYPE}
    assert quality["refused_shares"]["wrong_type"] == pytest.approx(WRONG_TYPE / attempts)
    status = run_cli(server.home, "monitor", "status", "churn-api", "--since", "1h", "--json")
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout)["versions"][0]["data_quality"] == quality
    text = run_cli(server.home, "monitor", "status", "churn-api", "--since", "1h")
    assert "wrong_type" in text.stdout, text.stdout
    assert "16.7 %" in text.stdout, text.stdout  # age out of range: 30 of 180 given


def test_per_class_quality_is_scikit_learns(served, sent) -> None:
    server, _ = served
    report = _version(server, sent)["per_class"]
    labels = report["labels"]
    precision, recall, _, support = precision_recall_fscore_support(
        sent["truth"], sent["predictions"], labels=labels, zero_division=0
    )
    assert [report["per_class"][c]["recall"] for c in labels] == pytest.approx(recall)
    assert [report["per_class"][c]["precision"] for c in labels] == pytest.approx(precision)
    assert [report["per_class"][c]["support"] for c in labels] == support.tolist()
    expected = confusion_matrix(sent["truth"], sent["predictions"], labels=labels)
    assert report["confusion_matrix"] == expected.tolist()


def test_metrics_export_the_shares(served, sent) -> None:
    server, _ = served
    _version(server, sent)
    wanted = (
        'modelyard_feature_quality{endpoint="churn-api",feature="age",'
        'signal="missing_share",version="churn@1"}'
    )
    deadline = time.monotonic() + 20
    while True:
        with server.client() as client:
            text = client.get("/metrics").text
        lines = {line.rsplit(" ", 1)[0]: line for line in text.splitlines()}
        if wanted in lines:
            break
        assert time.monotonic() < deadline, "no data-quality gauges"
        time.sleep(0.3)
    assert _value(lines, wanted) == pytest.approx(MISSING / ROWS)
    refused = 'modelyard_refused_share{endpoint="churn-api",rule="wrong_type",version="churn@1"}'
    attempts = ROWS // PER_REQUEST + WRONG_TYPE + MISSING_FEATURE
    assert _value(lines, refused) == pytest.approx(WRONG_TYPE / attempts)


def _value(lines: dict[str, str], key: str) -> float:
    return float(lines[key].rsplit(" ", 1)[1])


def test_a_policy_on_a_share_fires(served, sent) -> None:
    server, _ = served
    _version(server, sent)
    deadline = time.monotonic() + 30
    while True:
        with Yard(Path(server.home)) as yard:
            fired = [e for e in yard.policy_history("churn-api") if e.action == "policy.fired"]
        if fired:
            break
        assert time.monotonic() < deadline, f"the policy did not fire:\n{server.logs()[-3000:]}"
        time.sleep(0.3)
    (event,) = fired  # the unseen share (0.2) stays under its 0.9
    assert event.details["detail"].startswith("missing_share[age] = ")
    assert event.details["detail"].endswith("(wants > 0.05)")
