"""Open Inference Protocol v2 (the REST protocol KServe, Triton and MLServer clients speak).

A v2 *model* is a modelyard endpoint. Inputs are either one tensor per feature (shape
``[N]`` or ``[N, 1]``; BYTES for categorical features) or a single numeric tensor of shape
``[N, F]`` with features in signature order. Outputs are ``predict`` and, for classifiers,
``predict_proba``. Tensors come and go as JSON or, with the binary tensor data extension,
as raw bytes after a JSON header (``binary.py``). Binary and gRPC tensors of numbers arrive
as numpy arrays and stay arrays; the values they hold decode exactly as the same values
sent as JSON would, so either way the model sees the same input.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from modelyard.domain.signature import Signature
from modelyard.errors import NotFound, SchemaMismatch
from modelyard.packages import package_version
from modelyard.runtime.active import ActiveEndpoint
from modelyard.runtime.inputs import Columns, from_columns, from_matrix
from modelyard.serving.auth import OPEN, require
from modelyard.serving.binary import (
    OutputTensor,
    binary_outputs,
    infer_payload,
    read_infer_body,
    respond,
)
from modelyard.serving.dataplane import DataPlane, plane_of
from modelyard.serving.deadline import deadline_of
from modelyard.serving.inference import Served, decode_for
from modelyard.serving.nd_tensors import decode_tensors, tensor_metadata
from modelyard.serving.routing import pick_route
from modelyard.serving.status import json_response

router = APIRouter(prefix="/v2", tags=["open inference protocol v2"])

NUMERIC_TYPES = {
    "FP16",
    "FP32",
    "FP64",
    "INT8",
    "INT16",
    "INT32",
    "INT64",
    "UINT8",
    "UINT16",
    "UINT32",
    "UINT64",
}
_KIND_TO_TYPE = {"i": "INT64", "u": "UINT64", "f": "FP64", "b": "BOOL"}


@router.get("", dependencies=[Depends(require(OPEN))], summary="Server metadata")
async def server_metadata() -> Response:
    return json_response(
        {
            "name": "modelyard",
            "version": package_version("modelyard"),
            "extensions": ["binary_tensor_data"],
        }
    )


@router.get("/health/live", dependencies=[Depends(require(OPEN))], summary="Server live")
async def live() -> Response:
    return json_response({"live": True})


@router.get("/health/ready", dependencies=[Depends(require(OPEN))], summary="Server ready")
async def ready(request: Request) -> Response:
    is_ready = plane_of(request).ready
    return json_response({"ready": is_ready}, 200 if is_ready else 503)


@router.get("/models/{name}", dependencies=[Depends(require("read"))], summary="Model metadata")
@router.get(
    "/models/{name}/versions/{version}",
    dependencies=[Depends(require("read"))],
    summary="Model metadata (one version)",
)
async def model_metadata(name: str, request: Request, version: str | None = None) -> Response:
    return json_response(metadata_of(resolve(plane_of(request), name, version), name))


def metadata_of(active: ActiveEndpoint, name: str) -> dict[str, Any]:
    """The v2 model metadata of ``active`` served as ``name`` (HTTP and gRPC)."""
    signature = active.loaded.signature
    outputs = [{"name": "predict", "datatype": _output_type(signature), "shape": [-1]}]
    if signature.output.has_proba:
        width = len(signature.output.classes or ()) or -1
        outputs.append({"name": "predict_proba", "datatype": "FP64", "shape": [-1, width]})
    return {
        "name": name,
        "versions": [str(active.loaded.version.version)],
        "platform": f"modelyard-{active.loaded.version.flavor}",
        "inputs": [
            tensor_metadata(f)
            if f.kind == "tensor"
            else {"name": f.name, "datatype": "FP64" if f.numeric else "BYTES", "shape": [-1, 1]}
            for f in signature.inputs
        ],
        "outputs": outputs,
        "parameters": {
            "model": active.loaded.version.name,
            "classes": active.loaded.classes,
        },
    }


@router.get("/models/{name}/ready", dependencies=[Depends(require("read"))], summary="Model ready")
@router.get(
    "/models/{name}/versions/{version}/ready",
    dependencies=[Depends(require("read"))],
    summary="Model ready (one version)",
)
async def model_ready(name: str, request: Request, version: str | None = None) -> Response:
    active = resolve(plane_of(request), name, version)
    ready = is_ready(active)
    return json_response(
        {"name": name, "ready": ready, "version": str(active.loaded.version.version)},
        200 if ready else 503,
    )


def is_ready(active: ActiveEndpoint) -> bool:
    """Not while too many of its model calls hang (see runtime/runner.py)."""
    return all(v.loaded.runner.ready for v in active.every)


INFER_SCHEMA = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["inputs"],
                    "properties": {"inputs": {"type": "array"}},
                }
            },
            "application/octet-stream": {
                "schema": {
                    "type": "string",
                    "format": "binary",
                    "description": "Inference-Header-Content-Length bytes of JSON, then "
                    "the binary inputs' bytes (binary tensor data extension)",
                }
            },
        },
    }
}


@router.post(
    "/models/{name}/infer",
    dependencies=[Depends(require("predict"))],
    summary="Inference",
    openapi_extra=INFER_SCHEMA,
)
@router.post(
    "/models/{name}/versions/{version}/infer",
    dependencies=[Depends(require("predict"))],
    summary="Inference (one version)",
    openapi_extra=INFER_SCHEMA,
)
async def model_infer(name: str, request: Request, version: str | None = None) -> Response:
    return await handle_infer(plane_of(request), name, request)


async def handle_infer(plane: DataPlane, name: str, request: Request) -> Response:
    """The whole of one v2 inference (also called by the fast path, see fastpath.py)."""
    version = request.path_params.get("version")
    resolve(plane, name, version)  # before reading the body: unknown names cost nothing
    payload = await read_infer_body(request, plane.max_body_bytes)
    return await answer_payload(plane, name, version, request, payload)


async def infer_body(plane: DataPlane, name: str, request: Request, raw: bytes) -> Response:
    """A v2 inference for a body read and checked (type, size, not empty) already, by
    the connection itself (serving/direct.py)."""
    resolve(plane, name, None)  # as handle_infer: an unknown name is a 404 whatever the body
    return await answer_payload(plane, name, None, request, infer_payload(request, raw))


async def answer_payload(
    plane: DataPlane, name: str, version: str | None, request: Request, payload: Any
) -> Response:
    """The answer to a v2 request read into JSON form."""
    # the output parameters are checked before the model runs: a 400 after it would have
    # logged rows whose prediction ids the caller never sees
    binary = binary_outputs(payload, ["predict", "predict_proba"])
    answer = await infer(plane, name, version, request, payload)
    body: dict[str, Any] = {
        "model_name": name,
        "model_version": answer.version,
        "parameters": {"prediction_ids": answer.served.prediction_ids},
    }
    if isinstance(payload.get("id"), str):
        body["id"] = payload["id"]
    return respond(body, answer.outputs, binary, answer.served.version)


@dataclass(frozen=True)
class Answer:
    version: str  # the v2 model version that answered ("3")
    served: Served
    outputs: list[OutputTensor]


async def infer(
    plane: DataPlane, name: str, version: str | None, request: Request, payload: Any
) -> Answer:
    """Route, decode, validate and run a v2 request already read into JSON form (HTTP,
    or gRPC's request turned into the same form); ``request`` carries the headers that
    route and the key that was admitted."""
    active = resolve(plane, name, version)  # again: the table may have swapped meanwhile
    key = None
    if version is None:  # a versioned URL asks for that version; otherwise route
        active, key = pick_route(active, request, None)
    columns = decode_for(active, active.loaded.signature, payload, decode, count_rows)
    wanted = _requested_outputs(payload)
    served = await plane.infer(active, columns, key, deadline_of(request))
    outputs = []
    if wanted is None or "predict" in wanted:
        predictions = served.output.predictions
        outputs.append(OutputTensor("predict", _type_of(predictions), predictions))
    probabilities = served.output.probabilities
    if probabilities is not None and (wanted is None or "predict_proba" in wanted):
        outputs.append(OutputTensor("predict_proba", "FP64", probabilities))
    return Answer(str(active.loaded.version.version), served, outputs)


def resolve(plane: DataPlane, name: str, version: str | None) -> ActiveEndpoint:
    """The endpoint as served; a v2 version in the path must be one of its routes'."""
    active = plane.endpoint(name)
    if version is None:
        return active
    for variant in active.every:
        if version == str(variant.loaded.version.version):
            return variant
    served = ", ".join(str(v.loaded.version.version) for v in active.every)
    raise NotFound(f"model {name!r} serves version {served}, not {version!r}")


def count_rows(payload: object) -> int:
    """The rows the input tensors declare (their first dimension), before any is decoded;
    ``decode`` later checks each tensor holds what its shape says."""
    tensors = payload.get("inputs") if isinstance(payload, dict) else None
    if not isinstance(tensors, list):
        return 0
    return max(
        (
            t["shape"][0]
            for t in tensors
            if isinstance(t, dict)
            and isinstance(t.get("shape"), list)
            and t["shape"]
            and type(t["shape"][0]) is int
        ),
        default=0,
    )


def decode(signature: Signature, payload: object) -> Columns:
    if (
        not isinstance(payload, dict)
        or not isinstance(payload.get("inputs"), list)
        or not (payload["inputs"])
    ):
        raise SchemaMismatch("the body must be an object with a non-empty 'inputs' list")
    tensors = payload["inputs"]
    if signature.has_tensors:  # N-d inputs: decoded by their own rules
        return decode_tensors(signature, tensors)
    for index, tensor in enumerate(tensors):
        _check_tensor(tensor, index)
    names = [t["name"] for t in tensors]
    if len(set(names)) != len(names):
        duplicated = sorted({n for n in names if names.count(n) > 1})
        raise SchemaMismatch(f"inputs name the same tensor more than once: {duplicated}")
    if len(tensors) == 1 and len(tensors[0]["shape"]) == 2 and len(signature.inputs) > 1:
        return _from_matrix(signature, tensors[0])
    columns: dict[str, list[Any] | np.ndarray] = {}
    for tensor in tensors:
        shape = tensor["shape"]
        if len(shape) == 2 and shape[1] != 1:
            raise SchemaMismatch(
                f"input {tensor['name']!r}: shape {shape}; one feature per tensor is [N] or [N, 1]"
            )
        columns[tensor["name"]] = _values(tensor)
    return from_columns(signature, columns)


def _check_tensor(tensor: object, index: int) -> None:
    where = f"inputs[{index}]"
    if not isinstance(tensor, dict):
        raise SchemaMismatch(f"{where} must be an object with name, shape, datatype, data")
    for field, kind in (("name", str), ("shape", list), ("datatype", str)):
        if not isinstance(tensor.get(field), kind):
            raise SchemaMismatch(f"{where}.{field} is missing or not a {kind.__name__}")
    if not isinstance(tensor.get("data"), list | np.ndarray):  # an array: binary or gRPC
        raise SchemaMismatch(f"{where}.data is missing or not a list")
    shape = tensor["shape"]
    if not 1 <= len(shape) <= 2 or not all(type(d) is int and d >= 0 for d in shape):
        raise SchemaMismatch(f"{where}.shape {shape} must be [N] or [N, F] with sizes >= 0")
    if tensor["datatype"] not in NUMERIC_TYPES | {"BYTES", "BOOL"}:
        raise SchemaMismatch(f"{where}.datatype {tensor['datatype']!r} is not a v2 datatype")
    expected = math.prod(shape)  # Python ints: numpy's product wraps around at 2**64
    given = len(_values(tensor))
    if given != expected:
        raise SchemaMismatch(f"{where}: shape {shape} needs {expected} values, got {given}")


def _flatten(data: list[Any]) -> list[Any]:
    if data and isinstance(data[0], list):
        return [v for row in data for v in (_flatten(row) if isinstance(row, list) else [row])]
    return data


def _values(tensor: dict[str, Any]) -> list[Any] | np.ndarray:
    """The tensor's elements, flat: a list from JSON, an array from binary or gRPC (as the
    array JSON's values would become: int64, float64 or bool)."""
    data = tensor["data"]
    if not isinstance(data, np.ndarray):
        return _flatten(data)
    flat = data.reshape(-1)
    if flat.dtype.kind == "f":
        return flat.astype(np.float64, copy=False)
    if flat.dtype.kind == "u" and flat.size and flat.max() > np.iinfo(np.int64).max:
        return flat  # as JSON's numbers past int64 become
    return flat.astype(np.int64, copy=False) if flat.dtype.kind in "iu" else flat


def _from_matrix(signature: Signature, tensor: dict[str, Any]) -> Columns:
    rows, width = tensor["shape"]
    if width != len(signature.inputs):
        raise SchemaMismatch(
            f"input {tensor['name']!r} has {width} columns; the model takes {len(signature.inputs)}"
        )
    if tensor["datatype"] not in NUMERIC_TYPES:
        raise SchemaMismatch(f"input {tensor['name']!r}: a [N, F] tensor must be numeric")
    if rows == 0:
        raise SchemaMismatch("no rows given")
    values = _values(tensor)
    if isinstance(values, np.ndarray):
        if values.dtype.kind == "f" and signature.all_numeric and not signature.has_bool:
            matrix = values.reshape(rows, width)  # floats: the one matrix JSON's floats make
            if np.isfinite(matrix).all():
                return Columns(signature.feature_names, rows, numbers=matrix)
        values = values.tolist()  # anything else: decoded as its JSON would be
    return from_matrix(signature, values, width)


def _requested_outputs(payload: dict[str, Any]) -> set[str] | None:
    outputs = payload.get("outputs")
    if outputs is None:
        return None
    if not isinstance(outputs, list) or not all(
        isinstance(o, dict) and isinstance(o.get("name"), str) for o in outputs
    ):
        raise SchemaMismatch("'outputs' must be a list of {name} objects")
    names = {o["name"] for o in outputs}
    unknown = names - {"predict", "predict_proba"}
    if unknown:
        raise SchemaMismatch(f"unknown outputs {sorted(unknown)}; use predict, predict_proba")
    return names


def _type_of(values: np.ndarray) -> str:
    return _KIND_TO_TYPE.get(values.dtype.kind, "BYTES")


def _output_type(signature: Signature) -> str:
    classes = signature.output.classes
    if classes and all(isinstance(c, bool | int) for c in classes):
        return "INT64"
    if classes:
        return "BYTES"
    return "FP64"
