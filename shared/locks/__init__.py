"""Fleet-wide mutual exclusion per domain: one registrar-changing job per domain at a time.

The renew guard (expected expiry) already refuses a second renewal of a term; the lock closes the window
in which two jobs for one domain, under different keys, read the same expiry at the same moment.

Pick the store by URL (:mod:`shared.backends`): ``redis://``, ``rediss://``, ``unix://`` give a
:class:`RedisDomainLock` shared by every process using that Redis; ``memory://`` a
:class:`MemoryDomainLock` for this process only. :class:`Keeper` renews a held lock (or any lease) every
third of its time to live while the holder works.
"""

from __future__ import annotations

from shared.backends import Family
from shared.locks.base import DomainLock
from shared.locks.keeper import Keeper
from shared.locks.memory import MemoryDomainLock
from shared.locks.redis import RedisDomainLock

__all__ = ["LOCKS", "DomainLock", "Keeper", "MemoryDomainLock", "RedisDomainLock", "locks_from_url"]

LOCKS: Family[DomainLock] = Family("locks", redis=RedisDomainLock, memory=MemoryDomainLock)


def locks_from_url(url: str, prefix: str) -> DomainLock:
    """Domain locks for ``url``; Redis keys start with ``{prefix}:lock:``. Unknown schemes: ConfigError."""
    return LOCKS.from_url(url, prefix)
