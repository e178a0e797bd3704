"""Which HTTP/2 front serves gRPC (serving/grpc/server.py): pygrpc-native's where it can be
imported, grpcio's when asked for or where it cannot (a platform without its wheel)."""

import asyncio
import subprocess
import sys
import textwrap

import grpc
import pytest
from fastapi import FastAPI

from modelyard.serving.grpc.server import GrpcServer, front_of


def _server(front: str) -> object:
    """The server object ``front`` makes, made as the app's lifespan makes it: in a running
    event loop (grpc.aio's server needs one)."""

    async def made() -> object:
        app = FastAPI()
        app.state.plane = None  # the servicer only keeps it; nothing is served here
        return GrpcServer(app, "127.0.0.1", 50051, 1024 * 1024, front)._server  # type: ignore[arg-type]

    return asyncio.run(made())


def test_native_is_the_front_where_pygrpc_native_is_installed() -> None:
    native = pytest.importorskip("pygrpc_native.aio", reason="no pygrpc-native wheel here")
    assert front_of("native") == "native"
    assert isinstance(_server("native"), native.Server)


def test_grpcio_is_the_front_when_asked_for() -> None:
    assert front_of("grpcio") == "grpcio"
    server = _server("grpcio")
    assert isinstance(server, grpc.aio.Server)
    assert type(server).__module__.startswith("grpc.")


def test_without_pygrpc_native_grpcio_serves_and_says_so() -> None:
    """A fresh interpreter where ``import pygrpc_native`` fails, as without its wheel."""
    script = textwrap.dedent(
        """
        import logging, sys

        sys.modules["pygrpc_native"] = None  # the import system's "not importable"
        logging.basicConfig(level=logging.WARNING, format="%(message)s")
        from modelyard.serving.grpc.server import front_of

        print(front_of("native"))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.split() == ["grpcio"]
    assert "pygrpc-native cannot be imported" in done.stderr
