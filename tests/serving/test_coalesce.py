"""Writes made in one loop step leave as one send, over a real socket pair."""

import asyncio
import socket

from modelyard.serving.coalesce import FLUSH_BYTES, CoalescingTransport


async def _connected() -> tuple[CoalescingTransport, socket.socket]:
    ours, peer = socket.socketpair()
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_connection(asyncio.Protocol, sock=ours)
    peer.setblocking(False)
    return CoalescingTransport(transport, loop), peer  # type: ignore[arg-type]


def _available(peer: socket.socket) -> bytes:
    try:
        return peer.recv(1 << 20)
    except BlockingIOError:
        return b""


async def _step() -> None:
    for _ in range(3):
        await asyncio.sleep(0)


def test_writes_of_one_step_leave_together_at_the_next() -> None:
    async def scenario() -> None:
        wrapped, peer = await _connected()
        wrapped.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n")
        wrapped.write(bytearray(b"{}"))
        assert _available(peer) == b""  # nothing sent within the step
        assert wrapped.get_write_buffer_size() == 40
        await _step()
        assert _available(peer) == b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}"
        assert wrapped.get_write_buffer_size() == 0
        wrapped.close()
        peer.close()

    asyncio.run(scenario())


def test_a_large_write_and_a_close_send_at_once() -> None:
    async def scenario() -> None:
        wrapped, peer = await _connected()
        wrapped.write(b"x" * FLUSH_BYTES)
        received = b""
        while len(received) < FLUSH_BYTES:  # no loop step needed: sent by write itself
            chunk = _available(peer)
            assert chunk, "the large write was kept back"
            received += chunk
        wrapped.write(b"last")
        wrapped.close()  # flushes before closing
        await _step()
        peer.setblocking(True)
        assert peer.recv(100) == b"last"
        assert peer.recv(100) == b""  # then the end of the stream
        peer.close()

    asyncio.run(scenario())


def test_abort_drops_what_was_kept_and_empty_writes_are_nothing() -> None:
    async def scenario() -> None:
        wrapped, peer = await _connected()
        wrapped.write(b"")
        assert wrapped.get_write_buffer_size() == 0
        wrapped.write(b"never")
        wrapped.abort()
        await _step()
        assert wrapped.is_closing()
        peer.setblocking(True)
        assert peer.recv(100) == b""
        peer.close()

    asyncio.run(scenario())


def test_a_whole_answer_leaves_at_once_after_what_was_kept() -> None:
    async def scenario() -> None:
        wrapped, peer = await _connected()
        wrapped.write(b"kept ")
        wrapped.write_whole(b"whole")
        assert wrapped.get_write_buffer_size() == 0  # nothing left for a later step
        await _step()
        assert _available(peer) == b"kept whole"
        wrapped.close()
        peer.close()

    asyncio.run(scenario())
