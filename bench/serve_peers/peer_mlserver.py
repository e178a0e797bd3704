"""Seldon MLServer + mlserver-sklearn with adaptive batching (64 requests / 5 ms)."""

from __future__ import annotations

import json
from pathlib import Path

from serve_peers.common import APPS, free_port, server_env
from serve_peers.kinds import Launch, PeerKind, Prepared
from serve_peers.protocols import v2_json_body, v2_json_classes


def folder(prepared: Prepared, port: int, grpc_port: int) -> Path:
    where = prepared.scratch / f"mlserver-{prepared.model}-{port}"
    where.mkdir()
    settings = json.loads((APPS / "mlserver-settings.json").read_text(encoding="utf-8"))
    settings.update(http_port=port, grpc_port=grpc_port, metrics_port=free_port())
    model = json.loads((APPS / "mlserver-model-settings.json").read_text(encoding="utf-8"))
    model["parameters"]["uri"] = str(prepared.joblib_file)
    (where / "settings.json").write_text(json.dumps(settings, indent=2), encoding="utf-8")
    (where / "model-settings.json").write_text(json.dumps(model, indent=2), encoding="utf-8")
    return where


def launch(prepared: Prepared, peer: str) -> Launch:
    venv = prepared.venvs["mlserver"]
    port, grpc_port = free_port(), free_port()
    where = folder(prepared, port, grpc_port)
    command = [str(venv / "bin" / "mlserver"), "start", str(where)]
    ready, route = "/v2/models/bench/ready", "/v2/models/bench/infer"
    return Launch(command, server_env(venv), where, ready, route, port, grpc_port)


KIND = PeerKind(
    "mlserver",
    ("json", "bin", "grpc"),
    launch,
    v2_json_body,
    v2_json_classes,
    "max_batch_size 64, max_batch_time 5 ms, one worker",
)
