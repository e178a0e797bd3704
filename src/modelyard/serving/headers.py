"""One request header by name, read straight from the ASGI scope.

Starlette's ``request.headers.get`` lower-cases and encodes the name on every call and
raises and catches a ``KeyError`` for each header that is absent, which is most of the
five an inference request is asked for (deadline, version override, routing key, API
key). ASGI servers hand header names over lower-cased (uvicorn, the gRPC bridge, the test
client), as Starlette itself assumes, so a name given as lower-case bytes is compared
as it is. The scope's headers are read as the list every server here gives, not as a
one-shot iterable.
"""

from __future__ import annotations

from collections.abc import Iterable

from starlette.requests import HTTPConnection


def raw_header(headers: Iterable[tuple[bytes, bytes]], name: bytes) -> bytes | None:
    """The first value of header ``name`` (lower-case bytes) in a scope's header list."""
    for key, value in headers:
        if key == name:
            return value
    return None


def header(request: HTTPConnection, name: bytes) -> str | None:
    """The first value of header ``name`` (lower-case bytes) as text, or ``None``."""
    value = raw_header(request.scope["headers"], name)
    return None if value is None else value.decode("latin-1")
