"""The Open Inference Protocol v2 over gRPC (``modelyard serve --grpc-port N``).

``oip_pb2`` is generated from ``oip.proto`` by grpcio-tools (``make grpc-code``) and
committed; ``handlers`` holds the RPC table of ``service.proto`` (checked against it by a
test); everything else decodes, delegates to the same data plane as v2 HTTP, and encodes.
"""
