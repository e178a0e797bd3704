"""Reading a JSON request body: content type, size limit, parse — each refusal a clear 4xx."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request

from modelyard.serving.errors import HttpError

JSON_TYPES = ("application/json",)


async def read_json(request: Request, limit: int) -> Any:
    content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    # No Content-Type at all is read as JSON (Open Inference Protocol clients send none);
    # a different one is refused.
    if content_type and content_type not in JSON_TYPES:
        raise HttpError(
            415,
            "unsupported_media_type",
            f"Content-Type must be application/json, got {content_type or 'none'!r}",
        )
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise HttpError(400, "bad_request", "Content-Length is not a number")
        if int(declared) > limit:
            raise HttpError(
                413, "payload_too_large", f"body is {declared} bytes; the limit is {limit}"
            )
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HttpError(413, "payload_too_large", f"body is over the limit of {limit} bytes")
        chunks.append(chunk)
    raw = b"".join(chunks)
    if not raw:
        raise HttpError(400, "bad_request", "the body is empty; send a JSON object")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise HttpError(400, "malformed_json", f"the body is not valid JSON: {exc}") from None
