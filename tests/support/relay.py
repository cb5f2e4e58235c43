"""A TCP relay between the server and its database that a test can cut and restore.

Cutting closes every relayed connection and stops listening, as a stopped PostgreSQL would (the
server's connections die, new ones are refused); restoring listens again on the same port. The
machine's PostgreSQL itself is never touched (others use it).
"""

from __future__ import annotations

import selectors
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress


class Relay:
    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = 0
        self._listener: socket.socket | None = None
        self._pairs: dict[socket.socket, socket.socket] = {}
        self._lock = threading.Lock()
        self._selector = selectors.DefaultSelector()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._pump, daemon=True)

    @classmethod
    @contextmanager
    def start(cls, target: tuple[str, int]) -> Iterator[Relay]:
        relay = cls(target)
        relay.restore()
        relay._thread.start()
        try:
            yield relay
        finally:
            relay._stop.set()
            relay._thread.join(timeout=5)
            relay.cut()

    def restore(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        listener.setblocking(False)
        self.port = listener.getsockname()[1]
        with self._lock:
            self._listener = listener
            self._selector.register(listener, selectors.EVENT_READ)

    def cut(self) -> None:
        with self._lock:
            if self._listener is not None:
                self._selector.unregister(self._listener)
                self._listener.close()
                self._listener = None
            for sock in list(self._pairs):
                self._close(sock)

    def _close(self, sock: socket.socket) -> None:
        peer = self._pairs.pop(sock, None)
        for s in (sock, peer):
            if s is None:
                continue
            self._pairs.pop(s, None)
            with suppress(KeyError, ValueError):
                self._selector.unregister(s)
            s.close()

    def _pump(self) -> None:
        while not self._stop.is_set():
            for key, _ in self._selector.select(timeout=0.05):
                with self._lock:
                    sock = key.fileobj
                    assert isinstance(sock, socket.socket)
                    if sock is self._listener:
                        self._accept(sock)
                    elif sock in self._pairs:
                        self._forward(sock)

    def _accept(self, listener: socket.socket) -> None:
        try:
            client, _ = listener.accept()
        except BlockingIOError:
            return
        upstream = socket.create_connection(self.target)
        for s in (client, upstream):
            s.setblocking(True)
            self._selector.register(s, selectors.EVENT_READ)
        self._pairs[client], self._pairs[upstream] = upstream, client

    def _forward(self, sock: socket.socket) -> None:
        try:
            data = sock.recv(65536)
        except OSError:
            data = b""
        if not data:
            self._close(sock)
            return
        try:
            self._pairs[sock].sendall(data)
        except OSError:
            self._close(sock)
