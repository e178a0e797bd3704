"""A prediction's 200 answer: JSON bytes and three headers, made without Starlette's
header normalisation (lower-casing and encoding a mapping, scanning it for the length and
type) and read back by the fast path without parsing its headers again."""

from __future__ import annotations

from starlette.background import BackgroundTask
from starlette.responses import Response

_JSON = (b"content-type", b"application/json")


class Answer(Response):
    """``Response(body, media_type="application/json", headers={"X-Modelyard-Version": v})``
    in effect, with ``version`` kept as an attribute for the request's metrics."""

    def __init__(self, body: bytes, version: str) -> None:
        self.status_code = 200
        self.media_type = "application/json"
        self.body = body
        self.background: BackgroundTask | None = None
        self.version = version
        self.raw_headers = [
            (b"x-modelyard-version", version.encode("latin-1")),
            (b"content-length", b"%d" % len(body)),
            _JSON,
        ]


def version_of(response: Response) -> str:
    """The version that answered (``X-Modelyard-Version``), or ``""``."""
    if isinstance(response, Answer):
        return response.version
    return response.headers.get("x-modelyard-version", "")
