"""serving/workers.py: a listening socket per worker, bound to one address."""

from __future__ import annotations

import os
import socket
import time

import pytest

from modelyard.serving.worker_process import NOT_STARTED, STOPPING
from modelyard.serving.workers import CHECK_SECONDS, Heartbeats, balanced, listening_sockets

pytestmark = pytest.mark.skipif(not balanced(), reason="no SO_REUSEPORT on this platform")


def _accept_all(listener: socket.socket) -> list[socket.socket]:
    listener.setblocking(False)
    taken = []
    while True:
        try:
            taken.append(listener.accept()[0])
        except BlockingIOError:
            return taken


def test_the_sockets_share_one_port_and_the_kernel_spreads_connections_over_them() -> None:
    sockets = listening_sockets("127.0.0.1", 0, 2)
    clients: list[socket.socket] = []
    accepted: list[list[socket.socket]] = []
    try:
        port = sockets[0].getsockname()[1]
        assert [s.getsockname()[1] for s in sockets] == [port, port]
        for sock in sockets:
            sock.listen(128)
        # Opened at once, as a load balancer opens its keep-alive connections.
        clients = [socket.create_connection(("127.0.0.1", port)) for _ in range(64)]
        accepted = [_accept_all(sock) for sock in sockets]
        counts = sorted(len(taken) for taken in accepted)
        assert sum(counts) == 64
        # By a hash of each caller's port: fewer than 12 of 64 on one has odds of ~1e-7.
        assert counts[0] >= 12, counts
    finally:
        for sock in [*clients, *sockets, *(s for taken in accepted for s in taken)]:
            sock.close()


def test_a_port_held_without_the_option_is_refused_and_nothing_is_left_open() -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen(1)
        port = holder.getsockname()[1]
        open_before = len(os.listdir("/proc/self/fd"))
        with pytest.raises(OSError, match="in use"):
            listening_sockets("127.0.0.1", port, 2)
        assert len(os.listdir("/proc/self/fd")) == open_before


@pytest.mark.timeout(120)
def test_a_worker_that_cannot_start_stops_the_server_with_status_3() -> None:
    import uvicorn

    from modelyard.serving.workers import Workers

    # (log_config None: the test session's logging is left as it is)
    config = uvicorn.Config("no_such_module_here:app", log_config=None)
    with pytest.raises(SystemExit) as stopped:
        Workers(config, "127.0.0.1", listening_sockets("127.0.0.1", 0, 2)).run()
    assert stopped.value.code == 3


def test_a_started_worker_silent_past_the_hang_time_is_named_and_no_other(monkeypatch) -> None:
    clock = [1000.0]
    monkeypatch.setattr(time, "monotonic", lambda: clock[0])
    heartbeats = Heartbeats(hang_seconds=5)
    # slots: 0 ticks, 1 is silent, 2 has not started, 3 is shutting down
    beats = [999.9, 999.9, NOT_STARTED, STOPPING]
    for step in range(1, 13):
        clock[0] += CHECK_SECONDS
        beats[0] = clock[0] - 0.05
        silent = heartbeats.hung(beats)
        if step * CHECK_SECONDS <= 5:
            assert silent == []
    assert [slot for slot, _ in silent] == [1]


def test_a_supervisor_paused_with_its_workers_does_not_kill_them_on_waking(
    monkeypatch,
) -> None:
    clock = [1000.0]
    monkeypatch.setattr(time, "monotonic", lambda: clock[0])
    heartbeats = Heartbeats(hang_seconds=5)
    beats = [999.9, 999.9]
    assert heartbeats.hung(beats) == []
    clock[0] += 60  # everything stopped (a paused container), then woken
    assert heartbeats.hung(beats) == []
    clock[0] += CHECK_SECONDS
    beats = [clock[0], clock[0]]  # they ticked once running again
    assert heartbeats.hung(beats) == []
