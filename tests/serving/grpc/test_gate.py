"""Stopping the gRPC server (serving/grpc/gate.py): calls in flight get their answers, a
call after the stop began is refused UNAVAILABLE, on either front, over real sockets."""

import asyncio
import importlib.util

import grpc
import pytest

from modelyard.serving.grpc import oip_pb2 as pb
from modelyard.serving.grpc.gate import CallGate, Gated, stop_behind
from modelyard.serving.grpc.handlers import RPCS, SERVICE, add_to_server
from modelyard.serving.grpc.server import _server

NO_NATIVE = importlib.util.find_spec("pygrpc_native") is None
FRONTS = [
    "grpcio",
    pytest.param("native", marks=pytest.mark.skipif(NO_NATIVE, reason="no pygrpc-native")),
]
KINDS = (pb.ServerLiveRequest.SerializeToString, pb.ServerLiveResponse.FromString)


class _SlowLive:
    """ServerLive answers after ``delay`` seconds and counts the calls that started."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.started = 0

    def __getattr__(self, name: str) -> object:
        if name not in {rpc for rpc, _, _ in RPCS}:
            raise AttributeError(name)

        async def answer(request: object, context: object) -> pb.ServerLiveResponse:
            self.started += 1
            await asyncio.sleep(self.delay)
            return pb.ServerLiveResponse(live=True)

        return answer


@pytest.mark.parametrize("front", FRONTS)
def test_calls_in_flight_are_answered_and_later_ones_refused(front: str) -> None:
    async def main() -> tuple[list[bool], grpc.StatusCode, int]:
        server = _server(front, [])  # type: ignore[arg-type]
        servicer = _SlowLive(delay=0.5)
        gate = CallGate()
        add_to_server(Gated(servicer, gate), server)
        port = server.add_insecure_port("127.0.0.1:0")
        await server.start()
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            live = channel.unary_unary(f"/{SERVICE}/ServerLive", *KINDS)
            request = pb.ServerLiveRequest()
            calls = [asyncio.ensure_future(live(request, timeout=30)) for _ in range(8)]
            for _ in range(1000):  # every call is in the servicer (bounded: ~10 s)
                if servicer.started == len(calls):
                    break
                await asyncio.sleep(0.01)
            stopping = asyncio.ensure_future(stop_behind(gate, server, grace=20))
            await asyncio.sleep(0)  # the gate is closed now
            with pytest.raises(grpc.aio.AioRpcError) as late:
                await live(pb.ServerLiveRequest(), timeout=30)
            answers = [reply.live for reply in await asyncio.gather(*calls)]
            await stopping
        return answers, late.value.code(), gate.in_flight

    answers, late, in_flight = asyncio.run(main())
    assert answers == [True] * 8
    assert late == grpc.StatusCode.UNAVAILABLE
    assert in_flight == 0


def test_a_gate_with_nothing_in_flight_closes_at_once_and_refuses_after() -> None:
    async def main() -> tuple[bool, int]:
        gate = CallGate()
        await asyncio.wait_for(gate.close(grace=30), 5)  # only the settle time
        return gate.closed, gate.in_flight

    assert asyncio.run(main()) == (True, 0)
