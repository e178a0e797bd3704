"""One send per answer: a transport that joins the writes made in one event-loop step.

uvicorn writes a response's head and body with two ``transport.write`` calls, and each is
a ``send`` on the socket at once. On loopback, and on a virtual machine's network, a send
carries the whole delivery to the reader (TCP, its wake-up): measured under one-row load,
writes were ~11 % of the server's CPU, so a second send per answer was ~9 µs of a ~140 µs
request. Writes made during one step of the loop are kept and sent together: when the
protocol sees the answer complete (``LimitedHttpToolsProtocol.on_response_complete``), at
once when they grow past ``FLUSH_BYTES`` (a streaming answer keeps its memory bound and
its flow control), before the connection closes or its reading side ends, and otherwise
at the start of the next loop step (``call_soon``: a streamed answer's head and chunks).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

FLUSH_BYTES = 64 * 1024


class CoalescingTransport(asyncio.Transport):
    """Wraps ``transport``: everything but the timing of writes is the wrapped one's."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__()
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] = []
        self._pending_bytes = 0

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not data:
            return
        if len(data) >= FLUSH_BYTES:  # large: sent as it is, after what was kept (no join)
            self.flush()
            if not self._transport.is_closing():
                self._transport.write(data)
            return
        pending = self._pending
        kept = bytes(data)  # a caller may reuse its buffer once write returns
        pending.append(kept)
        self._pending_bytes += len(kept)
        if self._pending_bytes >= FLUSH_BYTES:
            self.flush()
        elif len(pending) == 1:
            self._loop.call_soon(self.flush)

    def write_whole(self, data: bytes) -> None:
        """An answer made in one piece (serving/direct.py): sent now, after anything kept,
        with no copy and no flush scheduled for it."""
        self.flush()
        if not self._transport.is_closing():
            self._transport.write(data)

    def writelines(self, list_of_data: Iterable[bytes | bytearray | memoryview]) -> None:
        for data in list_of_data:
            self.write(data)

    def flush(self) -> None:
        """Send what is kept, as one write."""
        pending = self._pending
        if not pending:
            return
        data = pending[0] if len(pending) == 1 else b"".join(pending)
        pending.clear()
        self._pending_bytes = 0
        if not self._transport.is_closing():
            self._transport.write(data)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def write_eof(self) -> None:
        self.flush()
        self._transport.write_eof()

    def abort(self) -> None:
        self._pending.clear()
        self._pending_bytes = 0
        self._transport.abort()

    def can_write_eof(self) -> bool:
        return self._transport.can_write_eof()

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + self._pending_bytes

    def get_write_buffer_limits(self) -> tuple[int, int]:
        return self._transport.get_write_buffer_limits()

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        self._transport.set_write_buffer_limits(high, low)

    def is_closing(self) -> bool:
        return self._transport.is_closing()

    def is_reading(self) -> bool:
        return self._transport.is_reading()

    def pause_reading(self) -> None:
        self._transport.pause_reading()

    def resume_reading(self) -> None:
        self._transport.resume_reading()

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self._transport.set_protocol(protocol)

    def get_protocol(self) -> asyncio.BaseProtocol:
        return self._transport.get_protocol()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self._transport.get_extra_info(name, default)
