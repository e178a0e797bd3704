"""A real HTTP server in the test process that records the JSON bodies POSTed to it,
answering ``fail_first`` requests with 503 (a flaky receiver), or every request with a
302 to ``redirect_to`` (a receiver pointing somewhere a webhook may not go).

It listens on 127.0.0.1, which webhooks reach only when the allow-list names it:
``ALLOW_LOOPBACK`` is the setting tests give the yard and the server."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

ALLOW_LOOPBACK = {"MODELYARD_WEBHOOK_ALLOW": "127.0.0.1"}


@dataclass
class Receiver:
    url: str
    port: int = 0
    fail_first: int = 0
    redirect_to: str | None = None
    received: list[dict[str, Any]] = field(default_factory=list)
    hosts: list[str] = field(default_factory=list)  # the Host header of every request
    attempts: int = 0


@contextmanager
def webhook_receiver(fail_first: int = 0, redirect_to: str | None = None) -> Iterator[Receiver]:
    receiver = Receiver(url="", fail_first=fail_first, redirect_to=redirect_to)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            receiver.attempts += 1
            receiver.hosts.append(self.headers.get("Host", ""))
            if receiver.redirect_to is not None:
                self.send_response(302)
                self.send_header("Location", receiver.redirect_to)
                self.end_headers()
                return
            if receiver.attempts <= receiver.fail_first:
                self.send_response(503)
                self.end_headers()
                return
            receiver.received.append(json.loads(body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.port = int(server.server_address[1])
    receiver.url = f"http://127.0.0.1:{receiver.port}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
