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

The supervisor closes its copy of a socket once the worker holds it, so a worker's socket
leaves the port's group as soon as the worker closes it (shutting down) or dies: new callers
go to the workers still up (what was queued on a dead worker's socket is reset, as what it
had accepted is). A worker that ends is replaced on a fresh socket, which takes callers
once the replacement listens, after its startup. A worker whose event loop stops turning
would keep its share of new connections, where with a shared socket the others took them:
each worker's loop stamps a shared clock ten times a second once started
(worker_process.py), and one silent for ``MODELYARD_WORKER_HANG_SECONDS`` is killed and
replaced.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import socket
import sys
import time
from dataclasses import dataclass
from multiprocessing.connection import wait
from multiprocessing.context import SpawnProcess
from types import FrameType
from typing import Any

from modelyard.serving.worker_process import NOT_STARTED, serve_one

log = logging.getLogger("uvicorn.error")  # set up by uvicorn's Config in every process
STARTUP_FAILURE = 3  # the server's exit status when a worker could not start serving
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
# Caught by uvicorn's supervisor (HUP restarts, TTIN/TTOU resize); here logged and
# ignored, never their default action (HUP, USR1, USR2 would end the supervisor).
LOGGED_SIGNALS = tuple(
    getattr(signal, name)
    for name in ("SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGWINCH")
    if hasattr(signal, name)
)
QUIET_SIGNALS = tuple(  # ignored without a word: writing to a terminal may raise them again
    getattr(signal, name) for name in ("SIGTTIN", "SIGTTOU") if hasattr(signal, name)
)
CHECK_SECONDS = 0.5  # the longest a signal waits to be acted on
STOP_MARGIN_SECONDS = 10.0  # past the workers' own shutdown cap: SIGKILL

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


class Heartbeats:
    """Which workers' loops have stopped turning: a worker's beat unchanged for
    ``hang_seconds`` of the supervisor's own running time. A supervisor that was itself
    paused (a paused container, Ctrl+Z, a swap storm) starts counting again: its workers
    were paused with it, and may be about to tick."""

    def __init__(self, hang_seconds: float) -> None:
        self.hang_seconds = hang_seconds
        self._seen: dict[int, tuple[float, float]] = {}  # slot → (beat, when it changed)
        self._checked = time.monotonic()

    def hung(self, beats: list[float]) -> list[tuple[int, float]]:
        """(slot, seconds silent) of each started worker silent for too long."""
        now = time.monotonic()
        paused = now - self._checked > max(4 * CHECK_SECONDS, self.hang_seconds / 2)
        self._checked = now
        silent = []
        for slot, beat in enumerate(beats):
            last, since = self._seen.get(slot, (None, now))
            if beat != last or paused:  # (a replacement's first beat, 0, is a change too)
                self._seen[slot] = (beat, now)
            elif beat > NOT_STARTED and now - since > self.hang_seconds:
                silent.append((slot, now - since))
        return silent


@dataclass
class _Worker:
    """One slot's worker process, and the clock its loop stamps (shared with it)."""

    process: SpawnProcess
    beat: Any  # a multiprocessing double
    killed: bool = False  # SIGKILLed for silence, not reaped yet


class Workers:
    """Starts one process per socket, starts another (on a fresh socket) when one ends,
    unless it ended by itself before it ever served (then every worker would: the server
    stops with status 3), kills one whose loop has stopped turning, and on SIGINT or
    SIGTERM lets every worker shut down gracefully (SIGKILL ``STOP_MARGIN_SECONDS`` past
    ``stop_seconds``)."""

    def __init__(
        self,
        config: Any,
        host: str,
        sockets: list[socket.socket],
        hang_seconds: float = 30.0,
        stop_seconds: float = 30.0,
    ) -> None:
        self.config = config  # a uvicorn.Config, pickled into each worker
        self.host = host
        self.port = sockets[0].getsockname()[1]
        self.sockets = sockets  # the first workers'; each is closed here once its worker has it
        self.stop_seconds = stop_seconds
        self.workers: list[_Worker] = []  # by slot
        self._heartbeats = Heartbeats(hang_seconds)
        self._signal: int | None = None  # the stop signal received (set by the handler)
        self._other_signals: list[int] = []  # to log

    def run(self) -> None:
        handlers: dict[int, Any] = {sig: self._on_stop for sig in STOP_SIGNALS}
        handlers.update({sig: self._on_other for sig in LOGGED_SIGNALS})
        handlers.update({sig: signal.SIG_IGN for sig in QUIET_SIGNALS})
        previous = {sig: signal.signal(sig, handler) for sig, handler in handlers.items()}
        failed = False
        try:
            for sock in self.sockets:
                self.workers.append(self._start(sock))
            shown = f"[{self.host}]" if ":" in self.host else self.host
            log.info(
                "Uvicorn running on http://%s:%d with %d workers",
                shown,
                self.port,
                len(self.workers),
            )
            while self._signal is None and not failed:
                # Wakes when a worker ends, or to look at the signals and the beats.
                wait([worker.process.sentinel for worker in self.workers], CHECK_SECONDS)
                self._log_other_signals()
                self._kill_hung()
                failed = self._replace_ended()
            if self._signal is not None:
                log.info("%s received: stopping the workers", signal.Signals(self._signal).name)
            self._stop_all(self.stop_seconds + STOP_MARGIN_SECONDS)
        except BaseException:
            self._stop_all(STOP_MARGIN_SECONDS)
            raise
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            for sock in self.sockets:
                sock.close()  # (those not started yet: closing twice does nothing)
        if failed:
            raise SystemExit(STARTUP_FAILURE)

    def _start(self, sock: socket.socket) -> _Worker:
        """A worker on ``sock``; this process's copy is closed (the child has its own from
        its start)."""
        beat = _SPAWN.Value("d", NOT_STARTED, lock=False)
        process = _SPAWN.Process(target=serve_one, args=(self.config, sock, beat, os.getpid()))
        process.start()
        sock.close()
        return _Worker(process, beat)

    def _kill_hung(self) -> None:
        """SIGKILL each started worker whose loop has not ticked for the hang time (then
        replaced by :meth:`_replace_ended`, like any worker that ended)."""
        for slot, seconds in self._heartbeats.hung([w.beat.value for w in self.workers]):
            worker = self.workers[slot]
            if worker.killed or not worker.process.is_alive():
                continue
            worker.process.kill()  # not joined: a process in an uninterruptible call ends later
            worker.killed = True
            log.error(
                "worker [%s]: its event loop has not run for %.0f s; killed",
                worker.process.pid,
                seconds,
            )

    def _replace_ended(self) -> bool:
        """Replace each worker that ended; ``True`` when one ended by itself before it
        ever served (it could not start: uvicorn exits 3, 1 or 0 for that by version)."""
        for slot, worker in enumerate(self.workers):
            process = worker.process
            if process.is_alive() or self._signal is not None:
                continue
            process.join()
            code = process.exitcode
            if worker.beat.value == NOT_STARTED and code is not None and code >= 0:
                log.error(
                    "worker [%s] exited (%s) before it served; stopping the server",
                    process.pid,
                    code,
                )
                return True
            self.workers[slot] = self._start(_bound(self.host, self.port))
            log.warning(
                "worker [%s] ended (exit code %s); worker [%s] started on a fresh socket",
                process.pid,
                code,
                self.workers[slot].process.pid,
            )
        return False

    def _stop_all(self, seconds: float) -> None:
        """SIGTERM every worker (uvicorn's graceful shutdown, which the app caps) and wait
        for them, ``seconds`` at most; then SIGKILL."""
        processes = [worker.process for worker in self.workers]
        for process in processes:
            if process.is_alive():
                process.terminate()
        deadline = time.monotonic() + seconds
        for process in processes:
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                log.error("worker [%s] did not stop in %.0f s; killed", process.pid, seconds)
                process.kill()
                process.join()

    def _log_other_signals(self) -> None:
        while self._other_signals:
            name = signal.Signals(self._other_signals.pop(0)).name
            log.warning("%s ignored by the supervisor", name)

    def _on_stop(self, signum: int, frame: FrameType | None) -> None:
        # Only a flag: a lock taken here could be the one the interrupted code holds.
        self._signal = signum

    def _on_other(self, signum: int, frame: FrameType | None) -> None:
        self._other_signals.append(signum)
