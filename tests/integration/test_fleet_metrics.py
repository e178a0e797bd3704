"""``serve --workers 2`` scraped as Prometheus would: totals over both workers, bounded
label values, a series per worker process, and every metric the generated rules and
dashboards name."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample
from tests.integration.serving_fixtures import Server, running_server

from modelyard import Yard
from modelyard.deploy.dashboards import dashboard, expressions, metric_names
from modelyard.deploy.observability import RULES, observability_files
from modelyard.domain.endpoints import Limits

pytestmark = pytest.mark.slow
NO_KEEPALIVE = httpx.Limits(max_keepalive_connections=0)  # each call a new connection
REQUESTS = 60


MONITOR_FAST = {
    "MODELYARD_MONITOR_BUCKET_SECONDS": "2",
    "MODELYARD_MONITOR_FLUSH_SECONDS": "0.2",
    "MODELYARD_MONITOR_REFRESH_SECONDS": "0.3",
}


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory, logreg, forest, cancer) -> Iterator[Server]:
    """Two workers; churn-api serves, broken-api's only version is corrupted on disk."""
    X, y = cancer
    home = tmp_path_factory.mktemp("fleet")
    with Yard(home) as yard:
        # a holdout and a segmenting feature: the rules and dashboards read the estimated
        # quality and the per-segment gauges too
        yard.register(logreg, "churn", sample=X, holdout=(X, y))
        yard.create_endpoint("churn-api", "churn@1", segment_by=["mean radius"])
        broken = yard.register(forest, "broken", sample=X)
        yard.create_endpoint("broken-api", "broken@1")
    blob = next((home / "artifacts" / "blobs").rglob(broken.file("model.skops").sha256))
    blob.write_bytes(b"tampered")
    with running_server(home, "--dev", "--workers", "2", env=MONITOR_FAST) as server:
        # ready is one worker's word: wait until both have loaded churn-api (their queue
        # limits add up), or the requests could all go to the first one up
        deadline = time.monotonic() + 60
        while queue_limit(server) != 2 * Limits().queue_rows:
            assert time.monotonic() < deadline, server.logs()
            time.sleep(0.2)
        yield server


def samples(server: Server) -> list[Sample]:
    with server.client(limits=NO_KEEPALIVE) as client:
        text = client.get("/metrics").text
    return [s for family in text_string_to_metric_families(text) for s in family.samples]


def answered(server: Server) -> float:
    return sum(
        s.value
        for s in samples(server)
        if s.name == "modelyard_requests_total" and s.labels["endpoint"] == "churn-api"
    )


def test_every_scrape_counts_the_requests_of_both_workers(fleet: Server, cancer) -> None:
    X, _ = cancer
    row = {"instances": X.iloc[:1].to_dict(orient="records")}
    before = answered(fleet)
    with fleet.client(limits=NO_KEEPALIVE) as client:
        for _ in range(REQUESTS):
            assert client.post("/v1/endpoints/churn-api/predict", json=row).status_code == 200
    # new connections: the scrapes land on either worker, and each must see every request
    assert [answered(fleet) - before for _ in range(6)] == [REQUESTS] * 6
    latency = [
        s
        for s in samples(fleet)
        if s.name == "modelyard_request_duration_seconds_count"
        and s.labels["endpoint"] == "churn-api"
    ]
    assert [s.value for s in latency] == [before + REQUESTS]


def test_each_worker_has_its_resource_series(fleet: Server) -> None:
    resources = [s for s in samples(fleet) if s.name.startswith("modelyard_process_")]
    names = {s.name for s in resources}
    assert names == {
        "modelyard_process_cpu_seconds_total",
        "modelyard_process_resident_memory_bytes",
        "modelyard_process_open_fds",
        "modelyard_process_threads",
    }
    memory = [s for s in resources if s.name == "modelyard_process_resident_memory_bytes"]
    assert sorted(s.labels["role"] for s in memory) == ["supervisor", "worker", "worker"]
    assert all(s.value > 10 * 2**20 for s in memory)
    assert {s.labels["pid"] for s in memory if s.labels["role"] == "supervisor"} == {
        str(fleet.process.pid)
    }
    [model] = [s for s in samples(fleet) if s.name == "modelyard_model_memory_bytes"]
    assert model.labels == {"version": "churn@1"}
    assert model.value >= 0


def test_a_thousand_bogus_endpoint_names_add_no_series(fleet: Server) -> None:
    def bogus(client: httpx.Client, i: int) -> None:
        client.post(f"/v1/endpoints/bogus-{i}/predict", json={"instances": [{}]})
        client.post(f"/v2/models/bogus-{i}/infer", json={"inputs": []})

    def unknown() -> set[tuple[str, tuple[tuple[str, str], ...]]]:
        """The series unknown names are counted under (only ``endpoint="unknown"`` ones).
        The rest of the page is not compared: on a busy machine a worker still loading
        when the first page is read adds its own series (its model's, its batches') by
        the second, whichever requests came."""
        return {
            (s.name, tuple(sorted(s.labels.items())))
            for s in samples(fleet)
            if s.labels.get("endpoint") == "unknown"
        }

    with fleet.client() as client:
        for i in range(5):
            bogus(client, i)
        before = unknown()
        for i in range(5, 1005):
            bogus(client, i)
    after = samples(fleet)
    assert before
    assert unknown() == before
    assert not [s for s in after if any("bogus" in value for value in s.labels.values())]
    assert {s.labels.get("endpoint") for s in after} == {None, "churn-api", "broken-api", "unknown"}


def test_a_killed_worker_leaves_its_counts_and_its_place(fleet: Server, cancer) -> None:
    """The counter total survives the worker (its file stays); its live gauges and its
    resource series go once the supervisor has started a new one."""
    total, capacity = answered(fleet), queue_limit(fleet)
    workers = {
        s.labels["pid"]
        for s in samples(fleet)
        if s.name == "modelyard_process_threads" and s.labels["role"] == "worker"
    }
    victim = sorted(workers)[0]
    os.kill(int(victim), signal.SIGKILL)
    deadline = time.monotonic() + 60
    limits = []
    while time.monotonic() < deadline:
        try:
            now = samples(fleet)
        except httpx.HTTPError:  # the dying worker's connection
            continue
        pids = {
            s.labels["pid"]
            for s in now
            if s.name == "modelyard_process_threads" and s.labels["role"] == "worker"
        }
        limits += [s.value for s in now if s.name == "modelyard_queue_limit_rows"]
        if len(pids) == 2 and victim not in pids and limits[-1] == capacity:
            break
        time.sleep(0.5)
    else:
        raise AssertionError(f"worker {victim} was not replaced:\n{fleet.logs()}")
    assert answered(fleet) == total
    # summed over live workers: never the dead one's beside its successor's
    assert max(limits) == capacity


def queue_limit(server: Server) -> float:
    return sum(s.value for s in samples(server) if s.name == "modelyard_queue_limit_rows")


def test_every_metric_the_rules_and_dashboards_read_is_exported(fleet: Server, cancer) -> None:
    X, y = cancer
    with fleet.client() as client:
        feedback = []
        for start in range(0, 400, 20):
            part = X.iloc[start : start + 20]
            answer = client.post(
                "/v1/endpoints/churn-api/predict", json={"instances": part.to_dict("records")}
            ).json()
            feedback += [
                {"prediction_id": pid, "actual": int(truth)}
                for pid, truth in zip(
                    answer["prediction_ids"], y.iloc[start : start + 20], strict=True
                )
            ]
        sent = client.post("/v1/endpoints/churn-api/feedback", json={"feedback": feedback})
        assert sent.status_code == 200, sent.text
        row = X.iloc[0].to_dict()
        del row["mean radius"]  # a refusal, so the refused share has a rule to report
        refused = client.post("/v1/endpoints/churn-api/predict", json={"instances": [row]})
        assert refused.status_code == 422, refused.text
    wanted = set()
    for expr in every_expression():
        wanted |= metric_names(expr)
    wanted -= {"up"}  # written by Prometheus itself for every scrape target
    deadline = time.monotonic() + 30
    while True:
        missing = wanted - {s.name for s in samples(fleet)}
        if not missing or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert missing == set()
    assert len(wanted) > 15


def every_expression() -> list[str]:
    rules = yaml.safe_load(observability_files()[RULES])
    exprs = [rule["expr"] for group in rules["groups"] for rule in group["rules"]]
    return exprs + [e for per in (False, True) for e in expressions(dashboard(per))]


def test_the_shared_folder_is_private_to_the_server_and_removed_at_exit(
    tmp_path: Path, logreg, cancer
) -> None:
    X, _ = cancer
    home = tmp_path / "home"
    with Yard(home) as yard:
        yard.register(logreg, "churn", sample=X)
        yard.create_endpoint("churn-api", "churn@1")
    stale = tmp_path / "stale"  # an inherited folder must not be merged from
    stale.mkdir()
    env = {"PROMETHEUS_MULTIPROC_DIR": str(stale), "MODELYARD_DRAIN_SECONDS": "0.2"}
    with running_server(home, "--dev", "--workers", "2", env=env) as server:
        [worker, *_] = [
            s.labels["pid"]
            for s in samples(server)
            if s.name == "modelyard_process_threads" and s.labels["role"] == "worker"
        ]
        environ = Path(f"/proc/{worker}/environ").read_bytes().split(b"\0")
        [folder] = [
            Path(v.split(b"=", 1)[1].decode())
            for v in environ
            if v.startswith(b"PROMETHEUS_MULTIPROC_DIR=")
        ]
        assert folder != stale
        assert sorted(p.name for p in stale.iterdir()) == []
        assert any(folder.glob("counter_*.db"))
        server.process.send_signal(signal.SIGTERM)
        assert server.process.wait(timeout=60) == 0
    assert not folder.exists()
