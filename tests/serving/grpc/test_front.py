"""Which HTTP/2 front serves gRPC: pygrpc-native's where it is installed, grpcio's when
asked for or where it is not (a platform without its wheel)."""

import subprocess
import sys
import textwrap

import pygrpc_native.aio
from fastapi import FastAPI

from modelyard.serving.grpc.server import GrpcServer, front_of


def _server(front: str) -> GrpcServer:
    app = FastAPI()
    app.state.plane = None  # the servicer only keeps it; nothing is served here
    return GrpcServer(app, "127.0.0.1", 50051, 1024 * 1024, front)  # type: ignore[arg-type]


def test_native_is_the_front_where_pygrpc_native_is_installed() -> None:
    assert front_of("native") == "native"
    server = _server("native")
    assert server.front == "native"
    assert isinstance(server._server, pygrpc_native.aio.Server)


def test_grpcio_is_the_front_when_asked_for() -> None:
    assert front_of("grpcio") == "grpcio"
    server = _server("grpcio")
    assert server.front == "grpcio"
    assert not isinstance(server._server, pygrpc_native.aio.Server)


def test_without_pygrpc_native_grpcio_serves_and_says_so() -> None:
    """A fresh interpreter where ``import pygrpc_native`` fails, as without its wheel."""
    script = textwrap.dedent(
        """
        import logging, sys

        sys.modules["pygrpc_native"] = None  # the import system's "not importable"
        logging.basicConfig(level=logging.WARNING, format="%(message)s")
        from fastapi import FastAPI
        from modelyard.serving.grpc.server import GrpcServer, front_of

        app = FastAPI()
        app.state.plane = None
        print(front_of("native"), GrpcServer(app, "127.0.0.1", 50051, 1024).front)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.split() == ["grpcio", "grpcio"]
    assert "pygrpc-native cannot be imported" in done.stderr
