"""In-process domain locks for unit tests and single-process use (``memory://``)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from shared.locks.base import DomainLock, check_ttl


class MemoryDomainLock(DomainLock):
    """Locks in a dict, guarded by a mutex. ``clock`` returns seconds (monotonic by default)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._held: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def _holder(self, domain: str) -> str | None:
        held = self._held.get(domain)
        if held is None or held[1] <= self._clock():
            return None
        return held[0]

    def acquire(self, domain: str, owner: str, ttl_seconds: float) -> bool:
        ttl = check_ttl(ttl_seconds) / 1000.0
        with self._lock:
            if self._holder(domain) not in (None, owner):
                return False
            self._held[domain] = (owner, self._clock() + ttl)
            return True

    def renew(self, domain: str, owner: str, ttl_seconds: float) -> bool:
        ttl = check_ttl(ttl_seconds) / 1000.0
        with self._lock:
            if self._holder(domain) != owner:
                return False
            self._held[domain] = (owner, self._clock() + ttl)
            return True

    def release(self, domain: str, owner: str) -> None:
        with self._lock:
            if self._holder(domain) == owner:
                del self._held[domain]
