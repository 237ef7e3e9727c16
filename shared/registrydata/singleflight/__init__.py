"""One upstream fetch per key across the fleet: concurrent lookups of ``domain:<apex>`` (or ``ns:``,
``ipreg:``) anywhere share the first one's fetch; the others wait, bounded, for its outcome.

Pick the store by URL (:mod:`shared.backends`): ``redis://``, ``rediss://``, ``unix://`` give a
:class:`RedisSingleflight` for every process on that Redis (a leader's lease lapses within
``REGQ_LOOKUP_FLIGHT_LEASE_SECONDS`` when it dies); ``memory://`` a :class:`MemorySingleflight` for the
threads of this process. Usage::

    flight = singleflight_from_url(url, prefix, FlightConfig.from_settings(settings))
    snapshot = flight.do(f"domain:{apex}", fetch_snapshot, encode=..., decode=...,
                         lookup=lambda: cached_snapshot(apex))
"""

from __future__ import annotations

from shared.backends import Family
from shared.registrydata.singleflight.base import (
    FlightConfig,
    FlightStats,
    FlightTimeout,
    LeaderFailed,
    OnTimeout,
    Singleflight,
)
from shared.registrydata.singleflight.memory import MemorySingleflight
from shared.registrydata.singleflight.redis import RedisSingleflight

__all__ = [
    "FLIGHTS",
    "FlightConfig",
    "FlightStats",
    "FlightTimeout",
    "LeaderFailed",
    "MemorySingleflight",
    "OnTimeout",
    "RedisSingleflight",
    "Singleflight",
    "singleflight_from_url",
]

FLIGHTS: Family[Singleflight] = Family("singleflight", redis=RedisSingleflight, memory=MemorySingleflight)


def singleflight_from_url(url: str, prefix: str, config: FlightConfig | None = None) -> Singleflight:
    """Singleflight for ``url``; Redis keys start with ``{prefix}:flight:``. Unknown schemes: ConfigError."""
    return FLIGHTS.from_url(url, prefix, config or FlightConfig())
