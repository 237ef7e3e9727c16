"""``redis://``, ``rediss://``, ``unix://``: one connection pool, plus what every Redis backend reads back.

A :class:`RedisConnection` owns one ``redis.Redis`` client (one pool). :func:`~shared.backends.connect`
hands out one per URL and process, so limiter, breaker and locks share the pool.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import redis

from shared import defaults
from shared.backends.base import B, Connection

if TYPE_CHECKING:
    from shared.backends.schemes import Family


class RedisConnection(Connection):
    """One pool for ``url``. Redis backends are built as ``family.redis(client, prefix, ...)``."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.client: redis.Redis = redis.Redis.from_url(
            url, health_check_interval=defaults.REDIS_HEALTH_CHECK_SECONDS
        )

    def build(self, family: Family[B], prefix: str, *args: Any, **kwargs: Any) -> B:
        return family.redis(self.client, prefix, *args, **kwargs)

    def close(self) -> None:
        self.client.connection_pool.disconnect()


def text(value: Any) -> str:
    """A reply element as str, for clients with and without ``decode_responses``."""
    return value.decode() if isinstance(value, bytes) else str(value)


def scan_pattern(prefix: str) -> str:
    """``prefix`` escaped for SCAN MATCH, followed by ``*``."""
    return "".join("\\" + ch if ch in "*?[]\\" else ch for ch in prefix) + "*"


def scan_suffixes(client: redis.Redis, prefix: str, count: int = 500) -> Iterator[list[str]]:
    """The keys starting with ``prefix``, without it: one list per SCAN round trip (callers count them)."""
    cursor: Any = 0
    pattern = scan_pattern(prefix)
    while True:
        cursor, batch = client.scan(cursor=cursor, match=pattern, count=count)
        yield [text(k)[len(prefix) :] for k in batch]
        if int(cursor) == 0:
            return
