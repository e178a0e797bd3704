"""The binary tensor data extension of v2 HTTP (what ``tritonclient.http`` sends by default).

A request with an ``Inference-Header-Content-Length: N`` header is N bytes of JSON, then
the raw bytes of each input whose ``parameters.binary_data_size`` says so, in the order of
the inputs. Here those bytes become each input's ``data``: a numpy array over the bytes for
numbers, a list of text for BYTES; the v2 route decodes either exactly as it decodes the
same values sent as JSON, so the two predict the same.

Outputs are sent as raw bytes when asked for: ``parameters.binary_data`` on a requested
output, else ``binary_data_output`` in the request's parameters; the response then carries
the same header and its JSON names each output's ``binary_data_size``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson
from starlette.requests import Request

from modelyard.serving.answers import Answer
from modelyard.serving.body import parse_json, read_bytes, read_json_bytes
from modelyard.serving.errors import HttpError
from modelyard.serving.headers import header
from modelyard.serving.tensors import TensorError, check_shape, from_raw, to_raw

HEADER = "inference-header-content-length"
HEADER_BYTES = HEADER.encode()


@dataclass(frozen=True)
class OutputTensor:
    name: str
    datatype: str
    values: np.ndarray


async def read_infer_body(request: Request, limit: int) -> Any:
    """A v2 inference request as JSON, whether it came as JSON or with binary tensors."""
    declared = header(request, HEADER_BYTES)
    if declared is None:
        return infer_payload(request, await read_json_bytes(request, limit))
    # Any Content-Type is taken: curl and urllib label such a body form data, tritonclient
    # sends none. (A browser cannot add this header cross-site without a CORS preflight,
    # which this server never grants, so this opens nothing to other sites.)
    return infer_payload(request, await read_bytes(request, limit))


def infer_payload(request: Request, raw: bytes) -> Any:
    """A v2 body read already (by :func:`read_infer_body`, or by the connection itself:
    serving/direct.py) as JSON, its binary tensors, if its headers say it has some,
    decoded into their inputs' ``data``."""
    declared = header(request, HEADER_BYTES)
    if declared is None:
        payload = parse_json(raw)
        for name in _binary_inputs(payload):
            raise _bad(
                f"input {name!r} has parameters.binary_data_size but the request has no "
                "Inference-Header-Content-Length header saying where its JSON ends"
            )
        return payload
    return parse_binary(raw, declared)


def parse_binary(raw: bytes, declared: str) -> Any:
    """``raw`` split at the ``Inference-Header-Content-Length`` value ``declared``: the
    JSON header with every binary input's bytes decoded into its ``data``."""
    if not (declared.strip().isascii() and declared.strip().isdigit()):  # not '²' (latin-1)
        raise _bad(f"Inference-Header-Content-Length must be a number of bytes, got {declared!r}")
    length = int(declared)
    if length == 0 or length > len(raw):
        raise _bad(
            f"Inference-Header-Content-Length is {length}; it must be from 1 to the body's "
            f"{len(raw)} bytes"
        )
    try:
        payload = orjson.loads(raw[:length])
    except orjson.JSONDecodeError as exc:
        raise HttpError(
            400,
            "malformed_json",
            f"the first {length} bytes (Inference-Header-Content-Length) are not valid JSON: {exc}",
        ) from None
    try:
        _attach(payload, memoryview(raw)[length:])
    except TensorError as exc:
        raise _bad(str(exc)) from None
    return payload


def _attach(payload: Any, tail: memoryview) -> None:
    tensors = payload.get("inputs") if isinstance(payload, dict) else None
    offset = 0
    for index, tensor in enumerate(tensors if isinstance(tensors, list) else ()):
        parameters = tensor.get("parameters") if isinstance(tensor, dict) else None
        if not isinstance(parameters, dict) or "binary_data_size" not in parameters:
            continue
        name = tensor.get("name")
        label = name if isinstance(name, str) else f"inputs[{index}]"
        size = parameters["binary_data_size"]
        if type(size) is not int or size < 0:
            raise TensorError(
                f"input {label!r}: parameters.binary_data_size must be a number of bytes >= 0,"
                f" got {size!r}"
            )
        if "data" in tensor:
            raise TensorError(f"input {label!r}: has both data and binary_data_size; send one")
        if offset + size > len(tail):
            raise TensorError(
                f"input {label!r}: binary_data_size {size} goes past the end of the body "
                f"({len(tail) - offset} bytes of binary data left for it)"
            )
        shape = check_shape(label, tensor.get("shape"))
        tensor["data"] = from_raw(
            label, tensor.get("datatype"), shape, tail[offset : offset + size]
        )
        offset += size
    if offset != len(tail):
        raise TensorError(
            f"the body has {len(tail)} bytes after its JSON header, but the inputs' "
            f"binary_data_size add up to {offset}"
        )


def _binary_inputs(payload: Any) -> list[str]:
    tensors = payload.get("inputs") if isinstance(payload, dict) else None
    return [
        str(t.get("name"))
        for t in (tensors if isinstance(tensors, list) else ())
        if isinstance(t, dict)
        and isinstance(t.get("parameters"), dict)
        and "binary_data_size" in t["parameters"]
    ]


def binary_outputs(payload: dict[str, Any], names: list[str]) -> set[str]:
    """Which of the outputs ``names`` go back as raw bytes."""
    parameters = payload.get("parameters")
    default = False
    if isinstance(parameters, dict) and "binary_data_output" in parameters:
        default = parameters["binary_data_output"]
        if not isinstance(default, bool):
            raise _bad(f"parameters.binary_data_output must be true or false, got {default!r}")
    chosen = {name: default for name in names}
    for index, output in enumerate(payload.get("outputs") or ()):
        asked = output.get("parameters") if isinstance(output, dict) else None
        if not isinstance(output, dict) or not isinstance(output.get("name"), str):
            continue  # a malformed outputs entry is refused when the request is decoded
        if isinstance(asked, dict) and "binary_data" in asked:
            if not isinstance(asked["binary_data"], bool):
                raise _bad(
                    f"outputs[{index}].parameters.binary_data must be true or false, "
                    f"got {asked['binary_data']!r}"
                )
            chosen[output["name"]] = asked["binary_data"]
    return {name for name, binary in chosen.items() if binary}


def respond(
    body: dict[str, Any], outputs: list[OutputTensor], binary: set[str], version: str
) -> Answer:
    """The inference response, from ``version`` (``churn@3``): JSON alone, or a JSON
    header and the binary outputs' bytes."""
    chunks = []
    described = []
    for output in outputs:
        tensor: dict[str, Any] = {
            "name": output.name,
            "shape": list(output.values.shape),
            "datatype": output.datatype,
        }
        if output.name in binary:
            raw = to_raw(output.values, output.datatype)
            tensor["parameters"] = {"binary_data_size": len(raw)}
            chunks.append(raw)
        else:
            tensor["data"] = _flat(output.values)
        described.append(tensor)
    described_json = orjson.dumps({**body, "outputs": described})
    if not chunks:
        return Answer(described_json, version)
    return Answer(
        b"".join((described_json, *chunks)),
        version,
        "application/octet-stream",
        ((HEADER_BYTES, b"%d" % len(described_json)),),
    )


def _flat(values: np.ndarray) -> list[Any]:
    flat = values.reshape(-1)
    if flat.dtype.kind in "OUS":
        return [str(v) for v in flat]
    result: list[Any] = flat.tolist()
    return result


def _bad(message: str) -> HttpError:
    return HttpError(400, "bad_request", message)
