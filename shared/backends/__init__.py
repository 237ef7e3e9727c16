"""The one place that knows how regq reaches its shared state: the URL-scheme table and Lua scripts.

Every fleet-wide backend family (limiter, breaker, domain locks, lookup cache, singleflight) is built
the same way: an abstract base, a Redis backend, a memory backend, and a ``*_from_url`` factory that is a
:class:`Family` declared in one line. The URL picks the backend, like the ``limits`` library's
``storage_from_string``::

    REGQ_REDIS_URL ──> connect(url) ── SCHEMES ─┬─ redis:// rediss:// unix:// ─> RedisConnection
                                                │     one pool per process and URL (pid-checked:
                                                │     rebuilt after a fork), shared by every family
                                                └─ memory:// ──────────────────> MemoryConnection
    Family(redis=RedisX, memory=MemoryX).from_url(url, prefix, ...)
        RedisConnection  -> RedisX(pool client, prefix, ...)     MemoryConnection -> MemoryX(...)

An unknown scheme is a :class:`~shared.errors.ConfigError` naming ``REGQ_REDIS_URL`` (never the URL: it
may carry a password). A Redis that does not answer is a
:class:`~shared.errors.BackendUnavailable` wherever :func:`backend_errors` wraps the work. Lua files
stay beside the backend that runs them and are loaded through
:func:`lua_script` (package resources, read once per process, registered once per Redis client).
"""

from shared.backends.base import Connection
from shared.backends.memory import MemoryConnection
from shared.backends.redis import RedisConnection, scan_suffixes, text
from shared.backends.schemes import SCHEMES, Family, connect
from shared.backends.scripts import lua_script, lua_source
from shared.backends.unavailable import UNAVAILABLE, backend_errors

__all__ = [
    "SCHEMES",
    "UNAVAILABLE",
    "Connection",
    "Family",
    "MemoryConnection",
    "RedisConnection",
    "backend_errors",
    "connect",
    "lua_script",
    "lua_source",
    "scan_suffixes",
    "text",
]
