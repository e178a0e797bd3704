"""A real server monitoring an endpoint by segment: French inputs shift and French labels
contradict the answers; ``monitor status --by country`` lists France first, the admin API
and the summary JSON the console reads carry the segments, and a policy on France's
accuracy fires (its command runs)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from tests.integration.serving_fixtures import run_cli, running_server
from tests.monitoring.segmented_data import model, rows, truth

from modelyard import Yard

pytestmark = pytest.mark.slow

FAST = {
    "MODELYARD_POLL_SECONDS": "0.2",
    "MODELYARD_MONITOR_BUCKET_SECONDS": "2",
    "MODELYARD_MONITOR_FLUSH_SECONDS": "0.2",
    "MODELYARD_CONTROLLER_INTERVAL": "0.3",
    "MODELYARD_MONITOR_REFRESH_SECONDS": "0.3",
}


def _gauge(client: httpx.Client, name: str, labels: dict[str, str]) -> float | None:
    for family in text_string_to_metric_families(client.get("/metrics").text):
        for sample in family.samples:
            if sample.name == name and labels.items() <= sample.labels.items():
                return float(sample.value)
    return None


def _predict_and_label(client: httpx.Client, seed: int) -> None:
    frame, labels = rows(600, seed, shift=2.5)
    actual = truth(frame, labels, wrong="FR")
    for start in range(0, len(frame), 100):
        part = frame.iloc[start : start + 100]
        response = client.post(
            "/v1/endpoints/risk/predict", json={"instances": part.to_dict("records")}
        )
        assert response.status_code == 200, response.text
        ids = response.json()["prediction_ids"]
        items = [
            {"prediction_id": pid, "actual": label}
            for pid, label in zip(ids, actual[start : start + 100], strict=True)
        ]
        labelled = client.post("/v1/endpoints/risk/feedback", json={"feedback": items})
        assert labelled.status_code == 200, labelled.text


def test_the_failing_segment_is_worst_and_its_policy_fires(tmp_path: Path) -> None:
    home = tmp_path / "home"
    X, y = rows(2000, 1)
    with Yard(home) as yard:
        yard.register(model(X, y), "risk", sample=X)
    created = run_cli(
        home, "endpoint", "create", "risk", "-m", "risk@1",
        "--segment-by", "country", "--segment-by", "x1", "--segment-top", "3",
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    refused = run_cli(home, "policy", "add", "risk", "--when", "accuracy[plan=pro]<0.6",
                      "--then", "run:true")  # fmt: skip
    assert refused.returncode != 0
    assert refused.stderr.strip().count("\n") == 0
    assert "is not monitored by 'plan'" in refused.stderr
    fired = tmp_path / "fired"
    added = run_cli(
        home, "policy", "add", "risk", "--when", "accuracy[country=FR]<0.5 for 1s",
        "--then", f"run:touch {fired}", "--window", "1h",
    )  # fmt: skip
    assert added.returncode == 0, added.stderr

    with running_server(home, "--dev", env=FAST) as server, server.client() as client:
        _predict_and_label(client, 2)
        deadline = time.monotonic() + 60
        while not fired.exists() and time.monotonic() < deadline:
            time.sleep(0.3)
        assert fired.exists(), "the policy on France's accuracy never fired"
        api = client.get("/api/endpoints/risk/monitor", params={"since": "1h", "by": "country"})
        assert api.status_code == 200, api.text
        segments = api.json()["versions"][0]["segments"]
        assert segments[0]["value"] == "FR"
        assert {s["feature"] for s in segments} == {"country"}
        france = {"feature": "country", "segment": "FR", "metric": "accuracy"}
        deadline = time.monotonic() + 20
        while (value := _gauge(client, "modelyard_segment_quality", france)) is None:
            assert time.monotonic() < deadline, "no per-segment gauge in /metrics"
            time.sleep(0.3)
        assert value < 0.3
        unknown = client.get("/api/endpoints/risk/monitor", params={"by": "plan"})
        assert unknown.status_code == 422
        assert "by 'plan'" in unknown.json()["error"]["message"]

    with Yard(home) as yard:
        history = [e for e in yard.policy_history("risk") if e.action == "policy.fired"]
        assert "accuracy[country=FR]" in history[0].details["detail"]
    status = run_cli(home, "monitor", "status", "risk", "--since", "1h", "--by", "country")
    assert status.returncode == 0, status.stderr
    assert "by country, worst first" in status.stdout
    table = status.stdout.split("by country, worst first", 1)[1]
    assert table.index("FR") < min(table.index(c) for c in ("DE", "IT", "other"))
    whole = run_cli(home, "monitor", "status", "risk", "--since", "1h", "--json")
    (served,) = json.loads(whole.stdout)["versions"]
    france = next(s for s in served["segments"] if s["value"] == "FR")
    assert france["quality"]["accuracy"] < 0.3
    assert "x1" in france["drifted_features"]
    assert served["segments"][0]["value"] == "FR"  # worst first across features too
    bad = run_cli(home, "monitor", "status", "risk", "--by", "plan")
    assert bad.returncode != 0
    assert "by 'plan'" in bad.stderr
