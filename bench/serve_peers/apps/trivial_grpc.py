"""The floor of gRPC in Python: the asyncio server modelyard serves gRPC with (pygrpc-native's
front, grpcio's with ``--grpcio``) on uvloop, answering every ModelInfer with the same bytes,
nothing else (no decode, no model), and a one-line HTTP answer on another port for the
bench's readiness check.

    python trivial_grpc.py GRPC_PORT HTTP_PORT [--grpcio]

What it answers per second under h2load is what the front itself can do on this machine.
"""

import asyncio
import sys
from typing import Any

import grpc
import uvloop

SERVICE = "inference.GRPCInferenceService"
ANSWER = b"\x0a\x04bench"  # a ModelInferResponse naming its model: bytes, never decoded here
READY = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok"


async def model_infer(request: bytes, context: Any) -> bytes:
    return ANSWER


async def ready(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.readuntil(b"\r\n\r\n")
    writer.write(READY)
    await writer.drain()
    writer.close()


async def main(grpc_port: int, http_port: int, front: str) -> None:
    if front == "native":
        import pygrpc_native.aio

        server = pygrpc_native.aio.server()
    else:
        server = grpc.aio.server()
    handler = grpc.unary_unary_rpc_method_handler(model_infer)  # no (de)serializers
    # Registered, as modelyard registers its RPCs (pygrpc-native serves these natively).
    server.add_registered_method_handlers(SERVICE, {"ModelInfer": handler})
    server.add_insecure_port(f"127.0.0.1:{grpc_port}")
    await server.start()
    probe = await asyncio.start_server(ready, "127.0.0.1", http_port)
    async with probe:
        await server.wait_for_termination()


if __name__ == "__main__":
    uvloop.run(
        main(int(sys.argv[1]), int(sys.argv[2]), "grpcio" if "--grpcio" in sys.argv else "native")
    )
