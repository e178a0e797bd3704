"""Shadow traffic on a real server: callers only ever get the primary's answers, a shadow
that raises or is slow changes no response, and the comparison shows in /metrics and in
the monitor."""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import numpy as np
import pytest
from prometheus_client.parser import text_string_to_metric_families
from tests.integration.models_for_serving import ExplodingRegressor, SlowClassifier
from tests.integration.serving_fixtures import running_server

from modelyard import Yard
from modelyard.domain.endpoints import Route

pytestmark = [pytest.mark.slow, pytest.mark.serial]  # judges time: run alone

ENV = {
    "MODELYARD_MONITOR_BUCKET_SECONDS": "2",
    "MODELYARD_MONITOR_FLUSH_SECONDS": "0.2",
    "SLOW_MODEL_DELAY": "0.3",
}
REQUESTS, ROWS = 30, 4
LABELS = {"endpoint": "churn-api", "primary": "churn@1"}


def _samples(text: str) -> dict[tuple[str, str], float]:
    """(sample name, shadow) → value for the shadow counters of churn-api."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name.startswith("modelyard_shadow_") and all(
                sample.labels.get(k) == v for k, v in LABELS.items()
            ):
                found[(sample.name, sample.labels["shadow"])] = sample.value
    return found


def test_shadows_never_reach_the_caller_and_are_compared(
    tmp_path: Path, logreg, forest, cancer
) -> None:
    X, y = cancer
    home = tmp_path / "home"
    with Yard(home) as yard:
        yard.register(logreg, "churn", sample=X)
        yard.register(forest, "churn", sample=X)
        yard.register(ExplodingRegressor().fit(X, y), "boom", sample=X, trust_types=True)
        yard.register(SlowClassifier(delay=0).fit(X, y), "slow", sample=X, trust_types=True)
        yard.set_alias("churn", "production", 1)
        yard.create_endpoint("churn-api", "churn@production")
        yard.set_routes(
            "churn-api",
            [
                Route("churn@production"),
                Route("churn@2", 100, "shadow"),
                Route("boom@1", 100, "shadow"),
                Route("slow@1", 100, "shadow"),
            ],
        )
    rows = X.iloc[: REQUESTS * ROWS].copy()
    rows.iloc[::8, 0] = -1.0  # the exploding shadow raises on these; the primary does not
    seconds = []
    with running_server(home, "--dev", env=ENV) as server, server.client() as client:
        for start in range(0, len(rows), ROWS):
            part = rows.iloc[start : start + ROWS]
            began = time.perf_counter()
            if start % (2 * ROWS):
                response = client.post(
                    "/v2/models/churn-api/infer",
                    json={"inputs": [_tensor(part)]},
                )
                assert response.json()["model_version"] == "1", response.text
            else:
                response = client.post(
                    "/v1/endpoints/churn-api/predict", json={"instances": part.to_dict("records")}
                )
                body = response.json()
                assert body["version"] == 1, response.text
                assert body["predictions"] == logreg.predict(part).tolist()
            seconds.append(time.perf_counter() - began)
            assert response.status_code == 200, response.text
            assert response.headers["x-modelyard-version"] == "churn@1"
        # Every answer was the primary's, and none waited for the 0.3 s shadow.
        assert statistics.median(seconds) < 0.15, seconds

        total = len(rows)
        deadline = time.monotonic() + 15
        while True:
            metrics = _samples(client.get("/metrics").text)
            monitor = client.get("/api/endpoints/churn-api/monitor?since=10m").json()
            shadows = {s["version"]: s["compared"][0] for s in monitor["shadows"]}
            boom = shadows.get("boom@1", {"rows": 0, "errors": 0})
            if (
                shadows.get("churn@2", {}).get("rows") == total
                and shadows.get("slow@1", {}).get("rows") == total
                and boom["rows"] + boom["errors"] == total
            ):
                break
            assert time.monotonic() < deadline, (metrics, monitor["shadows"], server.logs())
            time.sleep(0.3)

    agree = float(np.mean(logreg.predict(rows) == forest.predict(rows)))
    gap = float(np.abs(logreg.predict_proba(rows)[:, 1] - forest.predict_proba(rows)[:, 1]).mean())
    forest_vs = shadows["churn@2"]
    assert forest_vs["agreement_rate"] == pytest.approx(agree)
    assert forest_vs["mean_proba_abs_diff"] == pytest.approx(gap)
    assert metrics[("modelyard_shadow_rows_total", "churn@2")] == total
    assert metrics[("modelyard_shadow_agreements_total", "churn@2")] == round(agree * total)
    assert metrics[("modelyard_shadow_proba_abs_diff_total", "churn@2")] == pytest.approx(
        gap * total
    )
    assert boom["errors"] >= total / 8  # every request with a negative row, at least
    assert metrics[("modelyard_shadow_errors_total", "boom@1")] == boom["errors"]
    # The slow shadow: its latency shows, beside the primary's for the same requests.
    slow = shadows["slow@1"]["latency_ms"]
    assert slow["shadow"]["p50"] > 250 > slow["primary"]["p95"]
    # Served traffic is the primary's alone: no shadow rows, no shadow failures.
    [served] = monitor["versions"]
    assert (served["version"], served["rows"], served["errors"]) == ("churn@1", total, {})


def _tensor(part) -> dict:
    return {
        "name": "input",
        "shape": list(part.shape),
        "datatype": "FP64",
        "data": part.to_numpy().ravel().tolist(),
    }
