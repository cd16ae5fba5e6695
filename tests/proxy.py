"""A loopback TCP proxy in front of the real PostgreSQL server that can break a connection
at ``COMMIT`` -- after forwarding it (the server commits, the client never hears) or
instead of forwarding it (nothing commits) -- and refuse connections for a while.

After forwarding, the proxy waits a moment (0.3 s unless told) before it breaks the
connection; told to wait 0, it breaks it at once, while the server may still be
running the ``COMMIT``.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Literal

import sqlalchemy as sa

Cut = Literal["after", "before"]


class CommitCutter:
    """Forwards every connection to ``upstream``; see the module docstring."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self.listener.getsockname()[1]
        self.cuts = 0
        self._cut: Cut | None = None
        self._pause_s = 0.3
        self._refuse_until = 0.0
        self._refuse_for = 0.0
        self._lock = threading.Lock()
        self._closed = False
        self._sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def url(self, database_url: str) -> str:
        """``database_url`` pointed at this proxy."""
        url = sa.make_url(database_url).set(host="127.0.0.1", port=self.port)
        return url.render_as_string(hide_password=False)

    def cut_next_commit(
        self, when: Cut, *, pause_s: float = 0.3, then_refuse_s: float = 0.0
    ) -> None:
        """Break the connection that sends the next ``COMMIT`` (``"after"``: ``pause_s``
        after forwarding it); with ``then_refuse_s``, break every other connection too
        and refuse new ones for that long."""
        with self._lock:
            self._cut = when
            self._pause_s = pause_s
            self._refuse_for = then_refuse_s

    def refusing_for(self) -> float:
        """Seconds until connections are taken again (0 when they are)."""
        return max(0.0, self._refuse_until - time.monotonic())

    def close(self) -> None:
        self._closed = True
        self.listener.close()
        for sock in self._sockets:
            _close(sock)

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if time.monotonic() < self._refuse_until:
                _close(client)
                continue
            server = socket.create_connection(self.upstream)
            self._sockets += [client, server]
            muted = threading.Event()
            threading.Thread(
                target=self._pump_commands, args=(client, server, muted), daemon=True
            ).start()
            threading.Thread(target=_pump, args=(server, client, muted), daemon=True).start()

    def _pump_commands(
        self, client: socket.socket, server: socket.socket, muted: threading.Event
    ) -> None:
        while True:
            try:
                data = client.recv(65536)
            except OSError:
                data = b""
            if not data:
                _close(server)
                return
            cut: Cut | None = None
            pause_s = 0.0
            if b"COMMIT\x00" in data:
                with self._lock:
                    cut, self._cut, pause_s = self._cut, None, self._pause_s
            if cut == "before":
                self._break(client, server)
                return
            if cut == "after":
                muted.set()  # the client never hears the answer
            try:
                server.sendall(data)
            except OSError:
                _close(client)
                return
            if cut == "after":
                time.sleep(pause_s)  # the server has the COMMIT and runs it
                self._break(client, server)
                return

    def _break(self, client: socket.socket, server: socket.socket) -> None:
        self.cuts += 1
        _close(client)
        _close(server)
        if self._refuse_for:
            # The database is gone for a while: every connection breaks, none is taken.
            self._refuse_until = time.monotonic() + self._refuse_for
            for sock in self._sockets:
                _close(sock)


def _pump(source: socket.socket, target: socket.socket, muted: threading.Event) -> None:
    while True:
        try:
            data = source.recv(65536)
        except OSError:
            data = b""
        if not data:
            _close(target)
            return
        if muted.is_set():
            continue
        try:
            target.sendall(data)
        except OSError:
            _close(source)
            return


def _close(sock: socket.socket) -> None:
    with suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()


@contextmanager
def commit_cutter(database_url: str) -> Iterator[CommitCutter]:
    """A :class:`CommitCutter` in front of the server of ``database_url``."""
    url = sa.make_url(database_url)
    proxy = CommitCutter((url.host or "127.0.0.1", url.port or 5432))
    try:
        yield proxy
    finally:
        proxy.close()
