"""The HTTP half of the combined ceiling: an ASGI app that reads the request body and
answers a fixed one-row JSON answer, nothing else (no routing, no decode, no model).

    uvicorn trivial_app:app --loop uvloop --http httptools --lifespan off --no-access-log

Run from the project's .venv, with the loop, protocol and access log modelyard's own server
uses, so what it answers per second is what uvicorn itself can do on this machine.
"""

from collections.abc import Awaitable, Callable
from typing import Any

ANSWER = b'{"predictions":[0]}'
HEADERS = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(ANSWER))]


async def app(
    scope: dict[str, Any],
    receive: Callable[[], Awaitable[dict[str, Any]]],
    send: Callable[[dict[str, Any]], Awaitable[None]],
) -> None:
    if scope["type"] != "http":
        return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": ANSWER})
