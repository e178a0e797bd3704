"""Starting a peer, checking its answers, and one measured load window (wrk, or
grpc_load.py for gRPC) with the server's CPU and the rest of the machine's."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from pathlib import Path
from typing import Any

from serve_peers.common import (
    GRPC_LOAD,
    LUA,
    WRK,
    YARD_VENV,
    PeerError,
    Server,
    group_cpu_seconds,
    group_rss_mib,
    http,
    launch,
    machine_busy_seconds,
    post,
    tail,
)
from serve_peers.kinds import Prepared
from serve_peers.peers import kind_of, protocol_of
from serve_peers.protocols import binary_body, binary_predictions, grpc_body, grpc_predictions

CHECK_ROWS = 100


def start(peer: str, prepared: Prepared) -> Server:
    spec = kind_of(peer).launch(prepared, peer)
    log = prepared.scratch / f"{peer}-{prepared.model}-{spec.port}.log"
    return launch(
        peer,
        spec.command,
        spec.env,
        spec.cwd,
        log,
        spec.ready,
        spec.route,
        spec.port,
        spec.grpc_port,
        spec.model_name,
    )


def body_for(peer: str, frame: Any, model_name: str) -> tuple[bytes, int | None]:
    """One request of ``frame``'s rows in the peer's form; the JSON header's length for a
    binary v2 body."""
    form = protocol_of(peer)
    if form == "bin":
        return binary_body(frame)
    if form == "grpc":
        return grpc_body(frame, model_name), None
    return kind_of(peer).body(frame), None


def check(server: Server, frame: Any, expected: list[int]) -> None:
    """The peer's predictions equal the in-process model's, before any timing."""
    if server.peer == "naive":
        cases = [(frame.iloc[[i]], expected[i : i + 1]) for i in range(10)]
    else:
        cases = [(frame.iloc[[0]], expected[:1]), (frame.head(CHECK_ROWS), expected[:CHECK_ROWS])]
    for rows, wanted in cases:
        got = answer_of(server, rows)
        if got != wanted:
            raise PeerError(f"{server.peer}: predictions differ from the model's: {got[:10]}…")


def answer_of(server: Server, rows: Any) -> list[int]:
    """The peer's predictions for ``rows``, over the peer's protocol."""
    peer = server.peer
    body, length = body_for(peer, rows, server.model_name)
    form = protocol_of(peer)
    if form == "grpc":
        try:
            return grpc_predictions(f"127.0.0.1:{server.grpc_port}", body)
        except Exception as exc:  # grpc.RpcError, or an answer without the output
            raise PeerError(f"{peer}: check call failed: {tail(str(exc))}") from None
    if form == "bin":
        headers = {"Inference-Header-Content-Length": str(length)}
        status, payload, answered = post(server.url(server.predict_path), body, headers)
        if status != 200:
            raise PeerError(f"{peer}: check request answered {status}: {payload[:300]!r}")
        return binary_predictions(answered, payload)
    status, payload = http(server.url(server.predict_path), body)
    if status != 200:
        raise PeerError(f"{peer}: check request answered {status}: {payload[:300]!r}")
    return kind_of(peer).classes(payload)


def drive(
    url: str, body: Path, connections: int, seconds: float, header_length: int | None = None
) -> dict[str, Any]:
    """wrk on ``url`` (or grpc_load.py on ``grpc://host:port``) for ``seconds``: its
    BENCH_JSON summary."""
    if url.startswith("grpc://"):
        target = url.removeprefix("grpc://")
        python = YARD_VENV / "bin" / "python"
        command = [str(python if python.exists() else sys.executable), str(GRPC_LOAD), target]
        command += [str(body), str(connections), str(max(1, round(seconds)))]
    else:
        command = [WRK, "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s"]
        command += ["--timeout", "10s", "-s", str(LUA), url]
    env = dict(os.environ, BENCH_BODY=str(body))
    if header_length is not None:
        env["BENCH_HEADER_LENGTH"] = str(header_length)
    done = subprocess.run(
        command, capture_output=True, text=True, env=env, timeout=seconds + 60, check=False
    )
    for line in done.stdout.splitlines():
        if line.startswith("BENCH_JSON "):
            loaded: dict[str, Any] = json.loads(line.removeprefix("BENCH_JSON "))
            return loaded
    raise PeerError(f"load failed (exit {done.returncode}): {tail(done.stdout + done.stderr)}")


def target_of(server: Server) -> str:
    if server.grpc_port is not None and protocol_of(server.peer) == "grpc":
        return f"grpc://127.0.0.1:{server.grpc_port}"
    return server.url(server.predict_path)


def window(
    server: Server,
    body: Path,
    rows: int,
    connections: int,
    seconds: float,
    warmup: float,
    header_length: int | None = None,
) -> dict[str, Any]:
    url = target_of(server)
    if warmup > 0:
        drive(url, body, connections, warmup, header_length)
    if server.process.poll() is not None:
        raise PeerError(f"{server.peer} died: {tail(server.log.read_text())}")
    pids = server.pids()
    cpu_before = group_cpu_seconds(pids)
    busy_before = machine_busy_seconds()
    load_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = drive(url, body, connections, seconds, header_length)
    cpu = group_cpu_seconds(pids) - cpu_before
    busy = machine_busy_seconds() - busy_before
    load_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    load_cpu = load_after.ru_utime - load_before.ru_utime + load_after.ru_stime
    load_cpu -= load_before.ru_stime
    return summary(out, rows, cpu, busy, load_cpu, group_rss_mib(server.pids()))


def summary(
    out: dict[str, Any], rows: int, cpu: float, busy: float, load_cpu: float, rss: float
) -> dict[str, Any]:
    duration = out["duration_us"] / 1e6
    errors = out["connect"] + out["read"] + out["write"] + out["timeout"]
    ok = max(out["requests"] - out["non_2xx"], 0)
    # No answer within the window: wrk's percentiles are zeros, not latencies.
    answered = out["requests"] > 0
    return {
        "req_s": ok / duration,
        "rows_s": ok * rows / duration,
        "p50_ms": out["p50_us"] / 1000 if answered else None,
        "p99_ms": out["p99_us"] / 1000 if answered else None,
        "max_ms": out["max_us"] / 1000 if answered else None,
        "requests": out["requests"],
        "non_2xx": out["non_2xx"],
        "socket_errors": errors,
        "cpu_ms_per_req": 1000 * cpu / out["requests"] if out["requests"] else None,
        "cpu_s": cpu,
        "rss_mib": rss,
        "load_cpu_s": load_cpu,
        # CPU the rest of the machine used meanwhile (other processes): contamination check.
        "other_cpu_s": max(busy - cpu - load_cpu, 0.0),
        "seconds": duration,
    }
