"""Fleet-wide rate limiting: a token bucket per provider key plus block windows.

Pick the store by URL (:mod:`shared.backends`): ``redis://``, ``rediss://`` and ``unix://`` give a
:class:`RedisLimiter` shared by every process using that Redis; ``memory://`` gives a
:class:`MemoryLimiter` for this process only (create it once and share it).
"""

from __future__ import annotations

from shared.backends import Family
from shared.ratelimit.base import (
    MAX_WAIT_TRIES,
    BucketStatus,
    Decision,
    Limiter,
    LimiterCounters,
    check_key,
)
from shared.ratelimit.memory import MemoryLimiter
from shared.ratelimit.rate import Rate
from shared.ratelimit.redis import RedisLimiter

__all__ = [
    "LIMITERS",
    "MAX_WAIT_TRIES",
    "BucketStatus",
    "Decision",
    "Limiter",
    "LimiterCounters",
    "MemoryLimiter",
    "Rate",
    "RedisLimiter",
    "check_key",
    "limiter_from_url",
]

LIMITERS: Family[Limiter] = Family("limiter", redis=RedisLimiter, memory=MemoryLimiter)


def limiter_from_url(url: str, prefix: str) -> Limiter:
    """A limiter for ``url``; Redis keys start with ``{prefix}:rl:``. Unknown schemes raise ConfigError."""
    return LIMITERS.from_url(url, prefix)
