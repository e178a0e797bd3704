"""A prediction's 200 answer: its bytes and a few headers (the answering version, length,
type; a v2 answer with binary tensors also the length of its JSON part), made without
Starlette's header normalisation (lower-casing and encoding a mapping, scanning it for the
length and type) and read back by the fast path without parsing its headers again."""

from __future__ import annotations

from starlette.background import BackgroundTask
from starlette.responses import Response

_JSON = (b"content-type", b"application/json")


class Answer(Response):
    """``Response(body, media_type=media_type, headers={"X-Modelyard-Version": v, **extra})``
    in effect (for the JSON and octet-stream types it is used with: Starlette would add a
    charset to a ``text/*`` one), with ``version`` kept as an attribute for the request's
    metrics. ``extra``: raw headers, names in lower case."""

    def __init__(
        self,
        body: bytes,
        version: str,
        media_type: str = "application/json",
        extra: tuple[tuple[bytes, bytes], ...] = (),
    ) -> None:
        self.status_code = 200
        self.media_type = media_type
        self.body = body
        self.background: BackgroundTask | None = None
        self.version = version
        self.raw_headers = [
            (b"x-modelyard-version", version.encode("latin-1")),
            (b"content-length", b"%d" % len(body)),
            _JSON if media_type == "application/json" else (b"content-type", media_type.encode()),
            *extra,
        ]


def version_of(response: Response) -> str:
    """The version that answered (``X-Modelyard-Version``), or ``""``."""
    if isinstance(response, Answer):
        return response.version
    return response.headers.get("x-modelyard-version", "")
