"""The Redis limiter: one hash per key, every decision in one Lua script using the server's clock.

Key layout: ``{prefix}:rl:{key}`` is a hash with ``tokens`` and ``ts`` (ms, server clock) as of the last
write, ``r``/``b`` (the rate and burst last used, for ``regq limits``) and, while a block window is
active, ``bu`` (block end, ms) and ``br`` (its reason). ``{prefix}:rlstats`` is one hash of fleet-wide
counters for the exporter (``granted:{key}`` tokens, ``denied:{key}`` acquires, ``blocks:{key}``
windows), written by the same scripts in the same round trip. Scripts come from :mod:`shared.backends`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import redis

from shared.backends import lua_script, scan_suffixes, text
from shared.ratelimit.base import (
    BucketStatus,
    Decision,
    Limiter,
    LimiterCounters,
    check_key,
    check_request,
)
from shared.ratelimit.rate import Rate

_SCRIPTS = "shared.ratelimit"


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
        self.counters_key = f"{prefix}:rlstats"  # granted/denied/blocks per key (not under _base)
        self._clock = clock
        self.acquire_script = lua_script(client, _SCRIPTS, "acquire")
        self.block_script = lua_script(client, _SCRIPTS, "block")
        self.status_script = lua_script(client, _SCRIPTS, "status")

    def redis_key(self, key: str) -> str:
        return self._base + check_key(key)

    def _now_arg(self) -> str:
        return "" if self._clock is None else repr(self._clock() * 1000.0)

    def acquire(self, key: str, rate: Rate, burst: int, cost: int = 1) -> Decision:
        return self._acquire(key, rate, burst, cost, [])

    def _acquire(self, key: str, rate: Rate, burst: int, cost: int, guard: list[str]) -> Decision:
        check_request(rate, burst, cost)
        self._count()
        allowed, wait_ms, blocked, reason, tokens = self.acquire_script(
            keys=[self.redis_key(key), self.counters_key, *guard],
            args=[repr(rate.per_second / 1000.0), int(burst), int(cost), self._now_arg(), key],
        )
        return Decision(
            allowed=bool(allowed),
            wait_ms=int(wait_ms),
            blocked=bool(blocked),
            reason=text(reason) or None,
            tokens=float(text(tokens)),
            guarded=int(blocked) == 2,
        )

    def acquire_unless_blocked(self, key: str, rate: Rate, burst: int, guard: str, cost: int = 1) -> Decision:
        """One round trip: acquire.lua with ``guard``'s bucket as its KEYS[3]."""
        return self._acquire(key, rate, burst, cost, [self.redis_key(guard)])

    def block(self, key: str, seconds: float, reason: str) -> None:
        redis_key = self.redis_key(key)
        if seconds <= 0:
            return
        self._count()
        self.block_script(
            keys=[redis_key, self.counters_key],
            args=[repr(float(seconds) * 1000.0), reason, self._now_arg(), key],
        )

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
        for batch in scan_suffixes(self.client, self._base):
            self._count()
            found.update(batch)
        return sorted(found)

    def counters(self) -> dict[str, LimiterCounters]:
        self._count()
        found: dict[str, dict[str, int]] = {}
        for field, value in self.client.hgetall(self.counters_key).items():
            what, _, key = text(field).partition(":")
            if what in ("granted", "denied", "blocks") and key:
                found.setdefault(key, {})[what] = int(text(value))
        return {key: LimiterCounters(key, **values) for key, values in sorted(found.items())}

    def reset(self, key: str) -> None:
        self._count()
        self.client.delete(self.redis_key(key))
