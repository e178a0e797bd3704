"""The FastAPI app every tutorial shows (apps/naive_app.py): one row per request only."""

from __future__ import annotations

import json
from typing import Any

from serve_peers.common import APPS, free_port, server_env
from serve_peers.kinds import Launch, PeerKind, Prepared


def launch(prepared: Prepared, peer: str) -> Launch:
    venv = prepared.venvs["naive"]
    env = server_env(venv)
    env["BENCH_MODEL"] = str(prepared.joblib_file)
    port = free_port()
    command = [str(venv / "bin" / "uvicorn"), "naive_app:app", "--app-dir", str(APPS)]
    command += ["--host", "127.0.0.1", "--port", str(port)]
    return Launch(command, env, prepared.scratch, "/docs", "/predict", port)


def body(frame: Any) -> bytes:
    rows = frame.to_numpy(dtype=float)
    assert len(rows) == 1, "the naive app takes one row"
    return json.dumps({"features": rows[0].tolist()}).encode()


def classes(payload: bytes) -> list[int]:
    return [int(json.loads(payload)["prediction"])]


KIND = PeerKind(
    "naive-fastapi", ("json",), launch, body, classes, "uvicorn defaults, sync route, one row"
)
