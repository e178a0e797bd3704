"""The inference routes' cycle (serving/lean_cycle.py) on the real connection protocol over
loopback sockets: the same exchange as uvicorn's cycle, and everything it does not cover left
to uvicorn's."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import uvicorn
from uvicorn.server import ServerState

from modelyard.serving.lean_cycle import LeanCycle
from modelyard.serving.protocol import LimitedHttpToolsProtocol

PATH = "/v1/endpoints/churn/predict"
App = Callable[[dict[str, Any], Any, Any], Awaitable[None]]


class Seen:
    """What the app saw of each request: which cycle carried it, and the body it read."""

    def __init__(self) -> None:
        self.cycles: list[str] = []
        self.bodies: list[bytes] = []


async def read_body(receive: Any) -> bytes:
    body = b""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ConnectionError("the client went away")
        part: bytes = message.get("body", b"")
        body += part
        if not message.get("more_body", False):
            return body


def echo(seen: Seen) -> App:
    """Answers the body it read, reversed, in one message."""

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        seen.cycles.append(type(receive.__self__).__name__)
        body = await read_body(receive)
        seen.bodies.append(body)
        answer = body[::-1]
        headers = [(b"content-type", b"text/plain"), (b"content-length", b"%d" % len(answer))]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": answer})

    return app


class Client:
    """Opens connections to the server and closes them all when the test is done."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.writers: list[asyncio.StreamWriter] = []

    async def open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        self.writers.append(writer)
        return reader, writer

    async def close(self) -> None:
        for writer in self.writers:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()


async def serving(app: App, talk: Callable[[Client], Awaitable[Any]]) -> Any:
    """``talk(client)`` against ``app`` behind the server's own connection protocol."""
    config = uvicorn.Config(app, proxy_headers=False, lifespan="off", log_level="critical")
    config.load()
    state = ServerState()
    # What uvicorn's server loop keeps there: its date and server headers.
    state.default_headers = [(b"date", b"Sun, 06 Dec 2026 12:00:00 GMT"), (b"server", b"uvicorn")]
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: LimitedHttpToolsProtocol(config=config, server_state=state, app_state={}),
        "127.0.0.1",
        0,
    )
    client = Client(server.sockets[0].getsockname()[1])
    try:
        return await talk(client)
    finally:
        await client.close()
        server.close()
        for connection in list(state.connections):
            connection.shutdown()
        await asyncio.wait_for(server.wait_closed(), 10)


def post(body: bytes, path: str = PATH, version: str = "1.1", extra: str = "") -> bytes:
    head = f"POST {path} HTTP/{version}\r\nHost: t\r\nContent-Length: {len(body)}\r\n{extra}\r\n"
    return head.encode() + body


async def answers(reader: asyncio.StreamReader, count: int) -> list[tuple[bytes, bytes]]:
    """``count`` answers as (head, body), read by their Content-Length."""
    got = []
    for _ in range(count):
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        length = next(
            int(line.split(b":")[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        )
        got.append((head, await asyncio.wait_for(reader.readexactly(length), 10)))
    return got


async def closed(reader: asyncio.StreamReader) -> bool:
    return await asyncio.wait_for(reader.read(), 10) == b""


def test_requests_on_one_connection_are_answered_in_order_and_close_ends_it() -> None:
    seen = Seen()

    async def talk(client: Client) -> tuple[list[tuple[bytes, bytes]], bool]:
        reader, writer = await client.open()
        got = []
        for body in (b"abc", b"hello"):
            writer.write(post(body))
            got += await answers(reader, 1)
        writer.write(post(b"last", extra="Connection: close\r\n"))
        got += await answers(reader, 1)
        return got, await closed(reader)

    got, ended = asyncio.run(serving(echo(seen), talk))
    assert [body for _, body in got] == [b"cba", b"olleh", b"tsal"]
    assert seen.cycles == ["LeanCycle"] * 3
    first = got[0][0].split(b"\r\n")
    assert first[0] == b"HTTP/1.1 200 OK"
    assert {line.split(b":")[0] for line in first[1:] if line} == {
        b"date",
        b"server",
        b"content-type",
        b"content-length",
    }
    assert b"connection: close" in got[2][0]
    assert ended


def test_a_body_in_pieces_and_http_1_0_are_carried_too() -> None:
    seen = Seen()

    async def talk(client: Client) -> tuple[list[tuple[bytes, bytes]], bool]:
        reader, writer = await client.open()
        whole = post(b"0123456789")
        writer.write(whole[:-6])
        await writer.drain()
        await asyncio.sleep(0.2)  # the app is waiting for the rest by now
        writer.write(whole[-6:])
        got = await answers(reader, 1)
        writer.write(post(b"old", version="1.0"))
        got += await answers(reader, 1)
        return got, await closed(reader)

    got, ended = asyncio.run(serving(echo(seen), talk))
    assert [body for _, body in got] == [b"9876543210", b"dlo"]
    assert seen.cycles == ["LeanCycle", "LeanCycle"]
    assert b"connection: close" in got[1][0]
    assert ended


def test_what_the_lean_cycle_does_not_cover_goes_to_uvicorns() -> None:
    seen = Seen()

    async def talk(client: Client) -> list[tuple[bytes, bytes]]:
        reader, writer = await client.open()
        # Two requests in one write: the second waits behind the first (pipelined).
        writer.write(post(b"one") + post(b"two"))
        got = await answers(reader, 2)
        writer.write(post(b"other route", path="/v1/endpoints/churn/feedback"))
        got += await answers(reader, 1)
        writer.write(post(b"", path=PATH + "?x=1").replace(b"POST", b"PUT", 1))
        got += await answers(reader, 1)
        writer.write(post(b"wait", extra="Expect: 100-continue\r\n"))
        continued = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        assert continued == b"HTTP/1.1 100 Continue\r\n\r\n"
        return got + await answers(reader, 1)

    got = asyncio.run(serving(echo(seen), talk))
    assert [body for _, body in got] == [b"eno", b"owt", b"etuor rehto", b"", b"tiaw"]
    assert seen.cycles == [
        "LeanCycle",
        "RequestResponseCycle",
        "RequestResponseCycle",
        "RequestResponseCycle",
        "RequestResponseCycle",
    ]


def test_an_answer_sent_in_parts_leaves_as_one_and_a_missing_length_is_added() -> None:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await read_body(receive)
        await send({"type": "http.response.start", "status": 422, "headers": []})
        await send({"type": "http.response.body", "body": b"par", "more_body": True})
        await send({"type": "http.response.body", "body": b"ts"})

    async def talk(client: Client) -> list[tuple[bytes, bytes]]:
        reader, writer = await client.open()
        writer.write(post(b"x"))
        return await answers(reader, 1)

    [(head, body)] = asyncio.run(serving(app, talk))
    assert head.startswith(b"HTTP/1.1 422 Unprocessable")
    assert b"content-length: 5\r\n" in head
    assert body == b"parts"


@pytest.mark.parametrize(
    "failure", ["raises", "returns without an answer", "header with a line break"]
)
def test_an_app_that_fails_gets_a_500_or_a_closed_connection_never_a_bad_head(
    failure: str,
) -> None:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await read_body(receive)
        if failure == "raises":
            raise ValueError("boom")
        if failure == "header with a line break":
            injected = [(b"x-version", b"1\r\nset-cookie: evil=1"), (b"content-length", b"2")]
            await send({"type": "http.response.start", "status": 200, "headers": injected})
            await send({"type": "http.response.body", "body": b"ok"})

    async def talk(client: Client) -> bytes:
        reader, writer = await client.open()
        writer.write(post(b"x"))
        return await asyncio.wait_for(reader.read(), 10)

    received = asyncio.run(serving(app, talk))
    if failure == "header with a line break":
        assert received == b""  # closed with nothing sent
    else:
        assert received.startswith(b"HTTP/1.1 500 Internal Server Error\r\n")
        assert received.endswith(b"\r\n\r\nInternal Server Error")
    assert b"evil" not in received


def test_a_client_that_leaves_mid_body_is_a_disconnect_to_the_app() -> None:
    told: list[str] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        try:
            await read_body(receive)
        except ConnectionError:
            told.append("disconnect")

    async def talk(client: Client) -> None:
        _reader, writer = await client.open()
        writer.write(post(b"0123456789")[:-4])
        await writer.drain()
        await asyncio.sleep(0.2)
        writer.close()
        for _ in range(100):  # the app hears of it (bounded: ~10 s)
            if told:
                return
            await asyncio.sleep(0.1)

    asyncio.run(serving(app, talk))
    assert told == ["disconnect"]


def test_the_cycle_keeps_the_attributes_uvicorns_protocol_uses() -> None:
    # uvicorn's protocol reads and sets these on whichever cycle it holds (on_body,
    # on_message_complete, connection_lost, shutdown, pipelining).
    for name in (
        "scope",
        "body",
        "more_body",
        "message_event",
        "disconnected",
        "keep_alive",
        "response_complete",
    ):
        assert name in LeanCycle.__slots__
