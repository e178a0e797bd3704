"""Stopping the gRPC server (serving/grpc/gate.py): calls in flight end and their answers get
time to leave before the server's own stop closes its front; later calls are refused
UNAVAILABLE; the whole stop keeps within the grace."""

import asyncio
import importlib.util

import grpc
import pytest

from modelyard.serving.grpc import oip_pb2 as pb
from modelyard.serving.grpc.gate import CallGate, stop_behind
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


class _Recorded:
    """A real server whose stop records what the gate left behind when it was called."""

    def __init__(self, server: grpc.aio.Server, gate: CallGate) -> None:
        self.server = server
        self.gate = gate
        self.stopped: tuple[int, float] | None = None  # (calls in flight, grace given)

    async def stop(self, grace: float) -> None:
        self.stopped = (self.gate.in_flight, grace)
        await self.server.stop(grace)


async def _serving(servicer: object, gate: CallGate) -> tuple[grpc.aio.Server, int]:
    server = _server("grpcio", [])
    add_to_server(servicer, server, gate.guard)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    return server, port


async def _until_started(servicer: _SlowLive, calls: int) -> None:
    for _ in range(1000):  # bounded: ~10 s
        if servicer.started == calls:
            return
        await asyncio.sleep(0.01)


@pytest.mark.parametrize("front", FRONTS)
def test_calls_in_flight_are_answered_and_later_ones_refused(front: str) -> None:
    async def main() -> tuple[list[bool], grpc.StatusCode, int]:
        server = _server(front, [])  # type: ignore[arg-type]
        servicer = _SlowLive(delay=0.5)
        gate = CallGate()
        add_to_server(servicer, server, gate.guard)
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


def test_the_server_stops_only_once_the_calls_in_flight_ended_and_with_the_grace_left() -> None:
    async def main() -> tuple[tuple[int, float] | None, list[str], bool]:
        gate = CallGate()
        ended: list[str] = []

        class Answering(_SlowLive):
            async def ServerLive(self, request: object, context: object) -> object:
                self.started += 1
                await asyncio.sleep(self.delay)
                ended.append("answered")
                return pb.ServerLiveResponse(live=True)

        servicer = Answering(delay=0.3)
        server, port = await _serving(servicer, gate)
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            live = channel.unary_unary(f"/{SERVICE}/ServerLive", *KINDS)
            running = asyncio.ensure_future(live(pb.ServerLiveRequest(), timeout=30))
            await _until_started(servicer, 1)  # the call is in flight
            recorded = _Recorded(server, gate)
            await stop_behind(gate, recorded, grace=20)  # type: ignore[arg-type]
            reply = await running
        return recorded.stopped, ended, reply.live

    stopped, ended, live = asyncio.run(main())
    assert live
    assert ended == ["answered"]  # before the server's stop was called
    assert stopped is not None
    in_flight, grace_left = stopped
    assert in_flight == 0
    assert 0 < grace_left < 20


def test_a_call_that_never_ends_leaves_the_server_no_grace_and_is_cut() -> None:
    async def main() -> tuple[tuple[int, float] | None, grpc.StatusCode, int]:
        gate = CallGate()
        servicer = _SlowLive(delay=3600)  # never ends within the test
        server, port = await _serving(servicer, gate)
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            live = channel.unary_unary(f"/{SERVICE}/ServerLive", *KINDS)
            running = asyncio.ensure_future(live(pb.ServerLiveRequest(), timeout=30))
            await _until_started(servicer, 1)
            recorded = _Recorded(server, gate)
            await stop_behind(gate, recorded, grace=0.3)  # type: ignore[arg-type]
            with pytest.raises(grpc.aio.AioRpcError) as cut:  # the server's stop cut it
                await running
        return recorded.stopped, cut.value.code(), gate.in_flight

    stopped, code, in_flight = asyncio.run(main())
    assert stopped == (1, 0.0)  # still running when the server's stop came, with no grace
    assert code in {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED}, code
    assert in_flight == 0  # counted out when cancelled


def test_a_closed_gate_refuses_without_calling_the_method() -> None:
    async def main() -> tuple[grpc.StatusCode, int]:
        gate = CallGate()
        servicer = _SlowLive(delay=0)
        server, port = await _serving(servicer, gate)
        await gate.close(grace=0)
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            live = channel.unary_unary(f"/{SERVICE}/ServerLive", *KINDS)
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await live(pb.ServerLiveRequest(), timeout=30)
        await server.stop(0)
        return refused.value.code(), servicer.started

    code, started = asyncio.run(main())
    assert code == grpc.StatusCode.UNAVAILABLE
    assert started == 0
