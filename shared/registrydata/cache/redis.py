"""Lookup caches in Redis: one string per entry, ``{prefix}:lookup:{kind}:{key}``, JSON, with a PX expiry.

Reads of several keys are one MGET; a write is one SET with PX (Redis drops the entry when it expires).
"""

from __future__ import annotations

import redis

from shared.backends import text
from shared.registrydata.cache.base import CacheTTLs, LookupCache


class RedisLookupCache(LookupCache):
    """Fleet-wide lookup caches. ``round_trips`` counts the commands sent (one per operation)."""

    def __init__(self, client: redis.Redis, prefix: str, ttls: CacheTTLs) -> None:
        super().__init__(ttls)
        self.client = client
        self.prefix = prefix
        self._base = f"{prefix}:lookup:"
        self.round_trips = 0

    def redis_key(self, key: str) -> str:
        """The Redis key of ``kind:key`` (already normalised)."""
        return self._base + key

    def _read(self, keys: list[str]) -> list[str | None]:
        self.round_trips += 1
        values = self.client.mget([self.redis_key(k) for k in keys])
        return [None if v is None else text(v) for v in values]

    def _write(self, key: str, text_value: str, ttl_seconds: float) -> None:
        self.round_trips += 1
        self.client.set(self.redis_key(key), text_value, px=max(1, int(ttl_seconds * 1000)))

    def _remove(self, key: str) -> None:
        self.round_trips += 1
        self.client.delete(self.redis_key(key))
