"""Fleet-wide mutual exclusion per domain: one registrar-changing job per domain at a time.

The renew guard (expected expiry) already refuses a second renewal of a term; the lock closes the window
in which two jobs for one domain, under different keys, read the same expiry at the same moment.
"""

from shared.locks.base import DomainLock
from shared.locks.memory import MemoryDomainLock
from shared.locks.redis import RedisDomainLock

__all__ = ["DomainLock", "MemoryDomainLock", "RedisDomainLock"]
