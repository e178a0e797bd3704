"""Simple JSON protocol: ``POST /v1/endpoints/{name}/predict`` with records or columns."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from modelyard.domain.signature import Signature
from modelyard.errors import SchemaMismatch
from modelyard.runtime.active import ActiveEndpoint
from modelyard.runtime.inputs import Columns, from_columns, from_records
from modelyard.runtime.pool import LoadedVersion
from modelyard.serving.answers import Answer
from modelyard.serving.auth import require
from modelyard.serving.body import parse_json, read_json_bytes
from modelyard.serving.dataplane import DataPlane, plane_of
from modelyard.serving.deadline import deadline_of
from modelyard.serving.inference import Served, decode_for
from modelyard.serving.routing import pick_route, without_field
from modelyard.serving.typed_body import decode_records

router = APIRouter(tags=["inference"])

REQUEST_SCHEMA = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "oneOf": [
                        {
                            "type": "object",
                            "required": ["instances"],
                            "properties": {
                                "instances": {
                                    "type": "array",
                                    "minItems": 1,
                                    "items": {"type": "object"},
                                }
                            },
                            "description": "Records: one object per row, feature → value.",
                        },
                        {
                            "type": "object",
                            "required": ["inputs"],
                            "properties": {
                                "inputs": {
                                    "type": "object",
                                    "additionalProperties": {"type": "array"},
                                }
                            },
                            "description": "Columns: feature → list of values.",
                        },
                    ]
                },
                "example": {"instances": [{"mean radius": 14.1, "mean texture": 19.3}]},
            }
        },
    },
    "responses": {
        "200": {
            "description": "predictions, probabilities (classifiers), model, version, "
            "prediction_ids"
        },
        "400": {"description": "malformed JSON"},
        "413": {"description": "body over the limit, or more rows than max_request_rows"},
        "415": {"description": "not application/json"},
        "422": {"description": "rows that break the model's signature: {row, feature, rule}"},
        "503": {"description": "queue full or not loaded yet (Retry-After)"},
        "504": {"description": "prediction timed out"},
    },
}


@router.post(
    "/v1/endpoints/{name}/predict",
    dependencies=[Depends(require("predict"))],
    openapi_extra=REQUEST_SCHEMA,
    summary="Predict rows (records or columns)",
)
async def predict(name: str, request: Request) -> Response:
    return await handle_predict(plane_of(request), name, request)


async def handle_predict(plane: DataPlane, name: str, request: Request) -> Response:
    """The whole of one simple-JSON prediction (also called by the fast path, see fastpath.py)."""
    plane.endpoint(name)  # before reading the body: unknown names cost nothing
    raw = await read_json_bytes(request, plane.max_body_bytes)
    return await predict_body(plane, name, request, raw)


async def predict_body(plane: DataPlane, name: str, request: Request, raw: bytes) -> Answer:
    """A prediction for a body read and checked (type, size, not empty) already: by
    :func:`handle_predict`, or by the connection itself (serving/direct.py)."""
    # Looked up again after the body's await: the table may have swapped while the body
    # arrived, and the batcher that was current then may be closing now.
    endpoint = plane.endpoint(name)
    columns = None
    picked = None
    if endpoint.endpoint.sticky_key is None:  # the route does not depend on the body
        picked = pick_route(endpoint, request, None)
        columns = _typed(picked[0], raw)
    if columns is None:  # anything the typed decode does not take, and its refusals
        payload = parse_json(raw)
        active, key = picked or pick_route(endpoint, request, payload)
        signature = active.loaded.signature
        sticky = active.endpoint.sticky_key
        if sticky is not None:
            payload = without_field(payload, sticky, signature.feature_set)
        columns = decode_for(active, signature, payload, decode, count_rows)
    else:
        assert picked is not None  # columns come only from the typed decode of a pick
        active, key = picked
    served = await plane.infer(active, columns, key, deadline_of(request))
    return Answer(answer_bytes(served, active.loaded), served.version)


def answer_bytes(served: Served, loaded: LoadedVersion) -> bytes:
    """The JSON of a v1 answer: predictions, model, version, prediction ids, and for a
    classifier its probabilities and classes."""
    body: dict[str, Any] = {
        "predictions": served.output.predictions.tolist(),
        "model": loaded.version.name,
        "version": loaded.version.version,
        "prediction_ids": served.prediction_ids,
    }
    if served.output.probabilities is not None:
        body["probabilities"] = served.output.probabilities.tolist()
        body["classes"] = loaded.classes
    return orjson.dumps(body)


def _typed(active: ActiveEndpoint, raw: bytes) -> Columns | None:
    """Records decoded straight into a matrix (serving/typed_body.py), within the route's
    row cap; ``None``: the general path decides (and words any refusal)."""
    return decode_records(active.loaded.signature, raw, active.endpoint.limits.max_request_rows)


def count_rows(payload: object) -> int:
    """The rows a body holds, counted before any is decoded (0 when it holds none the
    way this protocol says: ``decode`` then says what is wrong)."""
    if not isinstance(payload, dict):
        return 0
    records = payload.get("instances")
    if isinstance(records, list):
        return len(records)
    columns = payload.get("inputs")
    if isinstance(columns, dict):
        return max((len(v) for v in columns.values() if isinstance(v, list)), default=0)
    return 0


def decode(signature: Signature, payload: object) -> Columns:
    if not isinstance(payload, dict):
        raise SchemaMismatch("the body must be a JSON object with 'instances' or 'inputs'")
    if "instances" in payload and "inputs" not in payload:
        return from_records(signature, payload["instances"])
    if "inputs" in payload and "instances" not in payload:
        return from_columns(signature, payload["inputs"])
    raise SchemaMismatch("give exactly one of 'instances' (records) or 'inputs' (columns)")
