"""Fleet-wide rate limiting: a token bucket per provider key plus block windows.

Pick the store by URL, like the ``limits`` library: ``redis://``, ``rediss://`` and ``unix://`` give a
:class:`RedisLimiter` shared by every process using that Redis; ``memory://`` gives a
:class:`MemoryLimiter` for this process only (create it once and share it).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from redis import Redis

from shared.errors import ConfigError
from shared.ratelimit.base import MAX_WAIT_TRIES, BucketStatus, Decision, Limiter, check_key
from shared.ratelimit.memory import MemoryLimiter
from shared.ratelimit.rate import Rate
from shared.ratelimit.redis import RedisLimiter

REDIS_SCHEMES = frozenset({"redis", "rediss", "unix"})

__all__ = [
    "MAX_WAIT_TRIES",
    "BucketStatus",
    "Decision",
    "Limiter",
    "MemoryLimiter",
    "Rate",
    "RedisLimiter",
    "check_key",
    "limiter_from_url",
]


def limiter_from_url(url: str, prefix: str) -> Limiter:
    """A limiter for ``url``; Redis keys start with ``{prefix}:rl:``. Unknown schemes raise ConfigError."""
    scheme = urlsplit(url).scheme.lower()
    if scheme == "memory":
        return MemoryLimiter()
    if scheme in REDIS_SCHEMES:
        return RedisLimiter(Redis.from_url(url), prefix)
    # never echo the URL: it may carry a password
    raise ConfigError("REGQ_REDIS_URL", f"unsupported store scheme {scheme!r} (redis, rediss, unix, memory)")
