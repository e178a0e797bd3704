"""A loopback TCP proxy in front of a real server, whose upstream can be cut two ways.

``refuse``: the listening port closes and open connections are reset, as when the
database process is down. ``hang``: connections are accepted and bytes read, but nothing
is ever answered, as with a database host that froze or a firewall that drops packets.
``forward`` again resets whatever hung (a restarted database drops its connections too).
"""

from __future__ import annotations

import contextlib
import select
import socket
import struct
import threading
from collections.abc import Iterator


class TcpProxy:
    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.mode = "forward"
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self._listener: socket.socket | None = None
        self.port = self._listen(0)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _listen(self, port: int) -> int:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()
        return int(listener.getsockname()[1])

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # the listener was closed (refuse, or the end)
            self._track(client)
            if self.mode == "hang":
                threading.Thread(target=self._swallow, args=(client,), daemon=True).start()
                continue
            try:
                server = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                self._reset(client)
                continue
            self._track(server)
            threading.Thread(target=self._relay, args=(client, server), daemon=True).start()

    def _relay(self, client: socket.socket, server: socket.socket) -> None:
        pair = {client: server, server: client}
        try:
            while True:
                readable, _, _ = select.select(list(pair), [], [], 0.2)
                if self.mode == "hang":
                    self._swallow(client)  # from now on nothing gets through
                    return
                for sock in readable:
                    data = sock.recv(65536)
                    if not data:
                        return
                    pair[sock].sendall(data)
        except (OSError, ValueError):  # ValueError: select() on a socket reset meanwhile (fd -1)
            return
        finally:
            if self.mode != "hang":
                self._reset(client)
            self._reset(server)

    def _swallow(self, sock: socket.socket) -> None:
        """Read and drop everything, answer nothing, until reset."""
        with contextlib.suppress(OSError):
            while sock.recv(65536):
                pass

    def _track(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.add(sock)

    def _reset(self, sock: socket.socket) -> None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        with contextlib.suppress(OSError):
            sock.close()
        with self._lock:
            self._sockets.discard(sock)

    def _reset_all(self) -> None:
        with self._lock:
            sockets = list(self._sockets)
        for sock in sockets:
            self._reset(sock)

    def _stop_listening(self) -> None:
        """Close the port for good: shutting the socket down wakes the blocked accept(),
        which a bare close() from another thread would not (the port stayed open)."""
        if self._listener is not None:
            with contextlib.suppress(OSError):
                self._listener.shutdown(socket.SHUT_RDWR)
            self._listener.close()
            self._listener = None

    def refuse(self) -> None:
        self.mode = "refuse"
        self._stop_listening()
        self._reset_all()

    def hang(self) -> None:
        self.mode = "hang"
        if self._listener is None:
            self._listen(self.port)

    def forward(self) -> None:
        was = self.mode
        self.mode = "forward"
        if was == "hang":
            self._reset_all()
        if self._listener is None:
            self._listen(self.port)

    def close(self) -> None:
        self.refuse()


@contextlib.contextmanager
def tcp_proxy(upstream: tuple[str, int]) -> Iterator[TcpProxy]:
    proxy = TcpProxy(upstream)
    try:
        yield proxy
    finally:
        proxy.close()
