"""Lookup caches at three granularities, ``domain:<apex>``, ``ns:<host>``, ``ipreg:<ip>`` (see
:mod:`~shared.registrydata.cache.base` for the values), each with its TTL and a short negative TTL.

Pick the store by URL (:mod:`shared.backends`): ``redis://``, ``rediss://``, ``unix://`` give a
:class:`RedisLookupCache` shared by the fleet (keys ``{prefix}:lookup:{kind}:{key}``); ``memory://`` a
:class:`MemoryLookupCache` for this process only. What goes in: a domain snapshot only when complete;
sub-results (nameserver addresses, IP registrants) as soon as they are known.
"""

from __future__ import annotations

from shared.backends import Family
from shared.registrydata.cache.base import KINDS, Cached, CacheTTLs, Kind, LookupCache, normalise_key
from shared.registrydata.cache.memory import MemoryLookupCache
from shared.registrydata.cache.redis import RedisLookupCache

__all__ = [
    "CACHES",
    "KINDS",
    "CacheTTLs",
    "Cached",
    "Kind",
    "LookupCache",
    "MemoryLookupCache",
    "RedisLookupCache",
    "cache_from_url",
    "normalise_key",
]

CACHES: Family[LookupCache] = Family("lookup-cache", redis=RedisLookupCache, memory=MemoryLookupCache)


def cache_from_url(url: str, prefix: str, ttls: CacheTTLs | None = None) -> LookupCache:
    """Lookup caches for ``url`` (default TTLs unless given); unknown schemes: ConfigError."""
    return CACHES.from_url(url, prefix, ttls or CacheTTLs())
