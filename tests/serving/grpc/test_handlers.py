"""The RPC table matches service.proto (compiled by protoc) and binds the servicer's
methods, with the committed message classes on both sides of the wire."""

import asyncio
from pathlib import Path

import grpc
import pytest
from google.protobuf import descriptor_pb2

from modelyard.serving.grpc import oip_pb2 as pb
from modelyard.serving.grpc.handlers import RPCS, SERVICE, add_to_server, method_handlers
from modelyard.serving.grpc.service import InferenceService

SRC = Path(__file__).parents[3] / "src"
SERVICE_PROTO = SRC / "modelyard" / "serving" / "grpc" / "service.proto"


class _Servicer:
    """Every RPC, each answering its own name (what a table entry is bound to shows)."""

    def __getattr__(self, name: str) -> object:
        if name not in {rpc for rpc, _, _ in RPCS}:
            raise AttributeError(name)
        return lambda request, context: name


def test_the_table_is_service_proto(tmp_path: Path) -> None:
    protoc = pytest.importorskip("grpc_tools.protoc")
    out = tmp_path / "service.pb"
    status = protoc.main(["protoc", f"-I{SRC}", f"--descriptor_set_out={out}", str(SERVICE_PROTO)])
    assert status == 0
    files = descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes()).file
    (service,) = files[0].service
    assert f"{files[0].package}.{service.name}" == SERVICE
    in_proto = [(m.name, m.input_type, m.output_type) for m in service.method]
    listed = [
        (name, f".{request.DESCRIPTOR.full_name}", f".{response.DESCRIPTOR.full_name}")
        for name, request, response in RPCS
    ]
    assert listed == in_proto
    assert not any(m.client_streaming or m.server_streaming for m in service.method)


def test_every_rpc_is_bound_to_the_servicer_method_of_its_name() -> None:
    handlers = method_handlers(_Servicer())
    assert list(handlers) == [name for name, _, _ in RPCS]
    for name, handler in handlers.items():
        assert handler.unary_unary(None, None) == name
        assert not handler.request_streaming
        assert not handler.response_streaming


def test_model_infer_messages_are_the_committed_classes_both_ways() -> None:
    handler = method_handlers(_Servicer())["ModelInfer"]
    request = pb.ModelInferRequest(model_name="churn", id="7")
    decoded = handler.request_deserializer(request.SerializeToString())
    assert type(decoded) is pb.ModelInferRequest
    assert decoded == request
    answer = pb.ModelInferResponse(model_name="churn", id="7")
    assert handler.response_serializer(answer) == answer.SerializeToString()


def test_inference_service_implements_every_rpc() -> None:
    assert all(callable(getattr(InferenceService, name, None)) for name, _, _ in RPCS)


def test_a_servicer_missing_an_rpc_fails_at_start_naming_it() -> None:
    class Partial:
        def ServerLive(self, request: object, context: object) -> None:
            raise AssertionError("not called")

    with pytest.raises(TypeError, match="Partial has no ServerReady RPC"):
        method_handlers(Partial())


class _Live:
    """A servicer whose ServerLive answers; the other RPCs are never called here."""

    def __getattr__(self, name: str) -> object:
        if name not in {rpc for rpc, _, _ in RPCS}:
            raise AttributeError(name)

        async def answer(request: object, context: object) -> pb.ServerLiveResponse:
            return pb.ServerLiveResponse(live=True)

        return answer


def test_a_real_server_answers_by_both_lookups_and_refuses_unknown_methods() -> None:
    async def main() -> tuple[bool, bool, grpc.StatusCode]:
        server = grpc.aio.server()
        add_to_server(_Live(), server)
        port = server.add_insecure_port("127.0.0.1:0")
        await server.start()
        try:
            async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
                path = f"/{SERVICE}/ServerLive"
                request = pb.ServerLiveRequest()
                kinds = (pb.ServerLiveRequest.SerializeToString, pb.ServerLiveResponse.FromString)
                registered = channel.unary_unary(path, *kinds, _registered_method=True)
                generic = channel.unary_unary(path, *kinds)
                unknown = channel.unary_unary(f"/{SERVICE}/ModelStreamInfer", *kinds)
                by_path = (await registered(request, timeout=10)).live
                by_lookup = (await generic(request, timeout=10)).live
                with pytest.raises(grpc.aio.AioRpcError) as refused:
                    await unknown(request, timeout=10)
                return by_path, by_lookup, refused.value.code()
        finally:
            await server.stop(None)

    assert asyncio.run(main()) == (True, True, grpc.StatusCode.UNIMPLEMENTED)
