"""The scheme table: a URL's scheme picks the connection class; a :class:`Family` picks the backend on it.

The families themselves are declared beside their backends (``shared.ratelimit.LIMITERS``,
``shared.breaker.BREAKERS``, ``shared.locks.LOCKS``, ``shared.registrydata.cache.CACHES``,
``shared.registrydata.singleflight.FLIGHTS``).

``connect(url)`` keeps one connection per URL and process: every family built from the same URL shares its
pool, and a forked child (another pid) gets its own instead of the parent's sockets.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic
from urllib.parse import urlsplit

from shared.backends.base import B, Connection
from shared.backends.memory import MemoryConnection
from shared.backends.redis import RedisConnection
from shared.errors import ConfigError

#: scheme -> connection class (the model: ``limits.storage.storage_from_string``).
SCHEMES: dict[str, type[Connection]] = {
    "redis": RedisConnection,
    "rediss": RedisConnection,
    "unix": RedisConnection,
    "memory": MemoryConnection,
}
#: The variable every backend URL comes from, named in configuration errors.
URL_VARIABLE = "REGQ_REDIS_URL"

_open: dict[str, Connection] = {}
_open_lock = threading.Lock()


def _fresh_lock_in_child() -> None:
    global _open_lock
    _open_lock = threading.Lock()  # a thread of the parent may have held it at the fork


os.register_at_fork(after_in_child=_fresh_lock_in_child)


def connection_class(url: str) -> type[Connection]:
    """The connection class for ``url``'s scheme; ConfigError naming REGQ_REDIS_URL (not the URL) if none."""
    scheme = urlsplit(url).scheme.lower()
    cls = SCHEMES.get(scheme)
    if cls is None:
        # never echo the URL: it may carry a password
        expected = ", ".join(f"{s}://" for s in SCHEMES)
        raise ConfigError(URL_VARIABLE, f"unsupported scheme {scheme!r} (expected {expected})")
    return cls


def connect(url: str) -> Connection:
    """This process's connection for ``url``: opened on first use, opened again in a forked child."""
    cls = connection_class(url)
    pid = os.getpid()
    with _open_lock:
        current = _open.get(url)
        if current is None or current.pid != pid:  # a parent's pool is left alone, not closed
            current = _open[url] = cls(url)
        return current


@dataclass(frozen=True)
class Family(Generic[B]):
    """One kind of backend (``name``: limiter, breaker, locks) and its class per store.

    Redis backends are called as ``redis(client, prefix, *args)``, memory backends as ``memory(*args)``.
    """

    name: str
    redis: Callable[..., B]
    memory: Callable[..., B]

    def from_url(self, url: str, prefix: str, *args: Any, **kwargs: Any) -> B:
        """A backend for ``url``; Redis keys start with ``prefix``. Unknown schemes raise ConfigError."""
        return connect(url).build(self, prefix, *args, **kwargs)
