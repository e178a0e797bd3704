"""NVIDIA Triton through PyTriton (apps/pytriton_app.py): KServe v2 over HTTP (JSON and
binary tensors) and gRPC, DynamicBatcher 5 ms, preferred batch 64, one model instance."""

from __future__ import annotations

import sysconfig

from serve_peers.common import APPS, free_port, server_env
from serve_peers.kinds import Launch, PeerKind, Prepared
from serve_peers.protocols import v2_json_body, v2_json_classes


def launch(prepared: Prepared, peer: str) -> Launch:
    venv = prepared.venvs["pytriton"]
    env = server_env(venv)
    # Triton's bundled Python backend links libpython: point it at this interpreter's own
    # (the virtualenv's base), not the system's.
    libdir = str(sysconfig.get_config_var("LIBDIR") or "")
    env["LD_LIBRARY_PATH"] = ":".join(p for p in (libdir, env.get("LD_LIBRARY_PATH")) if p)
    port, grpc_port = free_port(), free_port()
    command = [str(venv / "bin" / "python"), str(APPS / "pytriton_app.py"), prepared.model]
    command += [str(port), str(grpc_port), str(free_port()), str(prepared.proba_file)]
    command.append(str(prepared.scratch / f"pytriton-{port}"))  # Triton's copy, removed after
    ready, route = "/v2/models/bench/ready", "/v2/models/bench/infer"
    return Launch(command, env, prepared.scratch, ready, route, port, grpc_port)


KIND = PeerKind(
    "pytriton",
    ("json", "bin", "grpc"),
    launch,
    v2_json_body,
    v2_json_classes,
    "DynamicBatcher 5 ms, preferred batch 64, max_batch_size 128 (a request's rows count)",
)
