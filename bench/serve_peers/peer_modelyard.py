"""``modelyard serve`` from the project's .venv: one worker (monitoring on, or off for
``modelyard-1w-nomon``; with one native thread set outright for ``modelyard-1w-1t``, the
default on two cores too, so that row repeats modelyard-1w and shows the run's noise) or
two (``modelyard-2w``); v1 JSON, v2 binary and v2 gRPC."""

from __future__ import annotations

import json
import shutil
from typing import Any

from serve_peers.common import YARD_VENV, free_port, server_env
from serve_peers.kinds import Launch, PeerKind, Prepared


def launch(prepared: Prepared, peer: str) -> Launch:
    env = server_env()
    port = free_port()
    # A copy of the registered yard for each server: its prediction log starts empty, as
    # every other peer starts with nothing, and no window serves with the rows all the
    # earlier ones logged (a table logs millions).
    home = prepared.scratch / f"yard-{peer}-{port}"
    shutil.copytree(prepared.yard_home, home)
    command = [str(YARD_VENV / "bin" / "modelyard"), "--home", str(home)]
    command += ["serve", "--host", "127.0.0.1", "--port", str(port), "--dev"]
    if peer.startswith("modelyard-1w-nomon"):
        env["MODELYARD_MONITORING"] = "false"
    if peer.startswith("modelyard-1w-1t"):
        env["MODELYARD_NATIVE_THREADS"] = "1"
    if peer.startswith("modelyard-2w"):
        command += ["--workers", "2"]
    grpc_port = None
    if peer.endswith("-grpc"):
        grpc_port = free_port()
        command += ["--grpc-port", str(grpc_port)]
    route = "/v2/models/bench-api/infer" if peer.endswith("-bin") else None
    route = route or "/v1/endpoints/bench-api/predict"
    return Launch(
        command, env, prepared.scratch, "/health/ready", route, port, grpc_port, "bench-api"
    )


def body(frame: Any) -> bytes:
    return json.dumps({"instances": frame.to_dict(orient="records")}).encode()


def classes(payload: bytes) -> list[int]:
    return [int(v) for v in json.loads(payload)["predictions"]]


KIND = PeerKind(
    None,
    ("json", "bin", "grpc"),
    launch,
    body,
    classes,
    "endpoint defaults: max batch 1024 rows (at most ~20 ms of model time), max wait 5 ms",
)
