"""Domain locks in Redis: one string key per domain holding the owner token, with a PX expiry.

Key: ``{prefix}:lock:domain:{domain}``. ``acquire.lua`` takes a free lock (or restarts our own lease) and,
in ``renew`` mode, only restarts our own; ``release.lua`` deletes the key only if it still holds our
token. Each is one atomic script call, so a lock that lapsed and was taken by another owner is never
extended or deleted by the old one.

Why not redis-py's ``redis.lock.Lock``: it is a stateful object per holder that keeps the token it
acquired with in ``lock.local`` (thread-local by default). The runner acquires in the delivery thread and
renews from the lease-keeper thread with nothing but ``(domain, owner)``; with ``Lock`` that needs either
``thread_local=False`` plus a process-wide table of live ``Lock`` objects, or writing the token into
``lock.local`` by hand before ``extend``/``reacquire``. It also answers a lost lock with
``LockNotOwnedError`` (renew must return False), ``release`` raises when the lock is not ours, and its
``acquire`` is SET NX only, so an owner re-acquiring its own lock is refused. Two short scripts give the
interface exactly.
"""

from __future__ import annotations

import redis

from shared.backends import lua_script
from shared.locks.base import DomainLock, check_ttl

_SCRIPTS = "shared.locks"


class RedisDomainLock(DomainLock):
    """Fleet-wide domain locks. ``round_trips`` counts script calls (one per operation)."""

    def __init__(self, client: redis.Redis, prefix: str) -> None:
        self.client = client
        self.prefix = prefix
        self._base = f"{prefix}:lock:domain:"
        self.round_trips = 0
        self.take_script = lua_script(client, _SCRIPTS, "acquire")
        self.release_script = lua_script(client, _SCRIPTS, "release")

    def redis_key(self, domain: str) -> str:
        return self._base + domain

    def _take(self, domain: str, owner: str, ttl_seconds: float, mode: str) -> bool:
        ttl_ms = check_ttl(ttl_seconds)
        self.round_trips += 1
        return bool(self.take_script(keys=[self.redis_key(domain)], args=[owner, ttl_ms, mode]))

    def acquire(self, domain: str, owner: str, ttl_seconds: float) -> bool:
        return self._take(domain, owner, ttl_seconds, "acquire")

    def renew(self, domain: str, owner: str, ttl_seconds: float) -> bool:
        return self._take(domain, owner, ttl_seconds, "renew")

    def release(self, domain: str, owner: str) -> None:
        self.round_trips += 1
        self.release_script(keys=[self.redis_key(domain)], args=[owner])
