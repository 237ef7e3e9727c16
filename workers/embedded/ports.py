"""The ports the stack's servers listen on: the README's when free, else any free one."""

from __future__ import annotations

import socket

from workers.embedded.redis_server import free_port


def preferred_port(port: int, host: str = "127.0.0.1") -> int:
    """``port`` when nothing listens on it at ``host`` now, else a free port (the caller prints which).

    A check, not a reservation: another program may take the port before the child binds it; the child
    then exits and the stack says which log to read (as for any child that fails to start)."""
    with socket.socket() as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return free_port()
    return port
