"""The gRPC server beside the HTTP one: in the same worker process and event loop, over the
same app (data plane, auth, metrics), started and stopped by the app's lifespan.

Its HTTP/2 front is pygrpc-native's where it is installed (the default on Linux and macOS):
the same servicer and asyncio API as grpcio's server, with framing, flow control and
deadlines on Rust threads outside the GIL, so a call costs the event loop about half as
much (docs/decisions.md). ``MODELYARD_GRPC_FRONT=grpcio`` chooses grpcio's asyncio server.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import grpc
from fastapi import FastAPI

from modelyard.config import GrpcFront
from modelyard.serving.grpc.gate import CallGate, stop_behind
from modelyard.serving.grpc.handlers import add_to_server
from modelyard.serving.grpc.service import InferenceService

log = logging.getLogger(__name__)


def front_of(wanted: GrpcFront) -> GrpcFront:
    """The front that serves when ``wanted`` is asked for: grpcio's when pygrpc-native
    cannot be imported (no wheel for the platform), which the log says."""
    if wanted == "native":
        try:
            import pygrpc_native.aio  # noqa: F401
        except ImportError:
            log.warning("pygrpc-native cannot be imported: gRPC is served by grpcio's server")
            return "grpcio"
    return wanted


class GrpcServer:
    def __init__(
        self,
        app: FastAPI,
        host: str,
        port: int,
        max_message_bytes: int,
        front: GrpcFront,
    ) -> None:
        """``front``: as :func:`front_of` resolved it."""
        self.address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        self.front = front
        options = [
            # Same limit as an HTTP body; past it gRPC answers RESOURCE_EXHAUSTED.
            ("grpc.max_receive_message_length", max_message_bytes),
            ("grpc.max_send_message_length", -1),
            # Every worker process listens on the one port (as HTTP workers share theirs).
            ("grpc.so_reuseport", 1),
        ]
        self._server = _server(self.front, options)
        self._gate = CallGate()
        add_to_server(InferenceService(app), self._server, self._gate.guard)
        self._stopping: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._server.add_insecure_port(self.address)  # raises when the port is taken
        await self._server.start()
        log.info("Open Inference Protocol v2 over gRPC on %s (%s front)", self.address, self.front)

    def begin_stop(self, grace: float) -> None:
        """Refuse new calls from now on and give those in flight ``grace`` seconds, their
        answers time to leave (gate.py), then stop (once; called in the event loop)."""
        if self._stopping is None:
            self._stopping = asyncio.ensure_future(stop_behind(self._gate, self._server, grace))

    async def stop(self, grace: float) -> None:
        """:meth:`begin_stop`, and wait until it is done (the drain after SIGTERM begins,
        the app's shutdown waits)."""
        self.begin_stop(grace)
        assert self._stopping is not None
        await asyncio.shield(self._stopping)


def _server(front: GrpcFront, options: list[tuple[str, Any]]) -> grpc.aio.Server:
    if front == "native":
        import pygrpc_native.aio

        server: grpc.aio.Server = pygrpc_native.aio.server(options=options)
        return server
    return grpc.aio.server(options=options)
