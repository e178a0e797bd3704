"""Requests answered together by one model call: each caller's answer, and each logged
row, is that request's own (monitoring keeps the call's arrays, shared, not a copy each)."""

from __future__ import annotations

import json
from datetime import timedelta

import numpy as np
import pandas as pd
import pytest
from sklearn.pipeline import Pipeline
from tests.kind_models import plan_model
from tests.serving.in_process import serve_together

from modelyard import Yard
from modelyard.domain.monitoring import MonitorSpec
from modelyard.monitoring.summary import summarize_recent


def _open_categories(X: pd.DataFrame, y: pd.Series) -> tuple[Pipeline, pd.DataFrame, pd.DataFrame]:
    """A model with a text feature, its training sample, and requests that bring a
    category neither saw."""
    X = X.assign(plan=np.where(y == 1, "basic", "pro"))
    model = plan_model(X, y)
    return model, X, X.assign(plan=[("basic", "pro", "enterprise")[i % 3] for i in range(len(X))])


@pytest.mark.parametrize("features", ["numbers", "open categories"])
def test_requests_batched_together_log_their_own_answers_and_inputs(
    sqlite_yard: Yard, logreg, cancer, features: str
) -> None:
    X, y = cancer
    sample = X
    if features == "open categories":
        logreg, sample, X = _open_categories(X, y)
    sqlite_yard.register(logreg, "churn", sample=sample)
    sqlite_yard.create_endpoint("churn-api", "churn@1")
    sqlite_yard.configure_monitoring("churn-api", MonitorSpec(log_inputs=1.0))
    sizes = [1, 3, 1, 2, 1, 1, 4, 1] * 5  # 70 rows in 40 requests, sent together
    starts = np.cumsum([0, *sizes[:-1]])
    requests = [X.iloc[s : s + n] for s, n in zip(starts, sizes, strict=True)]

    served, _ = serve_together(sqlite_yard, "churn-api", requests)

    assert len({id(answer.output.call) for answer in served}) < len(sizes)  # calls shared
    summary = summarize_recent(sqlite_yard.monitor, "churn-api", timedelta(hours=1))
    [version] = summary.versions
    assert (version.rows, version.requests) == (sum(sizes), len(sizes))
    log = sqlite_yard.stores.predictions
    for answer, rows in zip(served, requests, strict=True):
        assert answer.output.predictions.tolist() == logreg.predict(rows).tolist()
        for i, pid in enumerate(answer.prediction_ids):
            logged = log.get(pid)
            assert logged is not None
            assert json.loads(logged["prediction"]) == int(logreg.predict(rows)[i])
            scores = json.loads(logged["scores"])
            assert np.allclose(scores, logreg.predict_proba(rows)[i])
            inputs = json.loads(logged["inputs"])
            assert inputs["mean radius"] == rows["mean radius"].iloc[i]
            if features == "open categories":
                assert inputs["plan"] == rows["plan"].iloc[i]
