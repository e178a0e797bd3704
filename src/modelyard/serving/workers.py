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

A worker that ends is replaced on a fresh socket, and its own is closed at once: new
callers go to the workers still up instead of queueing for one that is starting (a
replacement takes connections once it listens, after its startup). What was queued on the
dead worker's socket when it died is reset, as what it had accepted is. A worker whose
event loop stops turning (frozen, or blocked by a bug) would keep its share of new
connections, where with a shared socket the others took them: each worker's loop stamps
a shared clock on uvicorn's tick (ten times a second, once started), and one silent for
``MODELYARD_WORKER_HANG_SECONDS`` is killed and replaced.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import multiprocessing
import signal
import socket
import sys
import time
from multiprocessing.connection import wait
from multiprocessing.context import SpawnProcess
from types import FrameType
from typing import Any

log = logging.getLogger("uvicorn.error")  # set up by uvicorn's Config in every process
STARTUP_FAILURE = 3  # uvicorn's exit status for a worker that could not start serving
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
# What uvicorn's supervisor caught and we do not act on: logged, never the default action
# (HUP, USR1, USR2 would end the supervisor and leave its workers running).
IGNORED_SIGNALS = tuple(
    getattr(signal, name)
    for name in ("SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGTTIN", "SIGTTOU", "SIGWINCH")
    if hasattr(signal, name)
)
CHECK_SECONDS = 0.5  # the longest a signal waits to be acted on
TERMINATE_SECONDS = 5.0  # after a failure of the supervisor itself: SIGTERM, then SIGKILL
_PR_SET_PDEATHSIG = 1

multiprocessing.allow_connection_pickling()  # the socket goes to a spawned process
_SPAWN = multiprocessing.get_context("spawn")  # a fresh interpreter: no forked threads


def balanced() -> bool:
    """Whether this platform spreads connections over sockets sharing a port."""
    return sys.platform.startswith("linux") and hasattr(socket, "SO_REUSEPORT")


def listening_sockets(host: str, port: int, count: int) -> list[socket.socket]:
    """``count`` sockets bound to ``host:port`` with SO_REUSEPORT (port 0: the port the
    first one got); each worker's server starts listening on its own."""
    sockets: list[socket.socket] = []
    try:
        for _ in range(count):
            sockets.append(_bound(host, port))
            port = sockets[-1].getsockname()[1]
    except OSError:
        for sock in sockets:
            sock.close()
        raise
    return sockets


def _bound(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def _serve_one(config: Any, sock: socket.socket, beat: Any) -> None:
    """A worker process: uvicorn's server on its own socket, its loop stamping ``beat``
    (a shared double: ``time.monotonic()``, one clock for every process on Linux), ended
    with the supervisor."""
    import uvicorn

    class BeatingServer(uvicorn.Server):
        async def on_tick(self, counter: int) -> bool:
            beat.value = time.monotonic()  # the loop turned
            should_exit: bool = await super().on_tick(counter)
            if should_exit:
                beat.value = -1.0  # shutting down: its drain is not a hang
            return should_exit

    # Linux: SIGTERM when the supervisor dies (even by SIGKILL), so no worker outlives it.
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    config.configure_logging()  # logging is set up again in each spawned process
    # uvicorn re-raises the SIGINT it shut down for: no traceback from every worker.
    with contextlib.suppress(KeyboardInterrupt):
        BeatingServer(config).run(sockets=[sock])


class Workers:
    """Starts one process per socket, starts another (on a fresh socket) when one ends,
    unless it failed before serving (then every worker would: the server stops with
    status 3), and on SIGINT or SIGTERM lets every worker shut down gracefully."""

    def __init__(
        self, config: Any, host: str, sockets: list[socket.socket], hang_seconds: float = 30.0
    ) -> None:
        self.config = config  # a uvicorn.Config, pickled into each worker
        self.host = host
        self.sockets = sockets
        self.hang_seconds = hang_seconds
        self.processes: list[SpawnProcess] = []
        self.beats: list[Any] = []  # each worker's last tick (0: not started yet)
        self._signal: int | None = None  # the stop signal received (set by the handler)

    def run(self) -> None:
        handlers = {sig: self._on_stop for sig in STOP_SIGNALS}
        handlers.update({sig: self._on_other for sig in IGNORED_SIGNALS})
        previous = {sig: signal.signal(sig, handler) for sig, handler in handlers.items()}
        failed = False
        try:
            for index in range(len(self.sockets)):
                self.processes.append(self._start(index))
            host, port = self.sockets[0].getsockname()[:2]
            shown = f"[{host}]" if ":" in host else host
            log.info(
                "Uvicorn running on http://%s:%d with %d workers", shown, port, len(self.sockets)
            )
            while self._signal is None and not failed:
                # Wakes when a worker ends, or to look at the signal flag.
                wait([process.sentinel for process in self.processes], CHECK_SECONDS)
                self._kill_hung()
                failed = self._replace_ended()
            if self._signal is not None:
                log.info("%s received: stopping the workers", signal.Signals(self._signal).name)
            self._stop_all(graceful=True)
        except BaseException:
            self._stop_all(graceful=False)
            raise
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            for sock in self.sockets:
                sock.close()
        if failed:
            raise SystemExit(STARTUP_FAILURE)

    def _start(self, index: int) -> SpawnProcess:
        """Start the worker of socket ``index`` (its beat reset: not judged until it ticks)."""
        beat = _SPAWN.Value("d", 0.0, lock=False)
        if index < len(self.beats):
            self.beats[index] = beat
        else:
            self.beats.append(beat)
        process = _SPAWN.Process(target=_serve_one, args=(self.config, self.sockets[index], beat))
        process.start()
        return process

    def _kill_hung(self) -> None:
        """SIGKILL each started worker whose loop has not ticked for ``hang_seconds``
        (replaced by :meth:`_replace_ended` like any worker that ended)."""
        now = time.monotonic()
        for process, beat in zip(self.processes, self.beats, strict=True):
            last = beat.value
            if last > 0 and now - last > self.hang_seconds and process.is_alive():
                log.error(
                    "worker [%s]: its event loop has not run for %.0f s; killing it",
                    process.pid,
                    now - last,
                )
                process.kill()
                process.join()

    def _replace_ended(self) -> bool:
        """Replace each worker that ended; ``True`` when one failed before serving."""
        for index, process in enumerate(self.processes):
            if process.is_alive() or self._signal is not None:
                continue
            process.join()
            if process.exitcode == STARTUP_FAILURE:
                log.error("worker [%s] failed to start; stopping the server", process.pid)
                return True
            log.warning(
                "worker [%s] ended (exit code %s); starting another on a fresh socket",
                process.pid,
                process.exitcode,
            )
            port = self.sockets[index].getsockname()[1]
            self.sockets[index].close()  # no new caller waits for the replacement's startup
            self.sockets[index] = _bound(self.host, port)
            self.processes[index] = self._start(index)
        return False

    def _stop_all(self, graceful: bool) -> None:
        """SIGTERM every worker (uvicorn's graceful shutdown) and wait for it; when the
        supervisor itself failed, SIGKILL what has not ended after ``TERMINATE_SECONDS``."""
        for process in self.processes:
            if process.is_alive():
                process.terminate()
        for process in self.processes:
            process.join(None if graceful else TERMINATE_SECONDS)
            if process.is_alive():
                process.kill()
                process.join()

    def _on_stop(self, signum: int, frame: FrameType | None) -> None:
        # Only a flag: a lock taken here could be the one the interrupted code holds.
        self._signal = signum

    def _on_other(self, signum: int, frame: FrameType | None) -> None:
        log.warning("%s ignored by the supervisor", signal.Signals(signum).name)
