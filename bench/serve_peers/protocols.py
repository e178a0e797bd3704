"""Request bodies and answers of the Open Inference Protocol (KServe v2) in its three forms,
JSON, binary tensors over HTTP and gRPC, for bench/serve.py: one [N, 30] FP64 tensor."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import numpy as np

from modelyard.serving.grpc import oip_pb2 as pb  # wire-compatible with every v2 server

GRPC_METHOD = "/inference.GRPCInferenceService/ModelInfer"
NUMPY = {"INT64": "<i8", "INT32": "<i4", "FP64": "<f8", "FP32": "<f4", "BOOL": "?"}
TYPED = {"INT64": "int64_contents", "INT32": "int_contents", "FP64": "fp64_contents"}


def v2_json_body(frame: Any) -> bytes:
    """The rows as one JSON v2 FP64 tensor named ``input-0``."""
    rows = frame.to_numpy(dtype=float)
    tensor = {
        "name": "input-0",
        "shape": list(rows.shape),
        "datatype": "FP64",
        "data": rows.ravel().tolist(),
    }
    return json.dumps({"inputs": [tensor]}).encode()


def v2_json_classes(payload: bytes) -> list[int]:
    return [int(v) for v in json.loads(payload)["outputs"][0]["data"]]


def binary_body(frame: Any) -> tuple[bytes, int]:
    """The rows as one binary FP64 tensor, every output asked back binary (what
    tritonclient.http sends by default); and the JSON header's length."""
    rows = np.ascontiguousarray(frame.to_numpy(dtype="<f8"))
    tensor = {
        "name": "input-0",
        "shape": list(rows.shape),
        "datatype": "FP64",
        "parameters": {"binary_data_size": rows.nbytes},
    }
    header = json.dumps({"inputs": [tensor], "parameters": {"binary_data_output": True}})
    return header.encode() + rows.tobytes(), len(header.encode())


def binary_predictions(headers: Mapping[str, str], payload: bytes) -> list[int]:
    """The first output of a v2 HTTP answer, binary or JSON (``headers`` named in lower
    case)."""
    length = headers.get("inference-header-content-length")
    if length is None:
        return [int(v) for v in json.loads(payload)["outputs"][0]["data"]]
    header = json.loads(payload[: int(length)])
    first = header["outputs"][0]
    if "data" in first:
        return [int(v) for v in first["data"]]
    size = first["parameters"]["binary_data_size"]
    raw = payload[int(length) : int(length) + size]
    return [int(v) for v in np.frombuffer(raw, NUMPY[first["datatype"]])]


def grpc_body(frame: Any, model: str) -> bytes:
    """A serialized ModelInferRequest: the rows as raw FP64 (tritonclient.grpc's default)."""
    rows = np.ascontiguousarray(frame.to_numpy(dtype="<f8"))
    request = pb.ModelInferRequest(model_name=model)
    request.inputs.add(name="input-0", datatype="FP64", shape=list(rows.shape))
    request.raw_input_contents.append(rows.tobytes())
    return request.SerializeToString()


def grpc_predictions(target: str, body: bytes, timeout: float = 30.0) -> list[int]:
    """Send ``body`` once; the first output of the answer, raw or typed."""
    import grpc

    with grpc.insecure_channel(target) as channel:
        answer = channel.unary_unary(GRPC_METHOD)(body, timeout=timeout)
    response = pb.ModelInferResponse.FromString(answer)
    first = response.outputs[0]
    if response.raw_output_contents:
        raw = response.raw_output_contents[0]
        return [int(v) for v in np.frombuffer(raw, NUMPY[first.datatype])]
    return [int(v) for v in getattr(first.contents, TYPED[first.datatype])]
