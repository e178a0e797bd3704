"""``inference.GRPCInferenceService``: the v2 RPCs over the HTTP server's data plane.

Each call is seen by the rest of serving as the v2 HTTP request it stands for: its metadata
are the headers (the API key in ``authorization: Bearer …`` or ``x-api-key``, routing
headers, ``x-request-id``), its peer the client address. So keys, scopes, rate limits,
routing, validation, batching, the prediction log, metrics and error handling are the very
code HTTP runs, and a failure's HTTP status becomes its gRPC status (``status.py``).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import grpc
from fastapi import FastAPI
from starlette.requests import Request

from modelyard.packages import package_version
from modelyard.serving import v2
from modelyard.serving.auth import OPEN
from modelyard.serving.context import request_id_from
from modelyard.serving.dataplane import DataPlane
from modelyard.serving.errors import HttpError, refusal_rule_of, respond_to_error
from modelyard.serving.grpc import codec
from modelyard.serving.grpc import oip_pb2 as pb
from modelyard.serving.grpc.status import code_of, details_of
from modelyard.serving.refusals import REFUSALS
from modelyard.serving.tensors import TensorError

Context = grpc.aio.ServicerContext[Any, Any]
Reply = TypeVar("Reply")


class InferenceService:
    """The servicer (method names are the protocol's RPC names)."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self.plane: DataPlane = app.state.plane

    async def ServerLive(self, request: pb.ServerLiveRequest, context: Context) -> Any:
        return pb.ServerLiveResponse(live=True)

    async def ServerReady(self, request: pb.ServerReadyRequest, context: Context) -> Any:
        return pb.ServerReadyResponse(ready=self.plane.ready)

    async def ServerMetadata(self, request: pb.ServerMetadataRequest, context: Context) -> Any:
        return pb.ServerMetadataResponse(name="modelyard", version=package_version("modelyard"))

    async def ModelReady(self, request: pb.ModelReadyRequest, context: Context) -> Any:
        async def ready(http: Request) -> pb.ModelReadyResponse:
            active = v2.resolve(self.plane, request.name, request.version or None)
            return pb.ModelReadyResponse(ready=v2.is_ready(active))

        return await self._call(context, request.name, "read", ready)

    async def ModelMetadata(self, request: pb.ModelMetadataRequest, context: Context) -> Any:
        async def metadata(http: Request) -> pb.ModelMetadataResponse:
            active = v2.resolve(self.plane, request.name, request.version or None)
            found = v2.metadata_of(active, request.name)
            tensor = pb.ModelMetadataResponse.TensorMetadata
            return pb.ModelMetadataResponse(
                name=found["name"],
                versions=found["versions"],
                platform=found["platform"],
                inputs=[tensor(**t) for t in found["inputs"]],
                outputs=[tensor(**t) for t in found["outputs"]],
            )

        return await self._call(context, request.name, "read", metadata)

    async def ModelInfer(self, request: pb.ModelInferRequest, context: Context) -> Any:
        """Counted like an HTTP inference (by endpoint, version and the HTTP status its
        outcome has), refusals included."""
        name = request.model_name
        started = time.perf_counter()
        plane = self.plane
        admitted = False
        served_by = ""

        async def infer(http: Request) -> pb.ModelInferResponse:
            nonlocal admitted, served_by
            admitted = True
            version = request.model_version or None
            v2.resolve(plane, name, version)  # unknown names cost no decoding
            try:
                payload = codec.to_payload(request)
            except TensorError as exc:
                raise HttpError(400, "bad_request", str(exc)) from None
            answer = await v2.infer(plane, name, version, http, payload)
            served_by = answer.served.version
            rid = str(http.scope["state"]["request_id"])
            context.set_trailing_metadata(
                (("x-modelyard-version", served_by), ("x-request-id", rid))
            )
            return codec.to_response(
                name, answer.version, request.id, answer.outputs, answer.served.prediction_ids
            )

        plane.receiving.count += 1
        try:
            response = await self._call(context, name, "predict", infer, counted=True)
        except _Refused as refused:
            version = served_by or refused.version
            plane.finished(name, refused.status, version, admitted, started, refused.rule)
            await context.abort(refused.code, refused.details, refused.metadata)
            raise  # abort raises; this line is for the type checker
        finally:  # (a call its client gave up on, cancelled, is not counted: nobody is told)
            plane.receiving.count -= 1
        plane.finished(name, 200, served_by, admitted, started)
        return response

    async def _call(
        self,
        context: Context,
        name: str,
        scope: str,
        handler: Callable[[Request], Awaitable[Reply]],
        counted: bool = False,
    ) -> Reply:
        """``handler`` behind the key check of ``scope`` for endpoint ``name``; a failure
        becomes the gRPC status its HTTP answer maps to (raised as :class:`_Refused` when
        ``counted``, so the caller can count it first)."""
        http = Request(_scope_of(self.app, context, name))
        try:
            limits = self.plane.limits
            if limits.client_rate and limits.client_wait(http.scope):
                REFUSALS.add("client_rate")
                raise HttpError(
                    429,
                    "rate_limited",
                    f"this address is over the rate limit of {limits.client_rate:g} requests/s"
                    " (MODELYARD_CLIENT_RATE_LIMIT)",
                    {"Retry-After": "1"},
                )
            if scope != OPEN:
                http.state.key = await self.plane.auth.check(http, scope)
            return await handler(http)
        except Exception as exc:  # every failure becomes the documented status
            refused = _Refused.of(http, exc)
        if counted:
            raise refused
        await context.abort(refused.code, refused.details, refused.metadata)
        raise refused  # abort raises; this line is for the type checker


class _Refused(Exception):
    def __init__(
        self, status: int, details: str, version: str, metadata: tuple[tuple[str, str], ...]
    ) -> None:
        super().__init__(details)
        self.status = status
        self.code = code_of(status)
        self.details = details
        self.version = version
        self.metadata = metadata
        self.rule: str | None = None  # what refused it (a 4xx), for its monitor window

    @classmethod
    def of(cls, http: Request, exc: Exception) -> _Refused:
        failure = respond_to_error(http.scope, exc)  # logs, keeps operators' details
        headers = failure.headers
        metadata = [("x-request-id", str(http.scope["state"]["request_id"]))]
        if "retry-after" in headers:
            metadata.append(("retry-after", headers["retry-after"]))
        version = headers.get("x-modelyard-version", "")
        if version:
            metadata.append(("x-modelyard-version", version))
        refused = cls(failure.status_code, details_of(failure), version, tuple(metadata))
        refused.rule = refusal_rule_of(exc)
        return refused


def _scope_of(app: FastAPI, context: Context, name: str) -> dict[str, Any]:
    """The ASGI scope of the v2 HTTP request this call stands for."""
    headers = [
        (key.lower().encode("latin-1"), value.encode("latin-1"))
        for key, value in context.invocation_metadata() or ()
        if isinstance(value, str)  # binary (-bin) metadata carries nothing serving reads
    ]
    return {
        "type": "http",
        "http_version": "2",
        "method": "POST",
        "scheme": "http",
        "path": f"/v2/models/{name}/infer",
        "raw_path": f"/v2/models/{name}/infer".encode(),
        "query_string": b"",
        "headers": headers,
        "client": _peer(context.peer()),
        "server": None,
        "app": app,
        "path_params": {"name": name},
        "state": {"request_id": request_id_from(headers)},
    }


def _peer(peer: str) -> tuple[str, int]:
    """``ipv4:10.0.0.1:5000`` / ``ipv6:[::1]:5000`` → (host, port)."""
    _, _, address = peer.partition(":")
    host, _, port = address.rpartition(":")
    return host.strip("[]") or "unknown", int(port) if port.isdigit() else 0
