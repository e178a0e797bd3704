"""The combined ceiling of issue 20, measured in the bench's own run: what a server that paid
only the HTTP stack's cost and the model's would answer.

- HTTP: apps/trivial_app.py under the project's uvicorn (uvloop + httptools, no access log,
  as modelyard serves), answering modelyard's one-row JSON body at c=64 (wrk, as the peers);
- model: ``predict_proba`` on 64-row batches in process (models.in_process), rows/s;
- combined = 1 / (1/http + 1/model) one-row requests/s, and modelyard's one-row c=64
  req/s as a share of it: each run's window against that run's ceiling, the median over
  the runs where neither ran while other processes used the CPU;
- the trivial app with two uvicorn workers too: how far two workers can scale on this
  machine at all when the load generator shares its cores (the bound on issue 20's
  "two workers >= 1.7x one worker");
- gRPC's floor: apps/trivial_grpc.py, the asyncio gRPC server modelyard uses
  (pygrpc-native's front) answering fixed bytes, under the gRPC cells' load (h2load, c=64,
  modelyard's one-row request): what modelyard's gRPC cannot pass here.
"""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

from serve_peers.common import APPS, YARD_VENV, free_port, launch, server_env, stop
from serve_peers.load import window

CEILING_C = 64
BUSY_CPU_S = 1.0  # other processes' CPU in a window past which it is not a quiet one
PEER = "trivial-asgi"
GRPC_PEER = "trivial-grpc"  # its "-grpc" suffix sends the load to its gRPC port


def trivial_http(
    body: Path, seconds: float, warmup: float, scratch: Path, workers: int = 1
) -> dict[str, Any]:
    """One wrk window on the trivial app: the same shape of figures as a peer's window."""
    port = free_port()
    command = [str(YARD_VENV / "bin" / "uvicorn"), "trivial_app:app", "--app-dir", str(APPS)]
    command += ["--host", "127.0.0.1", "--port", str(port), "--loop", "uvloop"]
    command += ["--http", "httptools", "--lifespan", "off", "--no-access-log"]
    command += ["--log-level", "warning", "--workers", str(workers)]
    log = scratch / f"{PEER}-{port}.log"
    server = launch(PEER, command, server_env(), scratch, log, "/", "/", port)
    try:
        return window(server, body, 1, CEILING_C, seconds, warmup)
    finally:
        stop(server)


def trivial_grpc(body: Path, seconds: float, warmup: float, scratch: Path) -> dict[str, Any]:
    """One gRPC window on the trivial gRPC server: the same shape of figures as a peer's."""
    port, grpc_port = free_port(), free_port()
    command = [str(YARD_VENV / "bin" / "python"), str(APPS / "trivial_grpc.py")]
    command += [str(grpc_port), str(port)]
    log = scratch / f"{GRPC_PEER}-{port}.log"
    server = launch(GRPC_PEER, command, server_env(), scratch, log, "/", "/", port, grpc_port)
    try:
        return window(server, body, 1, CEILING_C, seconds, warmup)
    finally:
        stop(server)


def combined(http_req_s: float, model_rows_s: float) -> float:
    return 1 / (1 / http_req_s + 1 / model_rows_s)


def figures(windows: list[dict[str, Any]], ceilings: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians over runs of the two parts and the combined ceiling; modelyard's share is the
    median of each run's own share (its window against that run's ceiling) over the runs
    measured quietly, so a ceiling measured while the host was busy does not decide it."""
    out: dict[str, Any] = {}
    for model in sorted({c["model"] for c in ceilings}):
        mine = [c for c in ceilings if c["model"] == model]
        http = statistics.median(c["http"]["req_s"] for c in mine)
        rows = statistics.median(c["in_process"]["proba_64_rows_s"] for c in mine)
        two = [c["http_2w"]["req_s"] for c in mine if c.get("http_2w")]
        grpc_floor = [c["grpc"]["req_s"] for c in mine if c.get("grpc")]
        yard = {
            w["run"]: w
            for w in windows
            if (w["model"], w["peer"], w["rows"], w["c"]) == (model, "modelyard-1w", 1, 64)
        }
        runs = run_shares(mine, yard)
        quiet = [r["share"] for r in runs if r["quiet"]]
        out[model] = {
            "http_req_s": http,
            "model_rows_s": rows,
            "combined_req_s": combined(http, rows),
            "modelyard_req_s": statistics.median(w["req_s"] for w in yard.values())
            if yard
            else None,
            "share": statistics.median(quiet or [r["share"] for r in runs]) if runs else None,
            "run_shares": runs,
            "http_2w_scale": statistics.median(two) / http if two and http else None,
            "grpc_floor_req_s": statistics.median(grpc_floor) if grpc_floor else None,
            "runs": len(mine),
        }
    return out


def run_shares(
    ceilings: list[dict[str, Any]], yard: dict[int, dict[str, Any]]
) -> list[dict[str, Any]]:
    """Each run's share of its own ceiling; ``quiet``: neither its trivial app's window nor
    modelyard's ran while other processes used more than ``BUSY_CPU_S``."""
    shares = []
    for run in ceilings:
        window = yard.get(run["run"])
        if window is None:
            continue
        ceiling = combined(run["http"]["req_s"], run["in_process"]["proba_64_rows_s"])
        busy = max(run["http"].get("other_cpu_s") or 0, window.get("other_cpu_s") or 0)
        shares.append(
            {
                "run": run["run"],
                "share": window["req_s"] / ceiling,
                "modelyard_req_s": window["req_s"],
                "combined_req_s": ceiling,
                "quiet": busy <= BUSY_CPU_S,
            }
        )
    return shares
