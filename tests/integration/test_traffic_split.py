"""Traffic split on a real server: hot-applied weights, sticky keys, the override header."""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sklearn.dummy import DummyClassifier
from tests.integration.serving_fixtures import running_server

from modelyard import Yard
from modelyard.domain.endpoints import Route

pytestmark = pytest.mark.slow
FAST_POLL = {"MODELYARD_POLL_SECONDS": "0.2"}


def _home(tmp_path: Path, logreg, cancer) -> Path:
    X, y = cancer
    home = tmp_path / "home"
    with Yard(home) as yard:
        yard.register(logreg, "churn", sample=X)
        yard.register(DummyClassifier().fit(X, y), "churn", sample=X)
        yard.set_alias("churn", "production", 1)
        yard.create_endpoint("churn-api", "churn@production")
    return home


def test_sticky_ab_test_keeps_every_key_on_one_version_and_reports(
    tmp_path: Path, logreg, cancer
) -> None:
    X, y = cancer
    home = _home(tmp_path, logreg, cancer)
    rows = X.to_dict(orient="records")
    env = {**FAST_POLL, "MODELYARD_MONITOR_FLUSH_SECONDS": "0.2"}
    with running_server(home, "--dev", env=env) as server:
        with Yard(home) as yard:  # applied while serving: no restart
            yard.start_abtest(
                "churn-api", "churn@production", "churn@2", split=30, sticky_key="user_id"
            )
        with server.client() as client:

            def both_served() -> bool:
                body = client.get("/api/endpoints/churn-api").json()
                return sorted(body["versions"]) == ["churn@1", "churn@2"]

            deadline = time.monotonic() + 20
            while not both_served():
                assert time.monotonic() < deadline, "the new routes were never applied"
                time.sleep(0.2)

        def send(start: int) -> list[tuple[str, str, str, int]]:
            out = []
            with httpx.Client(base_url=server.url, timeout=30) as client:
                for i in range(start, start + 1250):
                    user = f"user-{i % 2000}"  # 2,000 users, 5 requests each
                    row = i % len(rows)
                    response = client.post(
                        "/v1/endpoints/churn-api/predict",
                        json={"instances": [{**rows[row], "user_id": user}]},
                    )
                    assert response.status_code == 200, response.text
                    version = response.headers["x-modelyard-version"]
                    pid = response.json()["prediction_ids"][0]
                    out.append((user, version, pid, int(y.iloc[row])))
            return out

        with ThreadPoolExecutor(8) as pool:
            answers = [a for part in pool.map(send, range(0, 10_000, 1250)) for a in part]
        with Yard(home) as yard:
            labels = [(pid, str(label)) for _, _, pid, label in answers]
            deadline = time.monotonic() + 20
            while yard.add_feedback("churn-api", labels).unknown:  # until the log is flushed
                assert time.monotonic() < deadline, "predictions never reached the log"
                time.sleep(0.3)
            report = yard.abtest_report("churn-api")
            stopped = yard.stop_abtest("churn-api", promote=True)
            routes = yard.get_endpoint("churn-api").routes
    assert len(answers) == 10_000
    seen: dict[str, set[str]] = defaultdict(set)
    for user, version, _, _ in answers:
        seen[user].add(version)
    assert all(len(versions) == 1 for versions in seen.values())
    served = Counter(v for _, v, _, _ in answers)
    assert 0.28 <= served["churn@2"] / len(answers) <= 0.32, served  # ±2 points of 30%
    assert report["arms"]["a"]["n"] == served["churn@1"]
    assert report["arms"]["b"]["n"] == served["churn@2"]
    assert report["test"] == "two-proportion z-test"
    assert report["p_value"] < 0.001
    assert report["winner"] == "a"  # logistic regression beats the majority-class dummy
    assert stopped["promoted"] is None  # --promote moves only a winning B
    assert [(r.model, r.weight) for r in routes] == [("churn@production", 100.0)]


def test_the_override_header_needs_the_write_scope(tmp_path: Path, logreg, cancer) -> None:
    X, _ = cancer
    home = _home(tmp_path, logreg, cancer)
    with Yard(home) as yard:
        yard.set_routes(
            "churn-api", [Route("churn@production", 50), Route("churn@2", 50, "canary")]
        )
        _, predict_key = yard.create_key(["predict"])
        _, write_key = yard.create_key(["write"])
    body = {"instances": [X.iloc[0].to_dict()]}
    with running_server(home) as server, server.client() as client:

        def call(key: str, forced: str) -> httpx.Response:
            headers = {"Authorization": f"Bearer {key}", "X-Modelyard-Version": forced}
            return client.post("/v1/endpoints/churn-api/predict", json=body, headers=headers)

        refused = call(predict_key, "churn@2")
        assert refused.status_code == 403
        assert "write scope" in refused.json()["error"]["message"]
        for forced in ("churn@1", "churn@2"):
            answer = call(write_key, forced)
            assert answer.status_code == 200
            assert answer.headers["x-modelyard-version"] == forced
        assert call(write_key, "churn@7").status_code == 404
