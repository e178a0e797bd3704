"""Several worker processes, each accepting on a listening socket of its own.

uvicorn's ``--workers`` share one listening socket: the worker whose loop wakes first
accepts every connection waiting, so a client that opens its keep-alive connections at
once (a load balancer, a sidecar, a load generator) can land all of them on one worker
while the others idle: measured with wrk's 64 connections and two workers, every one of
them went to one worker in some runs, and two workers answered what one does. Here each
worker listens on a socket of its own, all bound to the same address with SO_REUSEPORT,
and the kernel spreads new connections over them by a hash of the caller's address and
port. Elsewhere than on Linux (macOS has the option but gives every connection to one of
the sockets), uvicorn's own supervisor runs the workers as before.

The supervisor keeps every socket open, so connections that reach a worker while it is
restarted wait in its socket's queue for the worker that replaces it (not refused).
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import socket
import sys
import threading
from multiprocessing.context import SpawnProcess
from types import FrameType
from typing import Any

log = logging.getLogger(__name__)
CHECK_SECONDS = 0.5  # how often dead workers are looked for
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)

multiprocessing.allow_connection_pickling()  # the socket goes to a spawned process
_SPAWN = multiprocessing.get_context("spawn")  # a fresh interpreter: no forked threads


def balanced() -> bool:
    """Whether this platform spreads connections over sockets sharing a port."""
    return sys.platform.startswith("linux") and hasattr(socket, "SO_REUSEPORT")


def listening_sockets(host: str, port: int, count: int) -> list[socket.socket]:
    """``count`` sockets bound to ``host:port`` with SO_REUSEPORT (port 0: the port the
    first one got); each worker's server starts listening on its own."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sockets: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            sock.bind((host, port))
            port = sock.getsockname()[1]
            sock.set_inheritable(True)
    except OSError:
        for sock in sockets:
            sock.close()
        raise
    return sockets


def _serve_one(config: Any, sock: socket.socket) -> None:
    """A worker process: uvicorn's server on its own socket."""
    import uvicorn

    config.configure_logging()  # logging is set up again in each spawned process
    uvicorn.Server(config).run(sockets=[sock])


class Workers:
    """Starts one process per socket, starts another on a socket whose process ended
    (unless it failed before serving: then every worker would, and the server stops), and
    on SIGINT or SIGTERM lets every worker shut down gracefully."""

    def __init__(self, config: Any, sockets: list[socket.socket]) -> None:
        self.config = config  # a uvicorn.Config, pickled into each worker
        self.sockets = sockets
        self.processes: list[SpawnProcess] = []
        self._stop = threading.Event()
        self.failed = False  # a worker failed before serving

    def run(self) -> None:
        previous = {sig: signal.signal(sig, self._on_signal) for sig in STOP_SIGNALS}
        try:
            self.processes = [self._start(sock) for sock in self.sockets]
            address = self.sockets[0].getsockname()
            log.info(
                "%d workers on %s:%d, each accepting on a socket of its own",
                len(self.processes),
                address[0],
                address[1],
            )
            while not self._stop.wait(CHECK_SECONDS):
                self._replace_ended()
            for process in self.processes:
                if process.is_alive():
                    process.terminate()  # SIGTERM: uvicorn's graceful shutdown
            for process in self.processes:
                process.join()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            for sock in self.sockets:
                sock.close()
        if self.failed:
            from uvicorn.config import STARTUP_FAILURE

            raise SystemExit(STARTUP_FAILURE)

    def _start(self, sock: socket.socket) -> SpawnProcess:
        process = _SPAWN.Process(target=_serve_one, args=(self.config, sock))
        process.start()
        return process

    def _replace_ended(self) -> None:
        from uvicorn.config import STARTUP_FAILURE

        for index, process in enumerate(self.processes):
            if process.is_alive() or self._stop.is_set():
                continue
            process.join()
            if process.exitcode == STARTUP_FAILURE:
                log.error("worker [%s] failed to start; stopping the server", process.pid)
                self.failed = True
                self._stop.set()
                return
            log.warning(
                "worker [%s] ended (exit code %s); starting another on its socket",
                process.pid,
                process.exitcode,
            )
            self.processes[index] = self._start(self.sockets[index])

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        log.info("%s received: stopping the workers", signal.Signals(signum).name)
        self._stop.set()
