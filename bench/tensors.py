"""Latency of an ONNX image model over v2 binary HTTP and v2 gRPC, as tritonclient sends.

    .venv/bin/python bench/tensors.py [--requests 40] [--rows 64]
    PYTHONPATH=/other/checkout/src .venv/bin/python bench/tensors.py   # the same, other code

The model is the test suite's image classifier (``tests/kind_models.py``: float32
``[N, 3, 32, 32]`` → label and probabilities over 10, built with the ``onnx`` helper API).
It is registered in a temporary yard and served by ``modelyard serve --dev --grpc-port``;
``tritonclient.http`` (binary tensors, its default) and ``tritonclient.grpc`` then send
``--requests`` requests of ``--rows`` images one after another, and the median latency of
all but the first five is printed. No peer: run it from two checkouts to compare them (the
server runs the modelyard on ``PYTHONPATH``, or this checkout's).
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def main() -> None:
    import tritonclient.grpc as triton_grpc
    import tritonclient.http as triton_http
    from tests.kind_models import image_model, images

    from modelyard import Yard

    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--rows", type=int, default=64)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        with Yard(home) as yard:
            yard.register(image_model(), "digits", sample=images(4))
            yard.create_endpoint("digits-api", "digits@1")
        http_port, grpc_port = _port(), _port()
        command = [sys.executable, "-m", "modelyard.cli", "--home", home, "serve", "--dev"]
        command += ["--port", str(http_port), "--grpc-port", str(grpc_port)]
        server = subprocess.Popen(
            command, env=dict(os.environ), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            http = triton_http.InferenceServerClient(f"127.0.0.1:{http_port}")
            _wait(http)
            grpc = triton_grpc.InferenceServerClient(f"127.0.0.1:{grpc_port}")
            batch = images(args.rows, seed=1)
            for label, lib, client in (("http", triton_http, http), ("grpc", triton_grpc, grpc)):
                tensor = lib.InferInput("image", list(batch.shape), "FP32")
                tensor.set_data_from_numpy(batch)
                took = []
                for _ in range(args.requests):
                    started = time.perf_counter()
                    client.infer("digits-api", [tensor])
                    took.append(time.perf_counter() - started)
                median = statistics.median(took[5:]) * 1000
                print(f"{label}: median {median:.1f} ms per [{args.rows}, 3, 32, 32] request")
        finally:
            server.terminate()
            server.wait()


def _wait(client: object) -> None:
    for _ in range(300):
        try:
            if client.is_server_ready():  # type: ignore[attr-defined]
                return
        except Exception:  # not listening yet
            pass
        time.sleep(0.2)
    raise SystemExit("the server did not become ready in 60 s")


if __name__ == "__main__":
    main()
