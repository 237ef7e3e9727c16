"""Fleet-wide circuit breakers, one per provider, with a durable journal of transitions.

Pick the store by URL: ``redis://``, ``rediss://``, ``unix://`` give a :class:`RedisBreaker` shared by
every process using that Redis; ``memory://`` a :class:`MemoryBreaker` for this process only.
"""

from __future__ import annotations

from shared.backends import Family
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

__all__ = [
    "BREAKERS",
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


BREAKERS: Family[Breaker] = Family("breaker", redis=RedisBreaker, memory=MemoryBreaker)


def breaker_from_url(url: str, prefix: str, config: BreakerConfig, journal: BreakerJournal) -> Breaker:
    """A breaker for ``url``; Redis keys start with ``{prefix}:br:``. Unknown schemes raise ConfigError."""
    return BREAKERS.from_url(url, prefix, config, journal)
