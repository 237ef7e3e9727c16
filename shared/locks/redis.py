"""Domain locks in Redis: SET NX PX with an owner token; renew and release in Lua (compare first)."""

from __future__ import annotations

from importlib import resources

import redis

from shared.locks.base import DomainLock


def _script(client: redis.Redis, name: str):
    return client.register_script(resources.files("shared.locks").joinpath(name).read_text())


class RedisDomainLock(DomainLock):
    def __init__(self, client: redis.Redis, prefix: str) -> None:
        self.prefix = prefix
        self._take = _script(client, "acquire.lua")
        self._release = _script(client, "release.lua")

    def _key(self, domain: str) -> str:
        return f"{self.prefix}:lock:domain:{domain}"

    def acquire(self, domain: str, owner: str, ttl_seconds: float) -> bool:
        return bool(self._take(keys=[self._key(domain)], args=[owner, int(ttl_seconds * 1000), "acquire"]))

    def renew(self, domain: str, owner: str, ttl_seconds: float) -> bool:
        return bool(self._take(keys=[self._key(domain)], args=[owner, int(ttl_seconds * 1000), "renew"]))

    def release(self, domain: str, owner: str) -> None:
        self._release(keys=[self._key(domain)], args=[owner])
