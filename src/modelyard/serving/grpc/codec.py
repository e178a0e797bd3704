"""gRPC messages to and from the JSON form of a v2 request, so gRPC goes through the very
decoding, validation and inference that v2 HTTP does (``serving/v2.py``).

An input's elements come either as raw bytes (``raw_input_contents``, one entry per input:
what ``tritonclient.grpc`` sends) or as the typed list of ``contents`` that fits its
datatype. Outputs always go back as ``raw_output_contents``, as Triton answers them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from modelyard.serving.binary import OutputTensor
from modelyard.serving.grpc import oip_pb2 as pb
from modelyard.serving.tensors import DTYPES, TensorError, check_shape, from_raw, to_raw

# v2 datatype → the field of InferTensorContents that holds its elements
CONTENTS = {
    "BOOL": "bool_contents",
    "INT8": "int_contents",
    "INT16": "int_contents",
    "INT32": "int_contents",
    "INT64": "int64_contents",
    "UINT8": "uint_contents",
    "UINT16": "uint_contents",
    "UINT32": "uint_contents",
    "UINT64": "uint64_contents",
    "FP32": "fp32_contents",
    "FP64": "fp64_contents",
    "BYTES": "bytes_contents",
}


def to_payload(request: pb.ModelInferRequest) -> dict[str, Any]:
    """The request as v2 JSON: ``{"id", "parameters", "inputs": [{..., "data"}], "outputs"}``.
    Raises :class:`TensorError` naming the input for elements that do not fit."""
    raw = request.raw_input_contents
    if raw and len(raw) != len(request.inputs):
        raise TensorError(
            f"raw_input_contents has {len(raw)} entries for {len(request.inputs)} inputs; "
            "send one per input, in order, or typed contents for every input"
        )
    inputs = []
    for index, tensor in enumerate(request.inputs):
        name = tensor.name or f"inputs[{index}]"
        shape = check_shape(name, list(tensor.shape))
        if raw:
            if tensor.HasField("contents"):
                raise TensorError(
                    f"input {name!r}: has contents although raw_input_contents carries every "
                    "input; send one or the other"
                )
            data = from_raw(name, tensor.datatype, shape, raw[index])
        else:
            data = _typed(name, tensor.datatype, shape, tensor.contents)
        inputs.append(
            {
                "name": tensor.name,
                "shape": shape,
                "datatype": tensor.datatype,
                "parameters": parameters(tensor.parameters),
                "data": data,
            }
        )
    payload: dict[str, Any] = {"inputs": inputs, "parameters": parameters(request.parameters)}
    if request.id:
        payload["id"] = request.id
    if request.outputs:
        payload["outputs"] = [{"name": o.name} for o in request.outputs]
    return payload


def to_response(
    name: str,
    version: str,
    request_id: str,
    outputs: list[OutputTensor],
    prediction_ids: list[str],
) -> pb.ModelInferResponse:
    response = pb.ModelInferResponse(model_name=name, model_version=version, id=request_id)
    # One id per row, comma-separated (a parameter holds one scalar): what feedback names.
    response.parameters["prediction_ids"].string_param = ",".join(prediction_ids)
    for output in outputs:
        response.outputs.add(
            name=output.name, datatype=output.datatype, shape=list(output.values.shape)
        )
        response.raw_output_contents.append(to_raw(output.values, output.datatype))
    return response


def parameters(given: Mapping[str, pb.InferParameter]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for key, parameter in given.items():
        choice = parameter.WhichOneof("parameter_choice")
        if choice is not None:
            values[key] = getattr(parameter, choice)
    return values


def _typed(
    name: str, datatype: str, shape: list[int], contents: pb.InferTensorContents
) -> np.ndarray | list[str]:
    field = CONTENTS.get(datatype)
    if field is None:
        raise TensorError(
            f"input {name!r}: datatype {datatype!r} has no typed contents; "
            f"send it in raw_input_contents (typed: {', '.join(CONTENTS)})"
        )
    values = getattr(contents, field)
    count = math.prod(shape)
    if len(values) != count:
        raise TensorError(
            f"input {name!r}: shape {shape} needs {count} elements in contents.{field}, "
            f"got {len(values)}"
        )
    if datatype == "BYTES":
        try:
            return [v.decode() for v in values]
        except UnicodeDecodeError:
            raise TensorError(f"input {name!r}: a BYTES element is not UTF-8 text") from None
    try:  # int_contents holds INT8 and INT16 too: a value out of their range is refused
        return np.array(values, dtype=DTYPES[datatype]).reshape(shape)
    except OverflowError:
        raise TensorError(
            f"input {name!r}: contents.{field} holds values outside {datatype}"
        ) from None
