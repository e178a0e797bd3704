"""``mlflow models serve`` of the model saved with ``mlflow.sklearn`` (apps/mlflow_save.py)."""

from __future__ import annotations

import json
from typing import Any

from serve_peers.common import free_port, server_env
from serve_peers.kinds import Launch, PeerKind, Prepared


def launch(prepared: Prepared, peer: str) -> Launch:
    venv = prepared.venvs["mlflow"]
    port = free_port()
    command = [str(venv / "bin" / "mlflow"), "models", "serve", "-m", str(prepared.mlflow_dir)]
    command += ["-h", "127.0.0.1", "-p", str(port), "--env-manager", "local", "-w", "1"]
    return Launch(command, server_env(venv), prepared.scratch, "/ping", "/invocations", port)


def body(frame: Any) -> bytes:
    split = {"columns": list(frame.columns), "data": frame.to_numpy(dtype=float).tolist()}
    return json.dumps({"dataframe_split": split}).encode()


def classes(payload: bytes) -> list[int]:
    return [int(v) for v in json.loads(payload)["predictions"]]


KIND = PeerKind("mlflow", ("json",), launch, body, classes, "one worker, no batching")
