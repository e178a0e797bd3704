"""A real server: a classifier registered with a labelled holdout (``register --holdout``)
gets a covariate-shifted stream without any labels, and its estimated accuracy falls below
the holdout's in /metrics and in ``monitor status --json``."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest
import skops.io
from sklearn.linear_model import LogisticRegression
from tests.integration.serving_fixtures import run_cli, running_server
from tests.integration.test_monitoring import MONITOR_FAST, _gauge, _gauges, _wait_for

from modelyard import Yard

pytestmark = pytest.mark.slow


def _data(n: int, shift: float, seed: int) -> tuple[pd.DataFrame, pd.Series]:
    """Inputs move towards the decision boundary; P(y | x) stays the same."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0.0, 1.0, size=(n, 3))
    x[:, 0] = rng.normal(2.0 - shift, 1.0, n)
    p = 1 / (1 + np.exp(-(2.0 * x[:, 0] - 2.0 + 0.5 * x[:, 1])))
    return pd.DataFrame(x, columns=["a", "b", "c"]), pd.Series(
        (rng.uniform(size=n) < p).astype(int), name="y"
    )


def _send(client: httpx.Client, frame: pd.DataFrame) -> None:
    for start in range(0, len(frame), 50):
        part = frame.iloc[start : start + 50]
        response = client.post(
            "/v1/endpoints/risk/predict", json={"instances": part.to_dict("records")}
        )
        assert response.status_code == 200, response.text


def test_the_estimated_accuracy_falls_without_any_label(tmp_path: Path) -> None:
    home = tmp_path / "home"
    X, y = _data(3000, 0.0, 1)
    model_file = tmp_path / "risk.skops"
    skops.io.dump(LogisticRegression().fit(X, y), model_file)
    holdout_x, holdout_y = _data(2000, 0.0, 2)
    holdout_file = tmp_path / "holdout.csv"
    holdout_x.assign(y=holdout_y).to_csv(holdout_file, index=False)
    registered = run_cli(
        home, "register", str(model_file), "--name", "risk", "--holdout", str(holdout_file),
        "--label", "y",
    )  # fmt: skip
    assert registered.returncode == 0, registered.stderr
    with Yard(home) as yard:
        reference = yard.registry.profile("risk@1")["estimation"]["estimated"]["accuracy"]
        yard.create_endpoint("risk", "risk@1")
    accuracy = {"endpoint": "risk", "version": "risk@1", "metric": "accuracy", "bound": "value"}

    with running_server(home, "--dev", env=MONITOR_FAST) as server, server.client() as client:
        _send(client, _data(600, 0.0, 3)[0])
        calm = _wait_for(
            lambda: _gauge(_gauges(server.url), "modelyard_estimated_quality", **accuracy)
        )
        assert calm is not None, "the estimated accuracy gauge never appeared"
        assert calm == pytest.approx(reference, abs=0.05)
        time.sleep(float(MONITOR_FAST["MODELYARD_MONITOR_ROLLING_SECONDS"]) + 1)
        _send(client, _data(600, 1.0, 4)[0])

        def fallen() -> float | None:
            value = _gauge(_gauges(server.url), "modelyard_estimated_quality", **accuracy)
            return value if value is not None and value < reference - 0.05 else None

        assert _wait_for(fallen), "the estimated accuracy never fell below the reference"
        api = client.get("/api/endpoints/risk/monitor?since=1h")  # the admin API: same JSON
        assert api.status_code == 200, api.text
        assert api.json()["versions"][0]["estimated"]["method"] == "cbpe"

    status = run_cli(home, "monitor", "status", "risk", "--since", "1h", "--json")
    assert status.returncode == 0, status.stderr
    (served,) = json.loads(status.stdout)["versions"]
    assert served["feedback"]["labeled"] == 0
    estimated = served["estimated"]["metrics"]["accuracy"]
    assert estimated["reference"] == pytest.approx(reference)
    assert estimated["realized"] is None
    points = [p["estimated"]["accuracy"] for p in served["timeline"] if p.get("rows")]
    assert points[0] > points[-1]
    assert points[-1] < reference - 0.05
    text = run_cli(home, "monitor", "status", "risk", "--since", "1h")
    assert "estimated without labels" in text.stdout
