"""A real ``modelyard serve`` process on a free port, over a yard prepared for the tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]
    home: Path
    log: Path

    def client(self, **kwargs: object) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30, **kwargs)  # type: ignore[arg-type]

    def logs(self) -> str:
        return self.log.read_text(errors="replace")


@contextmanager
def running_server(
    home: Path,
    *args: str,
    env: dict[str, str] | None = None,
    ready_timeout: float = 60,
    wait_ready: bool = True,
) -> Iterator[Server]:
    """``wait_ready=False``: yield once the process answers at all (for tests of servers
    that are meant never to become ready)."""
    port = free_port()
    log = home / f"server-{port}.log"
    environment = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "modelyard.cli",
                "--home",
                str(home),
                "serve",
                "--port",
                str(port),
                *args,
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=environment,
            start_new_session=True,
        )
    server = Server(f"http://127.0.0.1:{port}", process, home, log)
    try:
        deadline = time.monotonic() + ready_timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"server exited with {process.returncode}:\n{server.logs()}")
            try:
                probe = "/health/ready" if wait_ready else "/health/live"
                if httpx.get(f"{server.url}{probe}", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"server not ready in {ready_timeout}s:\n{server.logs()}")
            time.sleep(0.1)
        yield server
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)


def run_cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``modelyard --home HOME ARGS`` as a user types it, in a fresh process."""
    return subprocess.run(
        [sys.executable, "-m", "modelyard.cli", "--home", str(home), *args],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=120,
    )
