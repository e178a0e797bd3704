"""Reading a JSON request body: content type, size limit, parse, schema — each refusal a
clear 4xx."""

from __future__ import annotations

import asyncio
from typing import Any, TypeVar

import orjson
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from starlette.requests import ClientDisconnect, Request

from modelyard.serving.errors import HttpError
from modelyard.serving.headers import header
from modelyard.serving.refusals import REFUSALS

JSON_TYPES = ("application/json",)
BODY_DEADLINE = "modelyard.body_deadline"  # in a request's state: loop time its body is due


async def read_json(request: Request, limit: int, *, typed: bool = False) -> Any:
    """``typed``: the body must say it is JSON (admin actions: a browser sends a JSON type
    cross-site only after a CORS preflight this server never grants, so another site cannot
    make a visitor's browser act on a keyless ``--dev`` server)."""
    return parse_json(await read_json_bytes(request, limit, typed=typed))


async def read_json_bytes(request: Request, limit: int, *, typed: bool = False) -> bytes:
    """The bytes of a JSON body, not parsed yet: :func:`read_json`'s checks of the content
    type, size and emptiness (for a reader that parses it its own way first)."""
    content_type = (header(request, b"content-type") or "").split(";", 1)[0].strip().lower()
    # No Content-Type at all is read as JSON (Open Inference Protocol clients send none);
    # a different one is refused.
    if (content_type or typed) and content_type not in JSON_TYPES:
        raise HttpError(
            415,
            "unsupported_media_type",
            f"Content-Type must be application/json, got {content_type or 'none'!r}",
        )
    raw = await read_bytes(request, limit)
    if not raw:
        raise HttpError(400, "bad_request", "the body is empty; send a JSON object")
    return raw


def parse_json(raw: bytes) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise HttpError(400, "malformed_json", f"the body is not valid JSON: {exc}") from None


async def read_bytes(request: Request, limit: int) -> bytes:
    """The whole body, refused past ``limit`` bytes (413) or past the body deadline (408):
    every reader of a request body goes through here."""
    declared = header(request, b"content-length")
    if declared is not None:
        if not declared.isdigit():
            raise HttpError(400, "bad_request", "Content-Length is not a number")
        if int(declared) > limit:
            raise HttpError(
                413, "payload_too_large", f"body is {declared} bytes; the limit is {limit}"
            )
    # Set by the connection (protocol.py) while the body is still arriving; a body that
    # came with its headers (most) needs no timer.
    deadline = request.scope.get("state", {}).get(BODY_DEADLINE)
    if deadline is None:
        return await _read(request, limit)
    try:
        async with asyncio.timeout_at(deadline):
            return await _read(request, limit)
    except TimeoutError:
        raise body_late() from None


def body_late() -> HttpError:
    """The refusal of a body still arriving at its deadline (counted as such)."""
    REFUSALS.add("body_timeout")
    return HttpError(
        408,
        "request_timeout",
        "the request body did not arrive in time "
        "(MODELYARD_BODY_TIMEOUT_SECONDS from the end of its headers)",
        {"Connection": "close"},
    )


async def _read(request: Request, limit: int) -> bytes:
    """The body's messages straight from ``receive`` (what ``Request.stream`` does, without
    its async generator: most bodies are one message)."""
    receive = request.receive
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise HttpError(413, "payload_too_large", f"body is over the limit of {limit} bytes")
        if not message.get("more_body", False):
            if not chunks:
                return chunk
            chunks.append(chunk)
            return b"".join(chunks)
        chunks.append(chunk)


ADMIN_BODY_LIMIT = 64 * 1024  # an admin action is a few fields; anything bigger is not one

Body = TypeVar("Body", bound=BaseModel)


class Reasoned(BaseModel):
    """Every action taken over HTTP says why: the reason goes to the audit log."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(
        min_length=1,
        max_length=1000,
        description="Why: recorded in the audit log (and the alias history)",
    )

    @field_validator("reason")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value.strip()


async def read_body(request: Request, schema: type[Body]) -> Body:
    """An admin action's JSON body, checked against ``schema``: 422 names each field and
    the rule it breaks (as for every other validation error)."""
    data = await read_json(request, ADMIN_BODY_LIMIT, typed=True)
    try:
        return schema.model_validate(data)
    except ValidationError as exc:
        raise RequestValidationError(exc.errors(include_url=False, include_input=False)) from None


def body_schema(schema: type[BaseModel]) -> dict[str, Any]:
    """``openapi_extra`` documenting a body read with :func:`read_body`."""
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": schema.model_json_schema()}},
        }
    }
