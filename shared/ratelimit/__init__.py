"""Fleet-wide rate limiting: a token bucket per provider key plus block windows.

Pick the store by URL (:mod:`shared.backends`): ``redis://``, ``rediss://`` and ``unix://`` give a
:class:`RedisLimiter` shared by every process using that Redis; ``memory://`` gives a
:class:`MemoryLimiter` for this process only (create it once and share it).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from shared.ratelimit.base import (
    MAX_WAIT_TRIES,
    BucketStatus,
    Decision,
    Limiter,
    LimiterCounters,
    check_key,
)
from shared.ratelimit.rate import Rate

if TYPE_CHECKING:
    from shared.backends import Family
    from shared.ratelimit.memory import MemoryLimiter
    from shared.ratelimit.redis import RedisLimiter

    LIMITERS: Family[Limiter]

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

#: The backends, imported on first use: ``shared.settings`` imports :class:`Rate` from here, and a
#: process that reads its settings but never limits (``regq status KEY``) should not import redis.
_LAZY = {"MemoryLimiter": "shared.ratelimit.memory", "RedisLimiter": "shared.ratelimit.redis"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    if name == "LIMITERS":
        if "LIMITERS" not in globals():  # built once per process, as when it was built at import
            from shared.backends import Family
            from shared.ratelimit.memory import MemoryLimiter
            from shared.ratelimit.redis import RedisLimiter

            globals()["LIMITERS"] = Family("limiter", redis=RedisLimiter, memory=MemoryLimiter)
        return globals()["LIMITERS"]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def limiter_from_url(url: str, prefix: str) -> Limiter:
    """A limiter for ``url``; Redis keys start with ``{prefix}:rl:``. Unknown schemes raise ConfigError."""
    limiters: Family[Limiter] = __getattr__("LIMITERS")
    return limiters.from_url(url, prefix)
