"""Per-request context as a pure ASGI middleware: request id in, request id out."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from modelyard.serving.headers import raw_header
from modelyard.serving.ids import random_hex

REQUEST_ID_HEADER = b"x-request-id"  # asked for and answered with
_MAX_ID = 128


def request_id(scope: Scope) -> str:
    return str(scope.get("state", {}).get("request_id", ""))


def _valid(value: bytes) -> bool:
    return 0 < len(value) <= _MAX_ID and all(33 <= b < 127 for b in value)


def request_id_from(headers: Iterable[tuple[bytes, bytes]]) -> str:
    """The caller's ``X-Request-ID`` when it is a sane one, else a fresh one (HTTP headers
    and gRPC metadata alike)."""
    given = raw_header(headers, REQUEST_ID_HEADER)
    return given.decode() if given is not None and _valid(given) else random_hex(16)


class RequestContext:
    """Honours a caller's ``X-Request-ID`` (or makes one) and echoes it on every response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = request_id_from(scope["headers"]).encode()
        scope.setdefault("state", {})["request_id"] = rid.decode()

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers: list[Any] = list(message.get("headers", []))
                headers.append((REQUEST_ID_HEADER, rid))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_id)
