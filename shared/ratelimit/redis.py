"""The Redis limiter: one hash per key, every decision in one Lua script using the server's clock.

Key layout: ``{prefix}:rl:{key}`` is a hash with ``tokens`` and ``ts`` (ms, server clock) as of the last
write, ``r``/``b`` (the rate and burst last used, for ``regq limits``) and, while a block window is
active, ``bu`` (block end, ms) and ``br`` (its reason). Scripts are loaded with ``register_script``
(EVALSHA; redis-py loads them again on NOSCRIPT).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import cache
from importlib import resources
from typing import Any

import redis

from shared.ratelimit.base import BucketStatus, Decision, Limiter, check_key, check_request
from shared.ratelimit.rate import Rate


@cache
def lua_source(name: str) -> str:
    """The text of ``shared/ratelimit/<name>.lua``."""
    return resources.files("shared.ratelimit").joinpath(f"{name}.lua").read_text(encoding="utf-8")


def text(value: Any) -> str:
    """A script reply element as str (clients with and without ``decode_responses``)."""
    return value.decode() if isinstance(value, bytes) else str(value)


def scan_pattern(prefix: str) -> str:
    """``prefix`` escaped for a SCAN MATCH pattern, followed by ``*``."""
    return "".join("\\" + ch if ch in "*?[]\\" else ch for ch in prefix) + "*"


def _float(value: Any) -> float | None:
    value = text(value)
    return float(value) if value else None


class RedisLimiter(Limiter):
    """Shared limiter on Redis. ``clock`` is for tests only (it overrides the server's TIME).

    Production leaves ``clock`` unset: every process then uses the one Redis server clock, so skewed
    worker clocks cannot grant extra tokens.
    """

    def __init__(
        self,
        client: redis.Redis,
        prefix: str,
        *,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(sleep=sleep)
        self.client = client
        self.prefix = prefix
        self._base = f"{prefix}:rl:"
        self._clock = clock
        self.acquire_script = client.register_script(lua_source("acquire"))
        self.block_script = client.register_script(lua_source("block"))
        self.status_script = client.register_script(lua_source("status"))

    def redis_key(self, key: str) -> str:
        return self._base + check_key(key)

    def _now_arg(self) -> str:
        return "" if self._clock is None else repr(self._clock() * 1000.0)

    def acquire(self, key: str, rate: Rate, burst: int, cost: int = 1) -> Decision:
        check_request(rate, burst, cost)
        self._count()
        allowed, wait_ms, blocked, reason, tokens = self.acquire_script(
            keys=[self.redis_key(key)],
            args=[repr(rate.per_second / 1000.0), int(burst), int(cost), self._now_arg()],
        )
        return Decision(
            allowed=bool(allowed),
            wait_ms=int(wait_ms),
            blocked=bool(blocked),
            reason=text(reason) or None,
            tokens=float(text(tokens)),
        )

    def block(self, key: str, seconds: float, reason: str) -> None:
        redis_key = self.redis_key(key)
        if seconds <= 0:
            return
        self._count()
        self.block_script(keys=[redis_key], args=[repr(float(seconds) * 1000.0), reason, self._now_arg()])

    def status(self, key: str) -> BucketStatus:
        self._count()
        exists, tokens, blocked_until, reason, rate_ms, burst = self.status_script(
            keys=[self.redis_key(key)], args=[self._now_arg()]
        )
        if not int(exists):
            return BucketStatus(key=key, tokens=None, blocked_until=None, block_reason=None)
        until_ms = _float(blocked_until)
        per_ms = _float(rate_ms)
        burst_f = _float(burst)
        return BucketStatus(
            key=key,
            tokens=_float(tokens),
            blocked_until=None if until_ms is None else until_ms / 1000.0,
            block_reason=(text(reason) or None) if until_ms is not None else None,
            burst=None if burst_f is None else int(burst_f),
            rate_per_second=None if per_ms is None else per_ms * 1000.0,
        )

    def keys(self) -> list[str]:
        found: set[str] = set()
        cursor = 0
        pattern = scan_pattern(self._base)
        while True:
            self._count()
            cursor, batch = self.client.scan(cursor=cursor, match=pattern, count=500)
            found.update(text(k)[len(self._base) :] for k in batch)
            if int(cursor) == 0:
                return sorted(found)

    def reset(self, key: str) -> None:
        self._count()
        self.client.delete(self.redis_key(key))
