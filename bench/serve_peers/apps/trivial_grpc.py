"""The floor of gRPC in Python: grpcio's asyncio server on uvloop (as modelyard serves gRPC)
answering every ModelInfer with the same bytes, nothing else (no decode, no model), and a
one-line HTTP answer on another port for the bench's readiness check.

    python trivial_grpc.py GRPC_PORT HTTP_PORT

What it answers per second under h2load is what grpcio itself can do on this machine.
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


async def main(grpc_port: int, http_port: int) -> None:
    server = grpc.aio.server()
    handler = grpc.unary_unary_rpc_method_handler(model_infer)  # no (de)serializers
    generic = grpc.method_handlers_generic_handler(SERVICE, {"ModelInfer": handler})
    server.add_generic_rpc_handlers((generic,))
    server.add_insecure_port(f"127.0.0.1:{grpc_port}")
    await server.start()
    probe = await asyncio.start_server(ready, "127.0.0.1", http_port)
    async with probe:
        await server.wait_for_termination()


if __name__ == "__main__":
    uvloop.run(main(int(sys.argv[1]), int(sys.argv[2])))
