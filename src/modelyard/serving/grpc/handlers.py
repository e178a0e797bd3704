"""The RPC table of ``inference.GRPCInferenceService`` (service.proto): each method's name
and message types, bound to the servicer's method of the same name.

grpcio-tools generates this table as ``service_pb2_grpc.py``, with a base servicer whose
every method answers UNIMPLEMENTED; ours implements all six, so the table is all that is
needed. It is written out rather than read from the service's descriptor because that
descriptor would put ``inference.GRPCInferenceService`` in protobuf's default pool, where
tritonclient (loaded in the same process by a notebook or a test) defines it too and
protobuf refuses the second. tests/serving/grpc/test_handlers.py checks the table against
service.proto compiled by protoc. A servicer missing an RPC fails at start, not at the
first call.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import grpc

from modelyard.serving.grpc import oip_pb2 as pb

SERVICE = "inference.GRPCInferenceService"  # package and service name: on the wire
RPCS: tuple[tuple[str, Any, Any], ...] = (
    ("ServerLive", pb.ServerLiveRequest, pb.ServerLiveResponse),
    ("ServerReady", pb.ServerReadyRequest, pb.ServerReadyResponse),
    ("ModelReady", pb.ModelReadyRequest, pb.ModelReadyResponse),
    ("ServerMetadata", pb.ServerMetadataRequest, pb.ServerMetadataResponse),
    ("ModelMetadata", pb.ModelMetadataRequest, pb.ModelMetadataResponse),
    ("ModelInfer", pb.ModelInferRequest, pb.ModelInferResponse),
)


Method = Callable[[Any, Any], Awaitable[Any]]


def method_handlers(
    servicer: object, guard: Callable[[Method], Method] | None = None
) -> dict[str, grpc.RpcMethodHandler[Any, Any]]:
    """Every RPC of the service → ``servicer``'s method of that name (all are unary),
    wrapped by ``guard`` when one is given (serving/grpc/gate.py)."""
    handlers = {}
    for name, request, response in RPCS:
        call = getattr(servicer, name, None)
        if call is None:
            raise TypeError(f"{type(servicer).__name__} has no {name} RPC")
        handlers[name] = grpc.unary_unary_rpc_method_handler(
            call if guard is None else guard(call),
            request_deserializer=request.FromString,
            response_serializer=response.SerializeToString,
        )
    return handlers


def add_to_server(
    servicer: object, server: grpc.aio.Server, guard: Callable[[Method], Method] | None = None
) -> None:
    """Serve ``servicer``'s RPCs on ``server``: as registered methods (found by path once,
    as generated code registers them) and through the generic lookup."""
    handlers = method_handlers(servicer, guard)
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, handlers),))
    server.add_registered_method_handlers(SERVICE, handlers)
