"""The floor of HTTP serving on this machine: an ASGI app that reads the request body and
answers a fixed one-row JSON, nothing else (bench/request_path.py runs it under uvicorn with
uvloop + httptools, as modelyard serves).

    uvicorn _trivial_asgi:app --app-dir bench --loop uvloop --http httptools --no-access-log
"""

from typing import Any

BODY = b'{"predictions":[0],"probabilities":[[0.5,0.5]]}'
HEADERS = [(b"content-type", b"application/json"), (b"content-length", str(len(BODY)).encode())]


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": BODY})
