"""A throwaway Redis that can be restarted on the same port, losing everything it held.

It is the stack's ``REGQ_REDIS_URL`` and broker at once, so a restart loses the limiter buckets, the
breaker state, the domain locks, the lookup caches AND every queued or unacked message: what comes back
comes from the database (the sweep republishes, the breaker restores its last journal row).
"""

from __future__ import annotations

import time

from workers.embedded.redis_server import EmbeddedRedis, free_port


class RestartableRedis:
    """``start()``, ``restart(down_seconds)``, ``stop()``; ``url`` stays the same throughout."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.restarts = 0
        self._server: EmbeddedRedis | None = None

    @property
    def pid(self) -> int | None:
        return self._server.pid if self._server is not None else None

    def start(self) -> RestartableRedis:
        # A fresh EmbeddedRedis each time: stopping one deletes its working directory.
        self._server = EmbeddedRedis(self.port).start()
        return self

    def restart(self, down_seconds: float = 2.0) -> float:
        """Stop it, stay down ``down_seconds`` (the outage), start an empty one; seconds it took."""
        began = time.monotonic()
        self.stop()
        time.sleep(down_seconds)
        self.start()
        self.restarts += 1
        return time.monotonic() - began

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    def __enter__(self) -> RestartableRedis:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
