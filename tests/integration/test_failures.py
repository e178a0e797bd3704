"""A real ``modelyard serve`` when things break: a model call that hangs, a shutdown that
would hang, and an alias moved to a version no replica can load (issue 12, 4 and 5)."""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from tests.integration.models_for_serving import HANG_VALUE, HangingClassifier
from tests.integration.serving_fixtures import Server, running_server

from modelyard import Yard
from modelyard.domain.endpoints import Limits
from modelyard.runtime.runner import MAX_STUCK

pytestmark = pytest.mark.slow
FAST_POLL = {"MODELYARD_POLL_SECONDS": "0.2"}


def _row(X, first: float | None = None) -> dict[str, list[float]]:
    row = X.iloc[:1].copy()
    if first is not None:
        row.iloc[0, 0] = first
    return {"inputs": row.to_dict(orient="list")}


def _hanging_yard(home: Path, cancer, timeout_ms: float) -> None:
    X, y = cancer
    with Yard(home) as yard:
        yard.register(HangingClassifier().fit(X, y), "hang", sample=X, trust_types=True)
        yard.create_endpoint("hang-api", "hang@1", limits=Limits(timeout_ms=timeout_ms))


def _wait_for_exit(server: Server, seconds: float) -> int | None:
    try:
        return server.process.wait(timeout=seconds)
    except Exception:
        return None


def _logged_rows(home: Path, endpoint: str) -> int:
    """Prediction rows the server wrote to the log."""
    now = datetime.now(UTC)
    with Yard(home) as yard:
        counts = yard.stores.predictions.counts(endpoint, now - timedelta(hours=1), now)
    return sum(counts.values())


def test_a_hung_model_call_is_abandoned_and_a_fresh_thread_serves(tmp_path: Path, cancer) -> None:
    X, _ = cancer
    home = tmp_path / "home"
    flag = tmp_path / "hang"
    _hanging_yard(home, cancer, timeout_ms=500)
    env = {"HANG_WHILE": str(flag), "MODELYARD_SHUTDOWN_SECONDS": "10", **FAST_POLL}
    with running_server(home, "--dev", env=env) as server, server.client() as client:
        assert client.post("/v1/endpoints/hang-api/predict", json=_row(X)).status_code == 200
        flag.touch()
        hung = client.post("/v1/endpoints/hang-api/predict", json=_row(X, HANG_VALUE))
        assert (hung.status_code, hung.json()["error"]["code"]) == (504, "timeout")
        # The model is still stuck in its first call; the endpoint must answer anyway once
        # that call is given up on (before the fix: 504 for as long as it hangs).
        answered = []
        for _ in range(40):
            response = client.post("/v1/endpoints/hang-api/predict", json=_row(X))
            answered.append(response.status_code)
            if response.status_code == 200:
                break
        assert answered[-1] == 200, (answered, server.logs())
        assert flag.exists()  # still hung: a fresh thread answered
        metrics = client.get("/metrics").text
        assert 'modelyard_model_calls_abandoned_total{version="hang@1"} 1.0' in metrics
        assert 'modelyard_model_calls_stuck{version="hang@1"} 1.0' in metrics
        # Every hung call holds a thread; at MAX_STUCK the version is not ready and the
        # server loads a fresh copy of it, which answers while the old calls still hang.
        for _ in range(MAX_STUCK - 1):
            hung = client.post("/v1/endpoints/hang-api/predict", json=_row(X, HANG_VALUE))
            assert hung.status_code in (503, 504), hung.text
            time.sleep(1.2)  # given up on at twice the timeout
        for _ in range(100):
            response = client.post("/v1/endpoints/hang-api/predict", json=_row(X))
            answered.append(response.status_code)
            if response.status_code == 200 and "loading a fresh copy" in server.logs():
                break
            time.sleep(0.2)
        assert answered[-1] == 200, (answered, server.logs())
        assert "hang@1: too many model calls hang; loading a fresh copy" in server.logs()
        assert flag.exists()
        served = answered.count(200) + 1
        # SIGTERM while the call still hangs: before the fix the process waited on the
        # model thread forever. It must exit, with status 0, having written its rows.
        server.process.send_signal(signal.SIGTERM)
        code = _wait_for_exit(server, 60)
        assert code == 0, server.logs()
    assert _logged_rows(home, "hang-api") >= served


def test_shutdown_has_a_hard_cap_and_writes_the_prediction_log_first(
    tmp_path: Path, cancer
) -> None:
    X, _ = cancer
    home = tmp_path / "home"
    flag = tmp_path / "hang"
    # A timeout long enough that the call is not yet taken as stuck when SIGTERM comes.
    _hanging_yard(home, cancer, timeout_ms=600_000)
    env = {"HANG_WHILE": str(flag), "MODELYARD_SHUTDOWN_SECONDS": "6", **FAST_POLL}
    with running_server(home, "--dev", env=env) as server, server.client() as client:
        answered = sum(
            client.post("/v1/endpoints/hang-api/predict", json=_row(X)).status_code == 200
            for _ in range(5)
        )
        flag.touch()
        hanging = _row(X, HANG_VALUE)
        url = f"{server.url}/v1/endpoints/hang-api/predict"
        threading.Thread(target=_post_ignoring_failure, args=(url, hanging), daemon=True).start()
        time.sleep(0.5)  # the hanging call has reached the model
        started = time.monotonic()
        server.process.send_signal(signal.SIGTERM)
        code = _wait_for_exit(server, 90)
        waited = time.monotonic() - started
        assert code == 0, server.logs()
        assert "shutdown did not finish" in server.logs()
        # Bounded by the cap (6 s) plus the last write, not by the hung call; judged
        # loosely, it is the difference between exiting and never exiting.
        assert waited < 60
    assert answered == 5
    assert _logged_rows(home, "hang-api") >= answered


def _post_ignoring_failure(url: str, body: dict[str, list[float]]) -> None:
    """A caller whose request is in flight when the server stops (it gets no answer)."""
    with contextlib.suppress(httpx.HTTPError):
        httpx.post(url, json=body, timeout=120)


def test_an_alias_moved_to_a_version_that_cannot_load_keeps_the_last_one_serving(
    tmp_path: Path, logreg, forest, cancer
) -> None:
    X, _ = cancer
    home = tmp_path / "home"
    with Yard(home) as yard:
        yard.register(logreg, "churn", sample=X)
        broken = yard.register(forest, "churn", sample=X)
        yard.set_alias("churn", "production", 1)
        yard.create_endpoint("churn-api", "churn@production")
        blob = next((home / "artifacts" / "blobs").rglob(broken.file("model.skops").sha256))
    with running_server(home, "--dev", env=FAST_POLL) as server, server.client() as client:
        assert client.post("/v1/endpoints/churn-api/predict", json=_row(X)).status_code == 200
    blob.write_bytes(b"tampered")  # version 2 can no longer load anywhere
    with Yard(home) as yard:
        yard.set_alias("churn", "production", 2)
        yard.create_endpoint("never-api", "churn@2")  # nothing ever loaded for this one
    # A replica that starts now has nothing serving to keep: before the fix it answered
    # 503 for churn-api while /health/ready said 200.
    with running_server(home, "--dev", env=FAST_POLL) as server, server.client() as client:
        response = client.post("/v1/endpoints/churn-api/predict", json=_row(X))
        assert (response.status_code, response.json()["version"]) == (200, 1), response.text
        ready = client.get("/health/ready")
        assert ready.status_code == 200
        body = ready.json()
        assert body["endpoints"] == {
            "known": 2,
            "serving": 1,
            "serving_nothing": 1,
            "fallback": 1,
            "stuck": 0,
        }
        assert "corrupted" not in ready.text  # the open route tells no details
        status = client.get("/api/endpoints/churn-api").json()
        assert status["fallback"]["serving"] == "churn@1"
        assert status["fallback"]["wanted"] == "churn@production"
        assert "corrupted" in status["load_error"]
        never = client.post("/v1/endpoints/never-api/predict", json=_row(X))
        assert (never.status_code, never.json()["error"]["code"]) == (503, "not_ready")
        assert "corrupted" not in never.text
        metrics = client.get("/metrics").text
        assert 'modelyard_endpoint_fallback{endpoint="churn-api",version="churn@1"} 1.0' in (
            metrics
        )
        assert "modelyard_endpoints_serving_nothing 1.0" in metrics
        assert "serving churn@1 instead" in server.logs()
        with Yard(home) as yard:  # what `modelyard endpoint show` prints
            statuses = yard.serving_status("churn-api")
        [replica] = [r for r in statuses if r.replica.endswith(f":{server.process.pid}")]
        assert replica.version == "churn@1"
        assert "serving churn@1 instead" in replica.error


def test_a_replica_that_can_serve_nothing_is_not_ready(tmp_path: Path, forest, cancer) -> None:
    X, _ = cancer
    home = tmp_path / "home"
    with Yard(home) as yard:
        version = yard.register(forest, "churn", sample=X)
        yard.create_endpoint("churn-api", "churn@1")
        blob = next((home / "artifacts" / "blobs").rglob(version.file("model.skops").sha256))
    blob.write_bytes(b"tampered")
    with (
        running_server(home, "--dev", env=FAST_POLL, wait_ready=False) as server,
        server.client() as client,
    ):
        deadline = time.monotonic() + 60
        while (ready := client.get("/health/ready")).json()["endpoints"]["known"] != 1:
            assert time.monotonic() < deadline, server.logs()
            time.sleep(0.2)
        assert ready.status_code == 503
        assert ready.json()["endpoints"]["serving_nothing"] == 1
        assert ready.json()["degraded"] == ["endpoints"]
