from starlette.requests import Request

from modelyard.serving.headers import header


def _request(headers: list[tuple[bytes, bytes]]) -> Request:
    return Request({"type": "http", "method": "POST", "path": "/", "headers": headers})


def test_a_header_is_read_as_starlette_reads_it() -> None:
    raw = [
        (b"content-type", b"application/json"),
        (b"x-routing-key", b"user-\xe9"),
        (b"x-routing-key", b"second"),
    ]
    request = _request(raw)
    for name in ("content-type", "x-routing-key", "x-api-key"):
        assert header(request, name.encode()) == request.headers.get(name)
    assert header(request, b"x-routing-key") == "user-é"  # the first value, latin-1
    assert header(request, b"x-api-key") is None
