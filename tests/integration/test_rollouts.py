"""Canary rollouts driven by the controller inside a real server process."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
from tests.integration.models_for_serving import ExplodingClassifier, SlowClassifier
from tests.integration.serving_fixtures import running_server
from tests.integration.webhook_receiver import ALLOW_LOOPBACK, Receiver, webhook_receiver

from modelyard import Yard
from modelyard.config import Settings

pytestmark = [pytest.mark.slow, pytest.mark.serial]  # judges time: run alone

FAST = {
    "MODELYARD_POLL_SECONDS": "0.2",
    "MODELYARD_MONITOR_BUCKET_SECONDS": "2",
    "MODELYARD_MONITOR_FLUSH_SECONDS": "0.2",
    "MODELYARD_CONTROLLER_INTERVAL": "0.3",
}


@pytest.fixture
def webhook() -> Iterator[Receiver]:
    with webhook_receiver() as receiver:
        yield receiver


def _until(
    done: Callable[[], bool],
    seconds: float,
    what: str,
    traffic: Callable[[], None],
    progress: list[str] | None = None,
    logs: Callable[[], str] | None = None,
) -> None:
    deadline = time.monotonic() + seconds
    while not done():
        if time.monotonic() > deadline:
            tail = logs()[-3000:] if logs else ""
            raise AssertionError(f"timed out waiting for {what}: {progress}\n{tail}")
        traffic()


def test_canary_aborts_bad_candidates_and_promotes_a_good_one(
    tmp_path: Path, logreg, forest, cancer
) -> None:
    X, y = cancer
    home = tmp_path / "home"
    with Yard(home) as yard:
        for name, candidate in (
            ("good", forest),
            ("buggy", ExplodingClassifier().fit(X, y)),  # raises on ~35% of rows (below)
            ("slow", SlowClassifier(delay=0.15).fit(X, y)),
        ):
            yard.register(logreg, name, sample=X)
            # Warm-up predicts on the sample's first rows: small ones, so the bug hides then.
            sample = X.sort_values("mean radius")
            yard.register(candidate, name, sample=sample, trust_types=True)
            yard.set_alias(name, "production", 1)
            yard.create_endpoint(f"{name}-api", f"{name}@production")
        for name in ("good", "buggy", "slow"):
            yard.start_rollout(
                f"{name}-api",
                f"{name}@2",
                steps="10,50,100",
                interval="2s",
                # relative: at the 100% step the baseline is read from the step before
                checks=["error_rate<0.05", "p95_ms<100", "error_rate<=baseline+0.01"],
                min_rows=25,
            )
    rows = [{"instances": [r]} for r in X.to_dict(orient="records")]
    statuses: dict[str, Counter[int]] = {n: Counter() for n in ("good", "buggy", "slow")}
    serving = {**FAST, "EXPLODE_ABOVE": "15"}
    with running_server(home, "--dev", env=serving) as server, server.client() as client:
        turn = iter(range(10**9))
        progress: list[str] = []

        def traffic() -> None:
            for _ in range(20):
                row = rows[next(turn) % len(rows)]
                for name in ("good", "buggy", "slow"):
                    response = client.post(f"/v1/endpoints/{name}-api/predict", json=row)
                    statuses[name][response.status_code] += 1

        def settled() -> bool:
            with Yard(home) as yard:
                now = [yard.rollout_status(f"{n}-api") for n in ("good", "buggy", "slow")]
            progress[:] = [f"{r.plan.endpoint}: {r.state} — {r.message}" for r in now]
            return all(r.state in ("succeeded", "aborted") for r in now)

        _until(settled, 90, "the three rollouts to end", traffic, progress, server.logs)
        final = client.post("/v1/endpoints/good-api/predict", json=rows[0])
        shown = client.get("/api/endpoints/buggy-api/rollout").json()  # the admin API
        assert shown["state"] == "aborted"
        assert [h["action"] for h in shown["history"]] == ["rollout.abort", "rollout.start"]
        missing = client.get("/api/endpoints/nope/rollout")
        assert missing.status_code == 404
    with Yard(home) as yard:
        good, buggy, slow = (yard.rollout_status(f"{n}-api") for n in ("good", "buggy", "slow"))
        assert good.state == "succeeded", good.message
        assert yard.get_version("good@production").version == 2
        assert [r.model for r in yard.get_endpoint("good-api").routes] == ["good@production"]
        assert buggy.state == "aborted"
        assert "error_rate" in buggy.message
        assert slow.state == "aborted"
        assert "p95_ms" in slow.message
        for name in ("buggy", "slow"):
            assert yard.get_version(f"{name}@production").version == 1  # the alias never moved
            assert [(r.model, r.weight) for r in yard.get_endpoint(f"{name}-api").routes] == [
                (f"{name}@production", 100.0)
            ]
        story = [e.action for e in reversed(yard.rollout_history("good-api"))]
        assert story == ["rollout.start", "rollout.step", "rollout.step", "rollout.succeeded"]
        assert [e.action for e in reversed(yard.rollout_history("buggy-api"))] == [
            "rollout.start",
            "rollout.abort",
        ]
    assert final.headers["x-modelyard-version"] == "good@2"
    # The canary took 10% of the traffic: the endpoint as a whole stayed under the check.
    buggy_errors = statuses["buggy"][500] / sum(statuses["buggy"].values())
    assert 0 < buggy_errors < 0.05, statuses["buggy"]
    assert set(statuses["good"]) == {200}


def test_a_drift_policy_rolls_back_every_worker_and_calls_the_webhook(
    tmp_path: Path, logreg, forest, cancer, webhook
) -> None:
    X, _ = cancer
    home = tmp_path / "home"
    # The receiver listens on loopback: the operator's allow-list names it, for the policy
    # (checked when added) and for the server (checked again when it sends).
    with Yard(home, settings=Settings(webhook_allow="127.0.0.1")) as yard:
        yard.register(logreg, "churn", sample=X)
        yard.register(forest, "churn", sample=X)
        yard.set_alias("churn", "production", 1)
        yard.set_alias("churn", "production", 2, reason="new model")
        yard.create_endpoint("churn-api", "churn@production")
        yard.add_policy(
            "churn-api",
            "drift_share>0.3 for 1s",
            ["rollback", f"alert:{webhook.url}"],
            window="4s",
        )
    calm = X.sample(200, random_state=0)
    shifted = calm * 3.0  # every feature far outside the training range
    serving = {**FAST, **ALLOW_LOOPBACK}
    with running_server(home, "--dev", "--workers", "2", env=serving) as server:
        with server.client() as client:

            def send(frame) -> httpx.Response:
                return client.post(
                    "/v1/endpoints/churn-api/predict",
                    json={"instances": frame.to_dict(orient="records")},
                )

            for _ in range(10):  # calm traffic: the policy must not fire
                assert send(calm).status_code == 200
                time.sleep(0.2)
            with Yard(home) as yard:
                assert yard.policy_history("churn-api")[0].action == "policy.add"

            def rolled_back() -> bool:
                return all(
                    send(shifted.iloc[:5]).headers["x-modelyard-version"] == "churn@1"
                    for _ in range(8)
                )

            _until(rolled_back, 60, "the rollback to reach every worker", lambda: send(shifted))
            shown = client.get("/api/endpoints/churn-api/policies").json()
            assert shown["policies"][0]["state"] == "fired; re-arms when clear"
            assert "policy.fired" in [h["action"] for h in shown["history"]]
        deadline = time.monotonic() + 20
        while not webhook.received and time.monotonic() < deadline:
            time.sleep(0.1)
    with Yard(home) as yard:
        assert yard.get_version("churn@production").version == 1
        story = [e.action for e in reversed(yard.policy_history("churn-api"))]
        assert story[:3] == ["policy.add", "policy.fired", "policy.action"]
        assert "policy.delivered" in story
        fired = next(e for e in yard.policy_history("churn-api") if e.action == "policy.fired")
        assert fired.details["version"] == "churn@2"
        moves = yard.alias_history("churn", "production")
        assert moves[-1].to_version == 1
        assert "policy" in moves[-1].reason
    assert len(webhook.received) == 1
    alert = webhook.received[0]
    assert alert["endpoint"] == "churn-api"
    assert "drift_share" in alert["message"]
    assert np.isfinite(alert["details"]["value"])
