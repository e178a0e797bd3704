"""LitServe serving apps/litserve_app.py: max_batch_size 64, batch_timeout 5 ms, one worker.
Its four child processes outlive a SIGTERM of the main process (seen: reparented to PID 1):
common.stop signals the whole group and every PID it saw in the family."""

from __future__ import annotations

import json
from typing import Any

from serve_peers.common import APPS, free_port, server_env
from serve_peers.kinds import Launch, PeerKind, Prepared


def launch(prepared: Prepared, peer: str) -> Launch:
    venv = prepared.venvs["litserve"]
    env = server_env(venv)
    env["BENCH_MODEL"] = str(prepared.joblib_file)
    port = free_port()
    command = [str(venv / "bin" / "python"), str(APPS / "litserve_app.py"), str(port)]
    return Launch(command, env, prepared.scratch, "/health", "/predict", port)


def body(frame: Any) -> bytes:
    return json.dumps({"instances": frame.to_numpy(dtype=float).tolist()}).encode()


def classes(payload: bytes) -> list[int]:
    return [int(v) for v in json.loads(payload)["predictions"]]


KIND = PeerKind(
    "litserve",
    ("json",),
    launch,
    body,
    classes,
    "max_batch_size 64 requests, batch_timeout 5 ms, workers_per_device 1",
)
