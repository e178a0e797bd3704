"""``serve --workers 2``: connections opened at once reach both workers, and a worker that
dies is replaced on its own socket without a connection refused meanwhile."""

from __future__ import annotations

import http.client
import json
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from tests.integration.serving_fixtures import Server, running_server

from modelyard import Yard
from modelyard.serving.workers import balanced

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not balanced(), reason="a socket per worker needs Linux's SO_REUSEPORT"),
]
ROUTE = "/v1/endpoints/churn-api/predict"


@pytest.fixture(scope="module")
def two_workers(tmp_path_factory: pytest.TempPathFactory, logreg, cancer) -> Iterator[Server]:
    X, _ = cancer
    home = tmp_path_factory.mktemp("workers")
    with Yard(home) as yard:
        yard.register(logreg, "churn", sample=X)
        yard.create_endpoint("churn-api", "churn@1")
    with running_server(home, "--dev", "--workers", "2") as server:
        _listening_workers(server, 2)
        yield server


def _port(server: Server) -> int:
    return int(server.url.rsplit(":", 1)[1])


def _listening_workers(server: Server, count: int, timeout: float = 60) -> list[int]:
    """The pids of ``count`` workers once each listens on the server's port."""
    port = _port(server)
    deadline = time.monotonic() + timeout
    while True:
        listening = []
        for worker in psutil.Process(server.process.pid).children():  # (and spawn's tracker)
            try:
                sockets = worker.net_connections(kind="tcp")
            except psutil.Error:
                continue  # ended meanwhile
            if any(s.status == psutil.CONN_LISTEN and s.laddr.port == port for s in sockets):
                listening.append(worker.pid)
        if len(listening) == count:
            return listening
        assert time.monotonic() < deadline, (listening, server.logs())
        time.sleep(0.2)


def _post(connection: http.client.HTTPConnection, body: bytes) -> int:
    headers = {"content-type": "application/json"}
    connection.request("POST", ROUTE, body=body, headers=headers)
    answer = connection.getresponse()
    answer.read()
    return answer.status


def _body(cancer) -> bytes:
    X, _ = cancer
    return json.dumps({"instances": X.head(1).to_dict("records")}).encode()


def test_connections_opened_at_once_are_spread_over_both_workers(
    two_workers: Server, cancer
) -> None:
    port = _port(two_workers)
    connections = [http.client.HTTPConnection("127.0.0.1", port, timeout=60) for _ in range(48)]
    try:
        for connection in connections:
            connection.connect()  # all open before any request, as a balancer's pool
        assert [_post(c, _body(cancer)) for c in connections] == [200] * 48
        held = []
        for pid in _listening_workers(two_workers, 2):
            sockets = psutil.Process(pid).net_connections(kind="tcp")
            held.append(
                sum(s.status == psutil.CONN_ESTABLISHED and s.laddr.port == port for s in sockets)
            )
        # Spread by a hash of each caller's port: fewer than 8 of 48 on one has odds ~1e-6.
        assert sum(held) == 48, held
        assert min(held) >= 8, held
    finally:
        for connection in connections:
            connection.close()


def test_a_killed_worker_is_replaced_on_its_socket_and_no_caller_is_refused(
    two_workers: Server, cancer
) -> None:
    port = _port(two_workers)
    victim, survivor = _listening_workers(two_workers, 2)
    os.kill(victim, signal.SIGKILL)
    # Callers arriving while it is down: those hashed to its socket wait in its queue for
    # the worker that replaces it.
    statuses = []
    for _ in range(24):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        try:
            statuses.append(_post(connection, _body(cancer)))
        finally:
            connection.close()
    assert statuses == [200] * 24
    replaced = _listening_workers(two_workers, 2)
    assert survivor in replaced
    assert victim not in replaced
    logs = Path(two_workers.log).read_text(errors="replace")
    assert f"worker [{victim}] ended (exit code -9); starting another on its socket" in logs
