"""BentoML serving apps/bentoml_service.py: adaptive batching, max batch 64, one worker."""

from __future__ import annotations

import json
from typing import Any

from serve_peers.common import APPS, free_port, server_env
from serve_peers.kinds import Launch, PeerKind, Prepared


def launch(prepared: Prepared, peer: str) -> Launch:
    venv = prepared.venvs["bentoml"]
    env = server_env(venv)
    env["BENCH_MODEL"] = str(prepared.joblib_file)
    env["BENTOML_DO_NOT_TRACK"] = "True"
    env["BENTOML_HOME"] = str(prepared.scratch / "bentoml-home")
    port = free_port()
    command = [str(venv / "bin" / "bentoml"), "serve", "bentoml_service:Bench"]
    command += ["--working-dir", str(APPS), "--host", "127.0.0.1", "--port", str(port)]
    return Launch(command, env, prepared.scratch, "/readyz", "/predict", port)


def body(frame: Any) -> bytes:
    return json.dumps({"rows": frame.to_numpy(dtype=float).tolist()}).encode()


def classes(payload: bytes) -> list[int]:
    return [int(v) for v in json.loads(payload)]


KIND = PeerKind(
    "bentoml",
    ("json",),
    launch,
    body,
    classes,
    "batchable=True, max_batch_size 64 rows, max_latency_ms 1000 (a refusal age), workers=1",
)
