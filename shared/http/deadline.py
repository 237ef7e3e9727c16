"""``ReadDeadline``: a bound on the whole exchange of one request, not on each socket read.

``requests``' read timeout applies to every single ``recv``: a peer that sends a few bytes a second
(a slow-loris answer, a broken proxy) never trips it and can hold a worker slot for as long as it
likes. A deadline cannot be set on the socket either (each ``recv`` restarts the timeout, and a
buffered read of 64 KiB makes many of them), so a watchdog thread enforces it: when the deadline
passes before the answer was read to the end, it shuts the connection's socket down (both ways), the
blocked read returns at once, and the client raises :class:`~shared.errors.DeadlineExceeded`.

The connection is attached by :mod:`shared.http.pinning` (its pools hand every connection they give
out to the deadline active in that thread, through a context variable), so keep-alive connections
reused from the pool are watched too. A shut-down connection is never returned to the pool: the
response is closed unread, and urllib3 discards such a connection.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from contextvars import ContextVar
from types import TracebackType
from typing import Any

from shared.errors import DeadlineExceeded, RegqError

#: The deadline of the request this thread is sending (set only while it is being sent and read).
ACTIVE: ContextVar[ReadDeadline | None] = ContextVar("regq_read_deadline", default=None)
#: While a connection is still being opened (no socket yet), the watchdog looks again this often.
_RECHECK_SECONDS = 0.05


class ReadDeadline:
    """``with ReadDeadline(seconds) as deadline:`` around one request; ``deadline.expired`` afterwards."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._done = threading.Event()
        self._lock = threading.Lock()
        self._connections: list[Any] = []
        self._expired = False
        self._token: Any = None

    @property
    def expired(self) -> bool:
        """True once the watchdog cut the exchange short (a read that ended before it is kept)."""
        return self._expired

    def attach(self, connection: Any) -> None:
        """Watch ``connection`` (a urllib3 HTTPConnection): its socket is shut down at the deadline."""
        with self._lock:
            self._connections.append(connection)
            late = self._expired
        if late:
            self._shut(connection)

    def __enter__(self) -> ReadDeadline:
        self._token = ACTIVE.set(self)
        threading.Thread(target=self._watch, name="regq-read-deadline", daemon=True).start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._done.set()
        ACTIVE.reset(self._token)

    def _watch(self) -> None:
        if self._done.wait(self.seconds):
            return
        with self._lock:
            self._expired = True
        # shut every connection now, and again until the request ends: one still opening has no socket yet
        while True:
            with self._lock:
                connections = list(self._connections)
            for connection in connections:
                self._shut(connection)
            if self._done.wait(_RECHECK_SECONDS):
                return

    @staticmethod
    def _shut(connection: Any) -> None:
        sock = getattr(connection, "sock", None)
        if sock is None:
            return
        with contextlib.suppress(OSError, ValueError):
            # the plain socket's shutdown, also for an SSLSocket (whose own shutdown drops its TLS state
            # under the reading thread's feet): the blocked read just sees the connection end
            socket.socket.shutdown(sock, socket.SHUT_RDWR)


@contextlib.contextmanager
def exchange_within(seconds: float, provider: str) -> Iterator[ReadDeadline]:
    """``with exchange_within(policy.read_deadline, provider) as watch:`` around sending one request and
    reading its answer (``watch.expired`` tells a read loop to stop): DeadlineExceeded when the watchdog
    cut the exchange short, in place of whatever error the cut caused underneath (a reset, a short body)."""
    with ReadDeadline(seconds) as watch:
        try:
            yield watch
        except RegqError:
            if not watch.expired:
                raise
        if watch.expired:  # the socket was shut under the read: whatever came is not the answer
            raise DeadlineExceeded(
                f"no complete answer within the {seconds:g} s read deadline", provider=provider
            ) from None
