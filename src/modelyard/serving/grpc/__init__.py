"""The Open Inference Protocol v2 over gRPC (``modelyard serve --grpc-port N``).

``oip_pb2`` and ``service_pb2_grpc`` are generated from ``oip.proto`` and ``service.proto``
by grpcio-tools (``make grpc-code``) and committed; everything else decodes, delegates to
the same data plane as v2 HTTP, and encodes.
"""
