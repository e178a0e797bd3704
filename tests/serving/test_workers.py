"""serving/workers.py: a listening socket per worker, bound to one address."""

from __future__ import annotations

import os
import socket

import pytest

from modelyard.serving.workers import balanced, listening_sockets

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


def test_a_worker_that_cannot_start_stops_the_server_with_status_3() -> None:
    import uvicorn

    from modelyard.serving.workers import Workers

    config = uvicorn.Config("no_such_module_here:app", log_level="critical")
    with pytest.raises(SystemExit) as stopped:
        Workers(config, "127.0.0.1", listening_sockets("127.0.0.1", 0, 2)).run()
    assert stopped.value.code == 3
