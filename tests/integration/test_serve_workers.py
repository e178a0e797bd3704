"""``serve --workers 2``: connections opened at once reach both workers, a worker that dies
is replaced (callers go to the other meanwhile), and the supervisor's signals."""

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


def _churn_home(home: Path, logreg, cancer) -> Path:
    with Yard(home) as yard:
        yard.register(logreg, "churn", sample=cancer[0])
        yard.create_endpoint("churn-api", "churn@1")
    return home


@pytest.fixture(scope="module")
def two_workers(tmp_path_factory: pytest.TempPathFactory, logreg, cancer) -> Iterator[Server]:
    home = _churn_home(tmp_path_factory.mktemp("workers"), logreg, cancer)
    # Connections held open while they are counted must not be closed as idle meanwhile.
    env = {"MODELYARD_KEEP_ALIVE_SECONDS": "600"}
    with running_server(home, "--dev", "--workers", "2", env=env) as server:
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


def _posts_each_on_a_new_connection(port: int, body: bytes, count: int = 24) -> list[int]:
    statuses = []
    for _ in range(count):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        try:
            statuses.append(_post(connection, body))
        finally:
            connection.close()
    return statuses


def _wait_for_line(server: Server, text: str, timeout: float = 60) -> None:
    """Until ``text`` is in the server's log (each line is written once what it says is
    done)."""
    deadline = time.monotonic() + timeout
    while text not in server.logs():
        assert time.monotonic() < deadline, server.logs()
        time.sleep(0.05)


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


def test_a_killed_worker_is_replaced_and_callers_meanwhile_go_to_the_other(
    two_workers: Server, cancer
) -> None:
    port = _port(two_workers)
    victim, survivor = _listening_workers(two_workers, 2)
    os.kill(victim, signal.SIGKILL)
    _wait_for_line(two_workers, f"worker [{victim}] ended (exit code -9); worker [")
    # Its socket is closed: new callers reach the survivor, not a queue for the replacement.
    assert _posts_each_on_a_new_connection(port, _body(cancer)) == [200] * 24
    replaced = _listening_workers(two_workers, 2)
    assert survivor in replaced
    assert victim not in replaced


def test_a_hangup_is_logged_and_ignored(two_workers: Server, cancer) -> None:
    workers = sorted(_listening_workers(two_workers, 2))
    os.kill(two_workers.process.pid, signal.SIGHUP)
    _wait_for_line(two_workers, "SIGHUP ignored by the supervisor")
    connection = http.client.HTTPConnection("127.0.0.1", _port(two_workers), timeout=60)
    try:
        assert _post(connection, _body(cancer)) == 200
    finally:
        connection.close()
    assert two_workers.process.poll() is None
    assert sorted(_listening_workers(two_workers, 2)) == workers


def test_workers_end_with_their_supervisor_even_when_it_is_killed(
    tmp_path: Path, logreg, cancer
) -> None:
    _churn_home(tmp_path, logreg, cancer)
    with running_server(tmp_path, "--dev", "--workers", "2") as server:
        workers = [psutil.Process(pid) for pid in _listening_workers(server, 2)]
        os.kill(server.process.pid, signal.SIGKILL)  # no chance to stop them itself
        server.process.wait(timeout=30)
        deadline = time.monotonic() + 60
        while any(_running(worker) for worker in workers):
            assert time.monotonic() < deadline, server.logs()
            time.sleep(0.2)


def _running(process: psutil.Process) -> bool:
    """Not ended (a zombie is ended: only its exit status waits to be read)."""
    try:
        return process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_a_worker_whose_loop_stops_turning_is_killed_and_replaced(
    tmp_path: Path, logreg, cancer
) -> None:
    _churn_home(tmp_path, logreg, cancer)
    env = {"MODELYARD_WORKER_HANG_SECONDS": "5"}
    with running_server(tmp_path, "--dev", "--workers", "2", env=env) as server:
        frozen, survivor = _listening_workers(server, 2)
        os.kill(frozen, signal.SIGSTOP)  # its socket would keep taking its share of callers
        _wait_for_line(server, f"worker [{frozen}] ended (exit code -9); worker [")
        assert f"worker [{frozen}]: its event loop has not run for" in server.logs()
        replaced = _listening_workers(server, 2)
        assert survivor in replaced
        assert frozen not in replaced
        assert not psutil.pid_exists(frozen)
        assert _posts_each_on_a_new_connection(_port(server), _body(cancer)) == [200] * 24
