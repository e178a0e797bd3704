"""Rate limits and the throttling of invalid keys, on an injected clock."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import orjson
import pytest
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from modelyard.domain.keys import ApiKey
from modelyard.serving.errors import HttpError
from modelyard.serving.limits import CallerLimits, client_of


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _scope(host: str = "10.1.2.3", path: str = "/v1/endpoints/a/predict") -> Scope:
    return {"type": "http", "path": path, "client": (host, 5555), "headers": [], "state": {}}


def _key(key_id: str = "k1", rate: float | None = None, burst: int | None = None) -> ApiKey:
    return ApiKey(key_id, ("predict",), None, "", datetime.now(UTC), "t", None, rate, burst)


def test_a_keys_own_rate_wins_over_the_default_and_0_means_none() -> None:
    clock = Clock()
    limits = CallerLimits(key_rate=1, clock=clock)
    own = _key("own", rate=2, burst=2)
    limits.admitted("s", own)
    limits.admitted("s", own)
    with pytest.raises(HttpError, match=r"rate limit of 2 requests/s with a burst of 2") as info:
        limits.admitted("s", own)
    assert (info.value.status, info.value.headers) == (429, {"Retry-After": "1"})
    for _ in range(100):
        limits.admitted("s", _key("unlimited", rate=0))
    limits.admitted("s", _key("default"))
    with pytest.raises(HttpError, match="MODELYARD_KEY_RATE_LIMIT"):
        limits.admitted("s", _key("default"))
    clock.now = 1.0
    limits.admitted("s", _key("default"))


def test_with_every_limit_off_nothing_is_refused() -> None:
    limits = CallerLimits()
    request = Request(_scope())
    for _ in range(1000):
        limits.failed(request)
        limits.before_lookup(request, "myk_x")
        limits.admitted("myk_x", _key())


def test_invalid_keys_throttle_their_address_but_not_keys_that_worked() -> None:
    clock = Clock()
    limits = CallerLimits(failure_limit=3, failure_window=30, clock=clock)
    guesser, neighbour = Request(_scope("10.0.0.9")), Request(_scope("10.0.0.10"))
    limits.admitted("myk_good", _key())
    for _ in range(3):
        limits.before_lookup(guesser, "myk_guess")
        limits.failed(guesser)
    with pytest.raises(HttpError, match=r"3 per 30 s \(MODELYARD_AUTH_FAILURE_LIMIT\)") as info:
        limits.before_lookup(guesser, "myk_guess")
    assert (info.value.status, info.value.headers) == (429, {"Retry-After": "10"})
    limits.before_lookup(guesser, "myk_good")  # behind one balancer, a good key still works
    limits.before_lookup(neighbour, "myk_guess")
    clock.now = 10.0  # one failure's worth refilled
    limits.before_lookup(guesser, "myk_guess")


def test_ipv6_clients_count_per_64_block() -> None:
    assert client_of(_scope("2001:db8:1:2:aaaa::1")) == "2001:db8:1:2::/64"
    assert client_of(_scope("2001:db8:1:2:bbbb::9")) == "2001:db8:1:2::/64"
    assert client_of(_scope("192.0.2.1")) == "192.0.2.1"
    # IPv4 clients of a dual-stack listener: each its own, not all of ::/64
    assert client_of(_scope("::ffff:192.0.2.1")) == "192.0.2.1"
    assert client_of(_scope("::ffff:192.0.2.2")) == "192.0.2.2"
    assert client_of({"type": "http", "client": None}) == "unknown"


async def _ok(scope: Scope, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


def _call(app: ASGIApp, scope: Scope) -> list[Message]:
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b""}

    async def send(message: Message) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    return sent


def test_the_client_limit_answers_429_in_the_error_format_and_spares_probes() -> None:
    clock = Clock()
    limits = CallerLimits(client_rate=1, clock=clock)
    app = limits.around(_ok)
    assert (_call(app, _scope()))[0]["status"] == 200
    refused = _call(app, _scope())
    assert refused[0]["status"] == 429
    assert (b"retry-after", b"1") in refused[0]["headers"]
    error = orjson.loads(refused[1]["body"])["error"]
    assert error["code"] == "rate_limited"
    assert "this address is over the rate limit of 1 requests/s" in error["message"]
    assert "10.1.2.3" not in error["message"]  # behind a proxy: its internal address
    assert (_call(app, _scope(path="/health/ready")))[0]["status"] == 200
    assert (_call(app, _scope("10.1.2.4")))[0]["status"] == 200
    assert CallerLimits().around(_ok) is _ok  # off: not even a wrapper
