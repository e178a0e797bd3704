"""One bench run: build the peers' virtualenvs, fit and prepare the models, then per run
(peers interleaved, order rotated) start each peer, check it, drive its cells, stop it; and
measure the combined ceiling's two parts in the same run."""

from __future__ import annotations

import datetime as dt
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from registry import machine

from serve_peers import ceiling, models
from serve_peers.common import H2LOAD, WRK, PeerError, say, stop
from serve_peers.kinds import Prepared
from serve_peers.load import check, start, window
from serve_peers.peers import KINDS, PEERS, YARD, base_of, kind_of, measured, protocol_of
from serve_peers.report import cells_of, fmt, targets
from serve_peers.venvs import REPORTED, ensure_venv, installed, shared_pins, venv_pins


@dataclass
class Plan:
    mode: str
    runs: int
    seconds: float
    warmup: float
    models: list[str]
    cells: list[tuple[int, int]]  # (rows, c)
    skip: list[str]
    command: str

    @property
    def concurrency(self) -> list[int]:
        return sorted({c for _, c in self.cells})

    @property
    def rows(self) -> list[int]:
        return sorted({rows for rows, _ in self.cells})


def virtualenvs(
    plan: Plan, problems: dict[str, str]
) -> tuple[dict[str, Path], dict[str, list[str]]]:
    venvs: dict[str, Path] = {}
    pins: dict[str, list[str]] = {"modelyard (project .venv)": shared_pins()}
    for base, kind in KINDS.items():
        if kind.venv is None or base in venvs:
            continue
        if all(p in plan.skip for p in PEERS if base_of(p) == base):
            continue
        venv, problem = ensure_venv(kind.venv)
        if venv is None:
            problems[base] = problem or "unavailable"
            say(f"{base.upper()} UNAVAILABLE: {problem}")
            continue
        venvs[base] = venv
        pins[base] = venv_pins(kind.venv)
        got = installed(venv, REPORTED[kind.venv])
        pins[f"{base} (installed)"] = [f"{k}=={v}" for k, v in got.items()]
    return venvs, pins


def run(plan: Plan) -> dict[str, Any]:
    say(f"machine: {machine()}")
    if not Path(WRK).exists():
        raise SystemExit("wrk not found: `make wrk` installs it")
    grpc_planned = any(protocol_of(p) == "grpc" for p in PEERS if p not in plan.skip)
    if grpc_planned and not Path(H2LOAD).exists():
        raise SystemExit("h2load not found: `make h2load` installs it (the gRPC load)")
    began = time.perf_counter()
    problems: dict[str, str] = {}
    venvs, pins = virtualenvs(plan, problems)
    windows: list[dict[str, Any]] = []
    ceilings: list[dict[str, Any]] = []
    peers: list[str] = []
    with tempfile.TemporaryDirectory(prefix="modelyard-serve-bench-") as tmp:
        scratch = Path(tmp)
        say(f"fitting {', '.join(plan.models)} on breast cancer")
        frame, files = models.train(scratch, plan.models)
        prepared: dict[str, Prepared] = {}
        for model in plan.models:
            prepared[model], failed = models.prepare(model, files[model], frame, venvs, scratch)
            for base, why in failed.items():
                problems[base] = why
                say(f"{base.upper()} UNAVAILABLE: {why}")
        peers = [
            p
            for p in PEERS
            if p not in plan.skip
            and base_of(p) not in problems
            and (kind_of(p).venv is None or base_of(p) in venvs)
        ]
        say(f"peers: {', '.join(peers)}; {estimate(plan, peers) / 60:.0f} minutes or so")
        for run_index in range(plan.runs):
            order = peers[run_index % len(peers) :] + peers[: run_index % len(peers)]
            for model in plan.models:
                if YARD not in order:
                    ceilings.append(measure_ceiling(plan, prepared[model], run_index))
                for peer in order:
                    if peer == YARD:  # the ceiling's parts just before the window judged
                        # against them: the host's speed moves ~2x within minutes
                        ceilings.append(measure_ceiling(plan, prepared[model], run_index))
                    windows += measure_peer(plan, peer, prepared[model], run_index, problems)
    cells = cells_of(windows)
    figures = ceiling.figures(windows, ceilings)
    return {
        "benchmark": "serve",
        "mode": plan.mode,
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "command": plan.command,
        "machine": machine(),
        "elapsed_s": time.perf_counter() - began,
        "models": plan.models,
        "rows": plan.rows,
        "concurrency": plan.concurrency,
        "cells_measured": [list(cell) for cell in plan.cells],
        "runs": plan.runs,
        "seconds": plan.seconds,
        "warmup": plan.warmup,
        "notes": {
            base.split("-")[0]: kind.note
            for base, kind in KINDS.items()
            if kind.note and any(base_of(p) == base for p in peers)
        },
        "pins": pins,
        "problems": problems,
        "ceiling_runs": ceilings,
        "ceiling": figures,
        "targets": targets(cells, figures),
        "cells": cells,
        "windows": windows,
    }


def estimate(plan: Plan, peers: list[str]) -> float:
    cells = sum(1 for p in peers for rows, c in plan.cells if measured(p, rows, c))
    per_model = cells * (plan.seconds + plan.warmup + 0.7) + 20 * len(peers)  # start, stop
    ceiling = 3 * (plan.seconds + plan.warmup + 5)  # trivial apps: HTTP 1 and 2 workers, gRPC
    return plan.runs * len(plan.models) * (per_model + ceiling)


def measure_ceiling(plan: Plan, prepared: Prepared, run_index: int) -> dict[str, Any]:
    body = prepared.bodies[(YARD, 1)]
    http = ceiling.trivial_http(body, plan.seconds, plan.warmup, prepared.scratch)
    http_2w = ceiling.trivial_http(body, plan.seconds, plan.warmup, prepared.scratch, workers=2)
    grpc_body = prepared.bodies.get((f"{YARD}-grpc", 1))
    grpc = None
    if grpc_body is not None and f"{YARD}-grpc" not in plan.skip:
        grpc = ceiling.trivial_grpc(grpc_body, plan.seconds, plan.warmup, prepared.scratch)
    model = models.in_process(prepared.joblib_file, prepared.frame)
    rows_s = model["proba_64_rows_s"]
    say(
        f"run {run_index + 1} {prepared.model:6} ceiling: trivial ASGI app {http['req_s']:,.0f} "
        f"req/s at c={ceiling.CEILING_C} (p99 {http['p99_ms']:.1f} ms, other cpu "
        f"{http['other_cpu_s']:.1f} s); predict_proba 64 rows {model['proba_64_ms']:.3f} ms = "
        f"{rows_s:,.0f} rows/s; combined {ceiling.combined(http['req_s'], rows_s):,.0f} req/s; "
        f"trivial app with two workers {http_2w['req_s']:,.0f} req/s"
        + (f"; trivial gRPC server {grpc['req_s']:,.0f} req/s" if grpc else "")
    )
    return {
        "run": run_index,
        "model": prepared.model,
        "http": http,
        "http_2w": http_2w,
        "grpc": grpc,
        "in_process": model,
    }


def measure_peer(
    plan: Plan, peer: str, prepared: Prepared, run_index: int, problems: dict[str, str]
) -> list[dict[str, Any]]:
    cells = [(rows, c) for rows, c in plan.cells if measured(peer, rows, c)]
    windows = []
    started = time.perf_counter()
    try:
        server = start(peer, prepared)
        startup = time.perf_counter() - started
        try:
            check(server, prepared.frame, prepared.expected)
            say(f"{peer}: ready in {startup:.1f} s, predictions identical to the model's")
            for rows, c in cells:
                body = prepared.bodies[(peer, rows)]
                length = prepared.header_lengths.get((peer, rows))
                w = window(server, body, rows, c, plan.seconds, plan.warmup, length)
                w.update(run=run_index, model=prepared.model, peer=peer, rows=rows, c=c)
                w["startup_s"] = startup
                windows.append(w)
                say(
                    f"run {run_index + 1} {prepared.model:6} {peer:18} rows={rows:<3} c={c:<2} "
                    f"{w['req_s']:8,.0f} req/s  p50 {fmt(w['p50_ms'], 2):>7}  p99 "
                    f"{fmt(w['p99_ms'], 1):>7} ms  cpu {fmt(w['cpu_ms_per_req'], 2)} ms/req  "
                    f"non2xx {w['non_2xx']} requests {w['requests']} "
                    f"err {w['socket_errors']}  other cpu {w['other_cpu_s']:.1f} s"
                )
        finally:
            stop(server)
    except PeerError as exc:
        say(f"{peer} FAILED on {prepared.model} in run {run_index + 1}: {exc}")
        problems[f"{peer} ({prepared.model}, run {run_index + 1})"] = str(exc)
    return windows
