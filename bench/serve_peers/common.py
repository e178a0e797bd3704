"""What every part of the serving bench shares: paths, processes, HTTP helpers, /proc
sampling."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent.parent
ROOT = BENCH.parent
PEER_FILES = BENCH / "serve_peers"
APPS = PEER_FILES / "apps"
LUA = PEER_FILES / "post.lua"
GRPC_LOAD = PEER_FILES / "grpc_load.py"
RESULTS = BENCH / "results"
RESULTS_MD = BENCH / "RESULTS.md"
VENVS = BENCH / ".venvs"
YARD_VENV = ROOT / ".venv"
WRK = shutil.which("wrk") or "/usr/bin/wrk"
H2LOAD = shutil.which("h2load") or "/usr/bin/h2load"  # the gRPC load (grpc_load.py)
READY_TIMEOUT = 180
TICK = os.sysconf("SC_CLK_TCK")


def say(message: str) -> None:
    print(f"[serve] {message}", flush=True)


def tail(text: str, lines: int = 15) -> str:
    kept = [line[:300] for line in text.strip().splitlines() if line.strip()][-lines:]
    return "\n    " + "\n    ".join(kept) if kept else "(no output)"


class PeerError(RuntimeError):
    pass


def server_env(venv: Path | None = None) -> dict[str, str]:
    """This environment without anything that would steer a peer; default native threads."""
    dropped = ("MODELYARD_", "MLFLOW_", "MLSERVER_", "BENTOML_", "LITSERVE_", "PYTRITON_")
    threads = {"OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"}
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(dropped) and key not in {"PYTHONPATH", "VIRTUAL_ENV", *threads}
    }
    env["MLFLOW_DISABLE_TELEMETRY"] = "true"
    env["DO_NOT_TRACK"] = "true"  # BentoML and LitServe honour it too
    if venv is not None:
        # `mlflow models serve`, `mlserver start` and `bentoml serve` spawn executables on PATH.
        env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
        env["VIRTUAL_ENV"] = str(venv)
    return env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _stat_fields(pid: int) -> list[str] | None:
    """/proc/PID/stat after the command name: [0] state, [1] ppid, [2] pgrp, [11] utime."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8")
    except OSError:
        return None
    return raw[raw.rindex(")") + 2 :].split()


def _all_stats() -> dict[int, list[str]]:
    stats = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            fields = _stat_fields(int(entry))
            if fields is not None:
                stats[int(entry)] = fields
    return stats


def family(leader: int) -> list[int]:
    """The leader's process group and every descendant, wherever its group: a child that
    moved to a session of its own is still the server's."""
    stats = _all_stats()
    found = {pid for pid, f in stats.items() if int(f[2]) == leader}
    found.add(leader)
    grown = True
    while grown:
        grown = False
        for pid, f in stats.items():
            if pid not in found and int(f[1]) in found:
                found.add(pid)
                grown = True
    return sorted(pid for pid in found if pid in stats)


def group_cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        fields = _stat_fields(pid)
        if fields is not None:
            total += int(fields[11]) + int(fields[12])
    return total / TICK


def machine_busy_seconds() -> float:
    """Non-idle CPU seconds of the whole machine since boot (/proc/stat)."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return (sum(values[:8]) - idle) / TICK


def group_rss_mib(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text(encoding="utf-8").splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


@dataclass
class Server:
    peer: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path
    predict_path: str
    grpc_port: int | None = None
    model_name: str = "bench"
    # every process seen in the family so far: PID -> start time, so that a PID the kernel
    # has since given to another process is never signalled
    known: dict[int, str] = field(default_factory=dict)

    @property
    def leader(self) -> int:
        return self.process.pid  # started with start_new_session=True

    def pids(self) -> list[int]:
        current = family(self.leader) if self.process.poll() is None else []
        for pid in current:
            started = _start_time(pid)
            if started is not None:
                self.known.setdefault(pid, started)
        return current

    def still_ours(self) -> list[int]:
        """The PIDs seen in the family that still name the same processes."""
        return [pid for pid, started in self.known.items() if _start_time(pid) == started]

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


LIVE: list[Server] = []


def _start_time(pid: int) -> str | None:
    fields = _stat_fields(pid)
    return fields[19] if fields is not None else None  # field 22 of /proc/PID/stat


def _alive(pid: int) -> bool:
    fields = _stat_fields(pid)
    return fields is not None and fields[0] != "Z"


def stop(server: Server) -> None:
    """SIGTERM the process group and every process ever seen in the server's family (by PID:
    some peers leave children in other groups), SIGKILL whatever is left after 10 s."""
    server.pids()
    for sig, grace in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
        targets = server.still_ours()
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(server.leader, sig)
        for pid in targets:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, sig)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            server.process.poll()  # reap the leader
            if not [p for p in server.still_ours() if _alive(p)]:
                break
            time.sleep(0.05)
        else:
            continue
        break
    if server.process.poll() is None:
        server.process.wait(5)
    if server in LIVE:
        LIVE.remove(server)


def stop_all() -> None:
    for server in list(LIVE):
        stop(server)


def launch(
    peer: str,
    command: list[str],
    env: dict[str, str],
    cwd: Path,
    log: Path,
    ready: str,
    route: str,
    port: int,
    grpc_port: int | None = None,
    model_name: str = "bench",
) -> Server:
    """Start ``command`` in a session of its own and wait until ``ready`` answers 200."""
    with log.open("wb") as out:
        process = subprocess.Popen(
            command,
            cwd=cwd,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    server = Server(peer, port, process, log, route, grpc_port, model_name)
    LIVE.append(server)
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        server.pids()
        if process.poll() is not None:
            stop(server)
            raise PeerError(f"{peer} exited {process.returncode} at start: {tail(log.read_text())}")
        try:
            status, _ = http(server.url(ready), timeout=2)
            if status == 200:
                return server
        except OSError:
            pass
        time.sleep(0.2)
    stop(server)
    raise PeerError(f"{peer} not ready within {READY_TIMEOUT} s: {tail(log.read_text())}")


def http(url: str, body: bytes | None = None, timeout: float = 30.0) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=body, method="POST" if body else "GET")
    if body is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes, dict[str, str]]:
    """A POST with raw headers; status, body and the response's headers (names lower case)."""
    request = urllib.request.Request(url, data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read(), _lower(response.headers.items())
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), _lower(exc.headers.items())


def _lower(headers: Any) -> dict[str, str]:
    return {key.lower(): value for key, value in headers}
