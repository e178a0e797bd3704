"""One measurement for bench/request_path.py --in-process: the serving app driven straight
through ASGI (no HTTP server, no client library), 64 concurrent one-row requests.

    python bench/_asgi_driver.py HOME BODY REQUESTS   (prints one JSON line)
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

PATH = "/v1/endpoints/bench-api/predict"


def main(home: Path, body: bytes, total: int) -> dict[str, float]:
    from modelyard.config import Settings
    from modelyard.serving.app import asgi_app, create_app
    from modelyard.yard import Yard

    settings = Settings(home=home, native_threads=1)
    app = create_app(Yard(settings=settings).services, settings, auth=False)
    server = asgi_app(app)
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]

    async def one() -> None:
        scope: dict[str, Any] = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": PATH,
            "raw_path": PATH.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": headers,
            "client": ("127.0.0.1", 1),
            "server": ("127.0.0.1", 80),
            "state": {},
        }
        sent = False
        status = 0

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if sent:
                await asyncio.sleep(3600)
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]

        await server(scope, receive, send)
        assert status == 200, status

    async def run() -> dict[str, float]:
        async with app.router.lifespan_context(app):
            for _ in range(300):
                await one()
            left = total

            async def client() -> None:
                nonlocal left
                while left > 0:
                    left -= 1
                    await one()

            cpu, wall = time.process_time(), time.perf_counter()
            await asyncio.gather(*(client() for _ in range(64)))
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        return {"cpu_us_per_req": cpu / total * 1e6, "req_s": total / wall}

    import uvloop

    return uvloop.run(run())


if __name__ == "__main__":
    home, body, total = sys.argv[1:4]
    print(json.dumps(main(Path(home), Path(body).read_bytes(), int(total))))
