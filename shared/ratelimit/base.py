"""The shared token bucket: one bucket per provider key for the whole fleet, plus block windows.

A bucket holds at most ``burst`` tokens, starts full and refills at ``rate``. :meth:`Limiter.acquire`
takes ``cost`` tokens or says exactly how long until it could. :meth:`Limiter.block` stops every worker
using a key until a moment (a 429/503 ``Retry-After``, a WHOIS throttling text); a block is never
shortened. Keys are opaque provider names such as ``gandi`` or upstream hosts such as ``whois.eu``; they
are shown by ``regq limits`` and stored in Redis in clear, so :func:`check_key` refuses anything that
looks like a URL or carries credentials.
"""

from __future__ import annotations

import math
import re
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass

from shared.ratelimit.rate import Rate

#: How many times :meth:`Limiter.acquire_or_wait` sleeps and tries again before giving up.
MAX_WAIT_TRIES = 8
_KEY_MAX = 200
_BAD_KEY = re.compile(r"[\s@]|://|[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class Decision:
    """The answer to one acquire.

    ``wait_ms`` is 0 when allowed; otherwise the exact time until ``cost`` tokens exist, or until the
    block window ends (whichever is later). ``tokens`` is what the bucket holds after the decision.
    ``guarded``: refused by the guard's block window (:meth:`Limiter.acquire_unless_blocked`; ``blocked``
    too, ``reason`` and ``wait_ms`` the guard's, ``tokens`` 0: the key's bucket was not read).
    """

    allowed: bool
    wait_ms: int
    blocked: bool
    reason: str | None
    tokens: float
    guarded: bool = False


@dataclass(frozen=True)
class BucketStatus:
    """What ``regq limits`` shows for one key.

    ``tokens`` is None when no bucket is stored (it is full, or only a block exists); ``blocked_until``
    is a unix timestamp while a block window is active; ``burst`` and ``rate_per_second`` are the values
    the bucket was last acquired with.
    """

    key: str
    tokens: float | None
    blocked_until: float | None
    block_reason: str | None
    burst: int | None = None
    rate_per_second: float | None = None


@dataclass(frozen=True)
class LimiterCounters:
    """Fleet-wide totals for one key since the store began counting (for the exporter): ``granted``
    tokens, ``denied`` acquires (no tokens, or a block window), ``blocks`` windows opened or extended."""

    key: str
    granted: int = 0
    denied: int = 0
    blocks: int = 0


def check_key(key: str) -> str:
    """Return ``key`` if it is a usable limiter key; raise ValueError otherwise.

    A key is a provider name or a host name: 1-200 printable characters, no whitespace, no ``@`` and no
    ``://`` (so a URL with credentials can never end up in Redis or on an operator's screen).
    """
    if not isinstance(key, str) or not key or len(key) > _KEY_MAX or _BAD_KEY.search(key):
        raise ValueError("a limiter key is a provider or host name (1-200 chars, no spaces, '@' or '://')")
    return key


def check_request(rate: Rate, burst: int, cost: int) -> None:
    """Refuse requests that could never be satisfied (ValueError)."""
    if rate.per_second <= 0:
        raise ValueError("rate must be positive")
    if burst < 1:
        raise ValueError("burst must be at least 1")
    if cost < 1 or cost > burst:
        raise ValueError(f"cost must be between 1 and the burst ({burst}), got {cost}")


class Limiter(ABC):
    """A token-bucket limiter shared by every worker that uses the same store.

    ``round_trips`` counts calls to the store (Redis commands and script calls; a memory limiter counts
    its operations the same way), so a benchmark can show that one acquire is one round trip.
    """

    def __init__(self, *, sleep: Callable[[float], None] = time.sleep) -> None:
        self.round_trips = 0
        self._sleep = sleep
        self._count_lock = threading.Lock()

    def _count(self, n: int = 1) -> None:
        with self._count_lock:
            self.round_trips += n

    @abstractmethod
    def acquire(self, key: str, rate: Rate, burst: int, cost: int = 1) -> Decision:
        """Take ``cost`` tokens from ``key``'s bucket (capacity ``burst``, refill ``rate``) if possible."""

    @abstractmethod
    def block(self, key: str, seconds: float, reason: str) -> None:
        """Refuse ``key`` to every worker for ``seconds`` from now, unless a later block already exists."""

    @abstractmethod
    def status(self, key: str) -> BucketStatus:
        """The bucket's tokens now and its active block window, without changing anything."""

    @abstractmethod
    def keys(self) -> list[str]:
        """Every key with a stored bucket or an active block, sorted."""

    def counters(self) -> dict[str, LimiterCounters]:
        """Granted, denied and block counts of every key that has any, by key (counters never expire)."""
        return {}

    @abstractmethod
    def reset(self, key: str) -> None:
        """Forget ``key``'s bucket and block window: it is full and unblocked again."""

    def acquire_unless_blocked(self, key: str, rate: Rate, burst: int, guard: str, cost: int = 1) -> Decision:
        """:meth:`acquire` on ``key``, unless the bucket ``guard`` has an active block window: then nothing
        is taken or counted and the Decision is ``guarded`` (the API's token bucket behind its caller's
        failed-authentication block). Here a status and an acquire; one round trip on Redis."""
        found = self.status(guard)
        if found.blocked_until is not None:
            wait_ms = max(1, math.ceil((found.blocked_until - time.time()) * 1000))
            return Decision(False, wait_ms, True, found.block_reason, 0.0, guarded=True)
        return self.acquire(key, rate, burst, cost)

    def acquire_or_wait(self, key: str, rate: Rate, burst: int, max_wait_ms: int, cost: int = 1) -> Decision:
        """Acquire, sleeping in place for short waits.

        While the wait a denial names fits in what is left of ``max_wait_ms`` (counted over all sleeps),
        sleep it and try again, at most :data:`MAX_WAIT_TRIES` times. Otherwise return the denied
        Decision: the caller re-schedules itself ``wait_ms`` later instead of holding its worker slot.
        """
        budget = max(0, int(max_wait_ms))
        decision = self.acquire(key, rate, burst, cost)
        for _ in range(MAX_WAIT_TRIES):
            if decision.allowed or decision.wait_ms > budget:
                return decision
            budget -= decision.wait_ms
            self._sleep(decision.wait_ms / 1000.0)
            decision = self.acquire(key, rate, burst, cost)
        return decision
