"""Hot swap, overload, timeouts, auth and shutdown of a real ``modelyard serve``."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest
from sklearn.dummy import DummyClassifier
from tests.integration.models_for_serving import SlowClassifier
from tests.integration.serving_fixtures import running_server

from modelyard import Yard
from modelyard.domain.endpoints import Limits

pytestmark = [pytest.mark.slow, pytest.mark.serial]  # judges time: run alone
FAST_POLL = {"MODELYARD_POLL_SECONDS": "0.2"}


def _row(X) -> dict[str, list[float]]:
    return {"inputs": X.iloc[:1].to_dict(orient="list")}


def test_alias_flips_under_load_drop_nothing(tmp_path: Path, cancer) -> None:
    X, y = cancer
    home = tmp_path / "home"
    with Yard(home) as yard:
        yard.register(DummyClassifier(strategy="constant", constant=0).fit(X, y), "churn", sample=X)
        yard.register(DummyClassifier(strategy="constant", constant=1).fit(X, y), "churn", sample=X)
        yard.set_alias("churn", "production", 1)
        yard.create_endpoint("churn-api", "churn@production")
    answers: Counter[tuple[int, int]] = Counter()
    failures: list[str] = []
    stop = threading.Event()

    with running_server(home, "--dev", env=FAST_POLL) as server:

        def load() -> None:
            with server.client() as client:
                while not stop.is_set():
                    response = client.post("/v1/endpoints/churn-api/predict", json=_row(X))
                    if response.status_code != 200:
                        failures.append(f"{response.status_code} {response.text}")
                        continue
                    body = response.json()
                    answers[(body["version"], body["predictions"][0])] += 1

        clients = [threading.Thread(target=load) for _ in range(4)]
        for thread in clients:
            thread.start()
        with Yard(home, actor="flipper") as yard:
            for flip in range(20):
                yard.set_alias("churn", "production", 2 if flip % 2 == 0 else 1)
                time.sleep(0.4)
        stop.set()
        for thread in clients:
            thread.join(timeout=30)
    assert failures == []
    # version 1 always predicts 0 and version 2 always 1: every answer names its computer
    assert set(answers) == {(1, 0), (2, 1)}
    assert min(answers.values()) > 10


def test_a_version_that_fails_to_load_never_replaces_the_serving_one(
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
        blob.write_bytes(b"tampered")
        with Yard(home) as yard:
            yard.set_alias("churn", "production", 2)
        deadline = time.monotonic() + 10
        while client.get("/api/endpoints/churn-api").json()["load_error"] is None:
            assert time.monotonic() < deadline, server.logs()
            time.sleep(0.1)
        status = client.get("/api/endpoints/churn-api").json()
        assert status["serving"] == "churn@1"
        assert "corrupted" in status["load_error"]
        response = client.post("/v1/endpoints/churn-api/predict", json=_row(X))
        assert (response.status_code, response.json()["version"]) == (200, 1)
        assert (
            'modelyard_endpoint_load_failed{endpoint="churn-api"} 1.0'
            in client.get("/metrics").text
        )
        with Yard(home) as yard:  # what `modelyard endpoint show` prints
            [replica] = yard.serving_status("churn-api")
        assert replica.version == "churn@1"
        assert "corrupted" in replica.error


def test_work_past_the_deadline_answers_503_quickly_and_live_stays_fast(
    tmp_path: Path, cancer
) -> None:
    """Twelve 64-row requests to a model that takes about 1 s a call (whatever its rows),
    with a 3 s timeout: the first few fit, the rest are refused at once."""
    X, y = cancer
    home = tmp_path / "home"
    with Yard(home) as yard:
        yard.register(SlowClassifier(delay=0.5).fit(X, y), "slow", sample=X, trust_types=True)
        yard.create_endpoint("slow-api", "slow@1", limits=Limits(max_batch=64, timeout_ms=3_000))
        yard.create_endpoint("slow-timeout", "slow@1", limits=Limits(timeout_ms=100))
    statuses: list[int] = []
    retry_after: list[str] = []

    with running_server(home, "--dev") as server:

        def call() -> None:
            with server.client() as client:
                rows = {"instances": X.iloc[:64].to_dict(orient="records")}
                response = client.post("/v1/endpoints/slow-api/predict", json=rows)
                statuses.append(response.status_code)
                if response.status_code == 503:
                    retry_after.append(response.headers.get("retry-after", ""))

        threads = [threading.Thread(target=call) for _ in range(12)]
        for thread in threads:
            thread.start()
        time.sleep(0.3)
        with server.client() as client:
            started = time.perf_counter()
            assert client.get("/health/live").status_code == 200
            assert time.perf_counter() - started < 0.25
            timed_out = client.post("/v1/endpoints/slow-timeout/predict", json=_row(X))
            assert timed_out.status_code == 504
            assert timed_out.json()["error"]["code"] == "timeout"
        for thread in threads:
            thread.join(timeout=60)
    assert statuses.count(200) >= 2
    assert statuses.count(503) >= 5
    assert all(int(seconds) >= 1 for seconds in retry_after)


def test_keys_and_scopes(tmp_path: Path, logreg, cancer) -> None:
    X, _ = cancer
    home = tmp_path / "home"
    with Yard(home) as yard:
        yard.register(logreg, "churn", sample=X)
        yard.create_endpoint("churn-api", "churn@1")
        yard.create_endpoint("other-api", "churn@1")
        _, predict = yard.create_key(["predict"], endpoint="churn-api")
        _, reader = yard.create_key(["read"])
        _, limited_reader = yard.create_key(["read"], endpoint="churn-api")
        revoked, gone = yard.create_key(["admin"])
        yard.revoke_key(revoked.id)
    with running_server(home) as server, server.client() as client:
        url = "/v1/endpoints/churn-api/predict"
        assert client.post(url, json=_row(X)).status_code == 401
        assert client.post(url, json=_row(X), headers={"X-API-Key": "myk_nope"}).status_code == 401
        assert (
            client.post(url, json=_row(X), headers={"Authorization": f"Bearer {gone}"}).status_code
            == 401
        )
        ok = client.post(url, json=_row(X), headers={"Authorization": f"Bearer {predict}"})
        assert ok.status_code == 200
        other = client.post(
            "/v1/endpoints/other-api/predict", json=_row(X), headers={"X-API-Key": predict}
        )
        assert (other.status_code, other.json()["error"]["code"]) == (403, "forbidden")
        assert client.post(url, json=_row(X), headers={"X-API-Key": reader}).status_code == 403
        assert client.get("/api/endpoints", headers={"X-API-Key": predict}).status_code == 403
        assert client.get("/api/endpoints", headers={"X-API-Key": reader}).status_code == 200
        limited_view = client.get("/api/endpoints", headers={"X-API-Key": limited_reader}).json()
        assert [e["name"] for e in limited_view] == ["churn-api"]
        huge = "myk_" + "x" * 1_000_000
        assert client.post(url, json=_row(X), headers={"X-API-Key": huge}).status_code == 401
        assert client.get("/openapi.json").status_code == 401
        assert client.get("/openapi.json", headers={"X-API-Key": reader}).status_code == 200
        assert client.get("/health/ready").status_code == 200
        assert client.get("/metrics").status_code == 200
    with (
        running_server(home, env={"MODELYARD_METRICS_SCOPE": "read"}) as server,
        server.client() as client,
    ):
        assert client.get("/metrics").status_code == 401
        assert client.get("/metrics", headers={"X-API-Key": reader}).status_code == 200


def test_dev_mode_is_refused_off_loopback(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from modelyard.cli.app import app

    result = CliRunner().invoke(
        app, ["--home", str(tmp_path / "h"), "serve", "--host", "0.0.0.0", "--dev"]
    )
    assert result.exit_code == 2
    assert "only allowed on a loopback address" in result.output


def test_sigterm_drains_then_exits_zero(tmp_path: Path, cancer) -> None:
    X, y = cancer
    home = tmp_path / "home"
    with Yard(home) as yard:
        yard.register(SlowClassifier(delay=1.0).fit(X, y), "slow", sample=X, trust_types=True)
        yard.create_endpoint("slow-api", "slow@1")
    results: list[int] = []
    with running_server(home, "--dev", env={"MODELYARD_DRAIN_SECONDS": "1"}) as server:

        def call() -> None:
            with server.client() as client:
                results.append(
                    client.post("/v1/endpoints/slow-api/predict", json=_row(X)).status_code
                )

        in_flight = threading.Thread(target=call)
        in_flight.start()
        time.sleep(0.3)
        os.killpg(server.process.pid, signal.SIGTERM)
        time.sleep(0.3)
        with server.client() as client:
            assert client.get("/health/ready").status_code == 503
        in_flight.join(timeout=30)
        assert server.process.wait(timeout=30) == 0
    assert results == [200]


def test_two_workers_share_a_port_and_both_follow_the_alias(tmp_path: Path, cancer) -> None:
    X, y = cancer
    home = tmp_path / "home"
    with Yard(home) as yard:
        for constant in (0, 1):
            yard.register(
                DummyClassifier(strategy="constant", constant=constant).fit(X, y), "churn", sample=X
            )
        yard.set_alias("churn", "production", 1)
        yard.create_endpoint("churn-api", "churn@production")
    no_keepalive = httpx.Limits(max_keepalive_connections=0)  # new connections: both workers
    with (
        running_server(home, "--dev", "--workers", "2", env=FAST_POLL) as server,
        server.client(limits=no_keepalive) as client,
    ):
        first = [client.post("/v1/endpoints/churn-api/predict", json=_row(X)) for _ in range(40)]
        assert {r.status_code for r in first} == {200}
        with Yard(home) as yard:
            yard.set_alias("churn", "production", 2)
        time.sleep(2.0)
        after = [
            client.post("/v1/endpoints/churn-api/predict", json=_row(X)).json()["version"]
            for _ in range(40)
        ]
        assert set(after) == {2}


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def _wait_until_full(client: httpx.Client, row: dict) -> None:
    """Return once the busy requests fill the queue, so no later request can be admitted.

    A fixed sleep raced the busy threads on a loaded CI machine: the test's own requests got
    the slots and each waited the model's full delay.
    """
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        # one request is in the model, the other waits: the queue (one row) is full
        if client.get("/api/endpoints/slow-api").json()["queued_rows"] >= 1:
            return
        time.sleep(0.05)
    raise AssertionError("the busy requests never filled the queue")


def test_rejected_load_keeps_memory_flat(tmp_path: Path, cancer) -> None:
    X, y = cancer
    home = tmp_path / "home"
    with Yard(home) as yard:
        yard.register(SlowClassifier(delay=0.0).fit(X, y), "slow", sample=X, trust_types=True)
        yard.create_endpoint("slow-api", "slow@1", limits=Limits(max_batch=1))
    # A request calls the model twice (labels and probabilities): 4 s each holds the queue
    # for 8 s while the ~1,100 rejections (about 4 s here) run, even on a loaded machine.
    # They ask for 1 ms, which the work queued ahead of them cannot meet.
    hurried = {"X-Modelyard-Deadline-Ms": "1"}
    with running_server(home, "--dev", env={"SLOW_MODEL_DELAY": "4"}) as server:
        busy = [
            threading.Thread(
                target=lambda: httpx.post(
                    f"{server.url}/v1/endpoints/slow-api/predict", json=_row(X), timeout=60
                )
            )
            for _ in range(2)
        ]
        for thread in busy:
            thread.start()
        with server.client() as client:
            _wait_until_full(client, _row(X))
            for _ in range(100):  # let allocator pools settle before measuring
                client.post("/v1/endpoints/slow-api/predict", json=_row(X), headers=hurried)
            before = _rss_mib(server.process.pid)
            statuses = Counter(
                client.post(
                    "/v1/endpoints/slow-api/predict", json=_row(X), headers=hurried
                ).status_code
                for _ in range(1000)
            )
            after = _rss_mib(server.process.pid)
        for thread in busy:
            thread.join(timeout=60)
    assert statuses == {503: 1000}
    assert after - before < 20, f"RSS grew from {before:.0f} to {after:.0f} MiB"


def test_rolling_back_within_the_grace_period_reuses_the_loaded_version(
    tmp_path: Path, logreg, forest, cancer
) -> None:
    X, _ = cancer
    home = tmp_path / "home"
    with Yard(home) as yard:
        yard.register(logreg, "churn", sample=X)
        yard.register(forest, "churn", sample=X)
        yard.set_alias("churn", "production", 1)
        yard.create_endpoint("churn-api", "churn@production")
    with running_server(home, "--dev", env=FAST_POLL) as server, server.client() as client:
        for target in (2, 1):
            with Yard(home) as yard:
                yard.set_alias("churn", "production", target)
            deadline = time.monotonic() + 10
            while (
                client.post("/v1/endpoints/churn-api/predict", json=_row(X)).json()["version"]
                != target
            ):
                assert time.monotonic() < deadline, server.logs()
                time.sleep(0.1)
        metrics = client.get("/metrics").text
        logs = server.logs()
    assert 'modelyard_model_load_seconds{version="churn@1"}' in metrics
    assert 'modelyard_model_load_seconds{version="churn@2"}' in metrics
    assert logs.count("loaded churn@1 in") == 1  # the rollback did not load it again
    assert "endpoint churn-api: churn@2 → churn@1" in logs


def test_queued_requests_finish_when_their_version_is_retired_at_once(
    tmp_path: Path, cancer
) -> None:
    X, y = cancer
    home = tmp_path / "home"
    with Yard(home) as yard:
        yard.register(SlowClassifier(delay=0.4).fit(X, y), "churn", sample=X, trust_types=True)
        yard.register(DummyClassifier(strategy="constant", constant=0).fit(X, y), "churn", sample=X)
        yard.set_alias("churn", "production", 1)
        yard.create_endpoint("churn-api", "churn@production", limits=Limits(max_batch=1))
    statuses: list[int] = []
    env = {**FAST_POLL, "MODELYARD_SWAP_GRACE_SECONDS": "0"}
    with running_server(home, "--dev", env=env) as server:

        def call() -> None:
            with server.client() as client:
                statuses.append(
                    client.post("/v1/endpoints/churn-api/predict", json=_row(X)).status_code
                )

        queued = [threading.Thread(target=call) for _ in range(5)]
        for thread in queued:
            thread.start()
        time.sleep(0.2)
        with Yard(home) as yard:
            yard.set_alias("churn", "production", 2)
        for thread in queued:
            thread.join(timeout=60)
        time.sleep(1.5)  # the retired version's grace (0 s) passes while nothing uses it
        with server.client() as client:
            assert (
                client.post("/v1/endpoints/churn-api/predict", json=_row(X)).json()["version"] == 2
            )
    assert statuses == [200] * 5
