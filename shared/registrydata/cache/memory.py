"""In-process lookup caches (``memory://``): the same entries and TTLs, in a dict guarded by a mutex."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from shared.registrydata.cache.base import CacheTTLs, LookupCache

#: Expired entries are swept out when the dict grows past this many (a long-running CLI stays small).
SWEEP_ABOVE = 10_000


class MemoryLookupCache(LookupCache):
    """Entries private to this instance. ``clock`` returns seconds (monotonic by default)."""

    def __init__(self, ttls: CacheTTLs, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(ttls)
        self._clock = clock
        self._entries: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def _read(self, keys: list[str]) -> list[str | None]:
        now = self._clock()
        with self._lock:
            found = [self._entries.get(k) for k in keys]
        return [entry[0] if entry is not None and entry[1] > now else None for entry in found]

    def _write(self, key: str, text: str, ttl_seconds: float) -> None:
        now = self._clock()
        with self._lock:
            self._entries[key] = (text, now + ttl_seconds)
            if len(self._entries) > SWEEP_ABOVE:
                self._entries = {k: v for k, v in self._entries.items() if v[1] > now}

    def _remove(self, key: str) -> None:
        with self._lock:
            self._entries.pop(key, None)
