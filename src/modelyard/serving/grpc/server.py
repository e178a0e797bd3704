"""The gRPC server beside the HTTP one: in the same worker process and event loop, over the
same app (data plane, auth, metrics), started and stopped by the app's lifespan."""

from __future__ import annotations

import asyncio
import logging

import grpc
from fastapi import FastAPI

from modelyard.serving.grpc.handlers import add_to_server
from modelyard.serving.grpc.service import InferenceService

log = logging.getLogger(__name__)


class GrpcServer:
    def __init__(self, app: FastAPI, host: str, port: int, max_message_bytes: int) -> None:
        self.address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        self._server = grpc.aio.server(
            options=[
                # Same limit as an HTTP body; past it gRPC answers RESOURCE_EXHAUSTED.
                ("grpc.max_receive_message_length", max_message_bytes),
                ("grpc.max_send_message_length", -1),
                # Every worker process listens on the one port (as HTTP workers share theirs).
                ("grpc.so_reuseport", 1),
            ]
        )
        add_to_server(InferenceService(app), self._server)
        self._stopping: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._server.add_insecure_port(self.address)  # raises when the port is taken
        await self._server.start()
        log.info("Open Inference Protocol v2 over gRPC on %s", self.address)

    def begin_stop(self, grace: float) -> None:
        """Refuse new calls from now on and give those in flight ``grace`` seconds (once;
        called in the event loop)."""
        if self._stopping is None:
            self._stopping = asyncio.ensure_future(self._server.stop(grace))

    async def stop(self, grace: float) -> None:
        """:meth:`begin_stop`, and wait until it is done (the drain after SIGTERM begins,
        the app's shutdown waits)."""
        self.begin_stop(grace)
        assert self._stopping is not None
        await asyncio.shield(self._stopping)
