"""A TCP proxy a test controls: forwards loopback connections to a real service, and on command cuts
every open connection, refuses new ones (the port closed: an instant ``ECONNREFUSED``) and comes back on
the same port. Put it between the stack and Postgres, Redis or RabbitMQ to make that service vanish
for the processes under test while it keeps running (and keeps its data) behind the proxy.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from workers.embedded.redis_server import free_port

log = logging.getLogger(__name__)

_CHUNK = 64 * 1024


class TcpProxy:
    """``start()``; ``cut()`` closes every open connection; ``refuse()`` stops listening (and cuts);
    ``restore()`` listens again on the same port; ``stop()``. ``port`` never changes."""

    def __init__(self, target_host: str, target_port: int, port: int | None = None) -> None:
        self.target = (target_host, target_port)
        self.port = port or free_port()
        self.accepted = 0  # connections forwarded
        self.cut_connections = 0  # connections closed by cut() / refuse()
        self._lock = threading.Lock()
        self._pairs: set[tuple[socket.socket, socket.socket]] = set()
        self._listener: socket.socket | None = None
        self._acceptor: threading.Thread | None = None

    # --- lifecycle -------------------------------------------------------------------------------------
    def start(self) -> TcpProxy:
        self._listen()
        return self

    def stop(self) -> None:
        self.refuse()

    def __enter__(self) -> TcpProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def listening(self) -> bool:
        return self._listener is not None

    # --- faults ----------------------------------------------------------------------------------------
    def cut(self) -> int:
        """Close every forwarded connection both ways (the peers see a reset or EOF); how many."""
        with self._lock:
            pairs, self._pairs = self._pairs, set()
        for pair in pairs:
            for sock in pair:
                _close(sock, hard=True)
        self.cut_connections += len(pairs)
        return len(pairs)

    def refuse(self) -> int:
        """Stop listening (new connections are refused) and cut the open ones; how many were cut."""
        listener, self._listener = self._listener, None
        if listener is not None:
            _close(listener)
        if self._acceptor is not None:
            self._acceptor.join(timeout=5)
            self._acceptor = None
        return self.cut()

    def restore(self) -> None:
        """Listen again on the same port (idempotent)."""
        if self._listener is None:
            self._listen()

    @contextmanager
    def outage(self, seconds: float) -> Iterator[float]:
        """Refuse and cut for ``seconds`` (the block runs at its start), then restore; yields the start."""
        began = time.monotonic()
        self.refuse()
        try:
            yield began
            remaining = seconds - (time.monotonic() - began)
            if remaining > 0:
                time.sleep(remaining)  # the outage itself: a fixed length is what is being tested
        finally:
            self.restore()

    # --- forwarding ------------------------------------------------------------------------------------
    def _listen(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        deadline = time.monotonic() + 10
        while True:
            try:
                listener.bind(("127.0.0.1", self.port))
                break
            except OSError:
                if time.monotonic() > deadline:
                    listener.close()
                    raise
                time.sleep(0.05)
        listener.listen(128)
        listener.settimeout(0.2)
        self._listener = listener
        self._acceptor = threading.Thread(
            target=self._accept, args=(listener,), name=f"proxy-{self.port}", daemon=True
        )
        self._acceptor.start()

    def _accept(self, listener: socket.socket) -> None:
        while self._listener is listener:
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                _close(client, hard=True)
                continue
            upstream.settimeout(None)
            client.settimeout(None)
            pair = (client, upstream)
            with self._lock:
                if self._listener is not listener:  # refused meanwhile
                    _close(client, hard=True)
                    _close(upstream, hard=True)
                    return
                self._pairs.add(pair)
                self.accepted += 1
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(pair, src, dst), daemon=True).start()

    def _pump(
        self, pair: tuple[socket.socket, socket.socket], src: socket.socket, dst: socket.socket
    ) -> None:
        try:
            while True:
                data = src.recv(_CHUNK)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        with self._lock:
            known = pair in self._pairs
            self._pairs.discard(pair)
        if known:  # an ordinary close from one side: close the other too
            for sock in pair:
                _close(sock)


def _close(sock: socket.socket, hard: bool = False) -> None:
    try:
        if hard:  # RST instead of FIN: what a dead host or a dropped NAT entry looks like
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    try:
        sock.close()
    except OSError:
        pass
