"""``POST /v1/endpoints/{name}/feedback``: ground truth for earlier predictions."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from modelyard.domain.feedback import feedback_items
from modelyard.serving.auth import require
from modelyard.serving.body import read_json
from modelyard.serving.dataplane import plane_of
from modelyard.serving.status import json_response
from modelyard.serving.storecall import from_store

router = APIRouter(tags=["feedback"])
log = logging.getLogger(__name__)

FEEDBACK_SCHEMA = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {"type": ["object", "array"]},
                "example": {
                    "feedback": [{"prediction_id": "4f3c…-0", "actual": 1}],
                },
            }
        },
    },
    "responses": {
        "200": {
            "description": "accepted, updated (corrections), duplicates, unknown ids and "
            "invalid items, each with its index in the request"
        },
        "422": {"description": "the body is not feedback at all, or too many items"},
    },
}


@router.post(
    "/v1/endpoints/{name}/feedback",
    dependencies=[Depends(require("predict"))],
    openapi_extra=FEEDBACK_SCHEMA,
    summary="Send the actual outcomes of earlier predictions",
)
async def feedback(name: str, request: Request) -> Response:
    """One item or many; unknown ids and bad items are reported one by one, never failing
    the others. Sending the same label again changes nothing; a different one corrects it."""
    plane = plane_of(request)
    monitor = plane.admin.monitor
    await from_store(request, monitor.get_endpoint, name)  # 404 before reading the body
    items, invalid = feedback_items(await read_json(request, plane.max_body_bytes))
    if plane.observer is not None:
        # Predictions this process made in the last flush interval are written first, so
        # a label sent right after its prediction finds it.
        try:
            await from_store(request, plane.observer.flush)
        except Exception:  # the flusher retries on its own; labels are still checked
            log.exception("flush before feedback failed")
    result = await from_store(
        request, monitor.add_feedback, name, [(i.prediction_id, i.actual) for i in items]
    )
    return json_response(
        {
            "accepted": result.accepted,
            "updated": result.updated,
            "duplicates": result.duplicates,
            "unknown": [
                {"index": items[i].index, "prediction_id": pid, "rule": "no such prediction"}
                for i, pid in result.unknown
            ],
            "invalid": invalid,
        }
    )
