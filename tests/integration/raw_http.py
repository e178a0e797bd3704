"""Raw sockets for tests that misbehave on purpose (slow headers, slow bodies)."""

from __future__ import annotations

import select
import socket
import time
from dataclasses import dataclass

import orjson

PATIENCE = 20.0  # seconds a test waits for the server to act on a deadline of ~1 s


@dataclass
class Ending:
    """What a server did to a connection that stalled: what it sent, and whether it closed."""

    received: bytes
    closed: bool

    @property
    def status(self) -> int | None:
        if not self.received.startswith(b"HTTP/1.1 "):
            return None
        return int(self.received[9:12])

    def json(self) -> object:
        return orjson.loads(self.received.partition(b"\r\n\r\n")[2])


def connect(url: str) -> socket.socket:
    host, port = url.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=PATIENCE)


def drip(sock: socket.socket, data: bytes, every: float = 0.2) -> Ending:
    """Send ``data`` a byte every ``every`` seconds, then nothing, until the server answers
    and closes, or ``PATIENCE`` runs out (closed=False: the server held the connection)."""
    received = b""
    deadline = time.monotonic() + PATIENCE
    pending = data
    while time.monotonic() < deadline:
        readable, _, _ = select.select([sock], [], [], every)
        if readable:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                return Ending(received, True)
            if not chunk:
                return Ending(received, True)
            received += chunk
            continue
        if pending:
            try:
                sock.sendall(pending[:1])
            except (BrokenPipeError, ConnectionResetError):
                return Ending(received, True)
            pending = pending[1:]
    return Ending(received, False)


def request_head(path: str, length: int, headers: dict[str, str] | None = None) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: test", "Content-Type: application/json"]
    lines += [f"Content-Length: {length}"] + [f"{k}: {v}" for k, v in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()
