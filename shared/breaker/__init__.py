"""Fleet-wide circuit breakers, one per provider, with a durable journal of transitions.

Pick the store by URL: ``redis://``, ``rediss://``, ``unix://`` give a :class:`RedisBreaker` shared by
every process using that Redis; ``memory://`` a :class:`MemoryBreaker` for this process only.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from redis import Redis

from shared.breaker.base import (
    CLOSED,
    HALF_OPEN,
    OPEN,
    Breaker,
    BreakerConfig,
    BreakerJournal,
    BreakerState,
    MemoryJournal,
    Permit,
    Transition,
)
from shared.breaker.memory import MemoryBreaker
from shared.breaker.redis import RedisBreaker
from shared.errors import ConfigError

REDIS_SCHEMES = frozenset({"redis", "rediss", "unix"})

__all__ = [
    "CLOSED",
    "HALF_OPEN",
    "OPEN",
    "Breaker",
    "BreakerConfig",
    "BreakerJournal",
    "BreakerState",
    "MemoryBreaker",
    "MemoryJournal",
    "Permit",
    "RedisBreaker",
    "Transition",
    "breaker_from_url",
]


def breaker_from_url(url: str, prefix: str, config: BreakerConfig, journal: BreakerJournal) -> Breaker:
    """A breaker for ``url``; Redis keys start with ``{prefix}:br:``. Unknown schemes raise ConfigError."""
    scheme = urlsplit(url).scheme.lower()
    if scheme == "memory":
        return MemoryBreaker(config, journal)
    if scheme in REDIS_SCHEMES:
        return RedisBreaker(Redis.from_url(url), prefix, config, journal)
    # never echo the URL: it may carry a password
    raise ConfigError("REGQ_REDIS_URL", f"unsupported store scheme {scheme!r} (redis, rediss, unix, memory)")
