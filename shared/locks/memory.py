"""In-process domain locks for unit tests and single-process use."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from shared.locks.base import DomainLock


class MemoryDomainLock(DomainLock):
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._held: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def _free_or_ours(self, domain: str, owner: str) -> bool:
        held = self._held.get(domain)
        return held is None or held[0] == owner or held[1] <= self._clock()

    def acquire(self, domain: str, owner: str, ttl_seconds: float) -> bool:
        with self._lock:
            if not self._free_or_ours(domain, owner):
                return False
            self._held[domain] = (owner, self._clock() + ttl_seconds)
            return True

    def renew(self, domain: str, owner: str, ttl_seconds: float) -> bool:
        with self._lock:
            held = self._held.get(domain)
            if held is None or held[0] != owner or held[1] <= self._clock():
                return False
            self._held[domain] = (owner, self._clock() + ttl_seconds)
            return True

    def release(self, domain: str, owner: str) -> None:
        with self._lock:
            if self._held.get(domain, ("",))[0] == owner:
                del self._held[domain]
