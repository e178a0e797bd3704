"""Mirroring in one process: real models, table, recorder and store; the shadow's
answer is compared with the caller's, counted apart, and takes no feedback."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import numpy as np
import pytest
from tests.serving.in_process import serve_together

from modelyard import Yard
from modelyard.domain.endpoints import Route
from modelyard.monitoring.summary import summarize_recent
from modelyard.serving.shadow import shadow_id_tag


def _with_shadow(yard: Yard, primary: Any, shadow: Any, sample: Any) -> None:
    """churn@1 answers churn-api; churn@2 is mirrored every request."""
    yard.register(primary, "churn", sample=sample)
    yard.register(shadow, "churn", sample=sample)
    yard.create_endpoint("churn-api", "churn@1")
    yard.set_routes("churn-api", [Route("churn@1"), Route("churn@2", 100, "shadow")])


def test_the_shadow_is_compared_counted_apart_and_takes_no_feedback(
    sqlite_yard: Yard, logreg, forest, cancer
) -> None:
    X, _ = cancer
    rows = X.iloc[::5]
    _with_shadow(sqlite_yard, logreg, forest, X)

    [served], metrics = serve_together(sqlite_yard, "churn-api", [rows])

    assert served.version == "churn@1"
    assert served.output.predictions.tolist() == logreg.predict(rows).tolist()
    summary = summarize_recent(sqlite_yard.monitor, "churn-api", timedelta(hours=1))
    [version] = summary.versions
    assert (version.version, version.rows) == ("churn@1", len(rows))
    [shadow] = summary.shadows
    [vs] = shadow.compared
    agree = np.mean(logreg.predict(rows) == forest.predict(rows))
    gap = np.abs(logreg.predict_proba(rows)[:, 1] - forest.predict_proba(rows)[:, 1]).mean()
    assert (shadow.version, shadow.rows, vs.primary) == ("churn@2", len(rows), "churn@1")
    assert vs.agreement_rate == pytest.approx(agree)
    assert vs.mean_proba_abs_diff == pytest.approx(gap)
    assert (vs.errors, vs.skipped) == (0, 0)
    labels = {"endpoint": "churn-api", "primary": "churn@1", "shadow": "churn@2"}
    rows_seen = metrics.registry.get_sample_value("modelyard_shadow_rows_total", labels)
    assert rows_seen == len(rows)

    first = served.prediction_ids[0]
    shadow_id = f"{first}~{shadow_id_tag('churn@2')}"
    assert sqlite_yard.stores.predictions.get(shadow_id)["version"] == "churn@2~shadow"
    result = sqlite_yard.add_feedback("churn-api", [(shadow_id, "1"), (first, "1")])
    assert (result.accepted, result.unknown) == (1, [(0, shadow_id)])


def test_requests_mirrored_together_log_the_shadow_s_answer_to_each(
    sqlite_yard: Yard, logreg, forest, cancer
) -> None:
    X, _ = cancer
    _with_shadow(sqlite_yard, logreg, forest, X)

    served, _ = serve_together(sqlite_yard, "churn-api", [X.iloc[i : i + 1] for i in range(30)])

    tag = shadow_id_tag("churn@2")
    expected = forest.predict_proba(X.iloc[:30])
    for i, answer in enumerate(served):
        logged = sqlite_yard.stores.predictions.get(f"{answer.prediction_ids[0]}~{tag}")
        assert logged is not None
        assert logged["version"] == "churn@2~shadow"
        assert np.allclose(json.loads(logged["scores"]), expected[i])
