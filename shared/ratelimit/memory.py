"""The in-process limiter: the same arithmetic as ``acquire.lua``/``block.lua``, guarded by a lock.

For unit tests (inject ``clock`` and ``sleep``) and for a single-process embedded mode. It limits only
the process it lives in: create one per process and share it.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from shared.ratelimit.base import (
    BucketStatus,
    Decision,
    Limiter,
    LimiterCounters,
    check_key,
    check_request,
)
from shared.ratelimit.rate import Rate


@dataclass
class _Bucket:
    tokens: float | None = None  # None: never acquired (full)
    ts: float = 0.0  # ms
    rate_ms: float | None = None
    burst: int | None = None
    block_until: float = 0.0  # ms
    block_reason: str = ""
    expires: float = math.inf  # ms


class MemoryLimiter(Limiter):
    """Thread-safe token buckets in a dict. ``clock`` returns unix seconds."""

    def __init__(
        self, clock: Callable[[], float] = time.time, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        super().__init__(sleep=sleep)
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[str, _Bucket] = {}
        self._counters: dict[str, dict[str, int]] = {}  # key -> granted/denied/blocks, like acquire.lua

    def _tally(self, key: str, what: str, n: int = 1) -> None:
        counts = self._counters.setdefault(key, {})
        counts[what] = counts.get(what, 0) + n

    def _now(self) -> float:
        return self._clock() * 1000.0

    def _get(self, key: str, now: float) -> _Bucket | None:
        bucket = self._buckets.get(key)
        if bucket is not None and bucket.expires <= now:
            del self._buckets[key]
            return None
        return bucket

    @staticmethod
    def _refilled(bucket: _Bucket | None, rate_ms: float, burst: int, now: float) -> tuple[float, float]:
        if bucket is None or bucket.tokens is None:
            return float(burst), now
        tokens = bucket.tokens + (now - bucket.ts) * rate_ms if now > bucket.ts else bucket.tokens
        return min(float(burst), tokens), bucket.ts

    def acquire(self, key: str, rate: Rate, burst: int, cost: int = 1) -> Decision:
        check_request(rate, burst, cost)
        check_key(key)
        self._count()
        rate_ms = rate.per_second / 1000.0
        with self._lock:
            now = self._now()
            bucket = self._get(key, now)
            tokens, ts = self._refilled(bucket, rate_ms, burst, now)
            short = 0 if tokens + 1e-9 >= cost else math.ceil((cost - tokens) / rate_ms)
            if bucket is not None and bucket.block_until > now:
                wait = max(math.ceil(bucket.block_until - now), short)
                self._tally(key, "denied")
                return Decision(False, wait, True, bucket.block_reason or None, tokens)
            if short:
                self._tally(key, "denied")
                return Decision(False, short, False, None, tokens)
            tokens = max(0.0, tokens - cost)
            if bucket is None:
                bucket = self._buckets[key] = _Bucket()
            bucket.tokens, bucket.ts, bucket.rate_ms, bucket.burst = tokens, max(now, ts), rate_ms, burst
            bucket.block_until, bucket.block_reason = 0.0, ""
            bucket.expires = now + max(1, math.ceil((burst - tokens) / rate_ms))
            self._tally(key, "granted", cost)
            return Decision(True, 0, False, None, tokens)

    def acquire_unless_blocked(self, key: str, rate: Rate, burst: int, guard: str, cost: int = 1) -> Decision:
        check_key(guard)
        with self._lock:
            now = self._now()
            held = self._get(guard, now)
            if held is not None and held.block_until > now:
                self._count()
                wait = math.ceil(held.block_until - now)
                return Decision(False, wait, True, held.block_reason or None, 0.0, guarded=True)
        return self.acquire(key, rate, burst, cost)

    def block(self, key: str, seconds: float, reason: str) -> None:
        check_key(key)
        if seconds <= 0:
            return
        self._count()
        with self._lock:
            now = self._now()
            ends = now + float(seconds) * 1000.0
            bucket = self._get(key, now)
            if bucket is None:
                bucket = self._buckets[key] = _Bucket(expires=now)
            if ends <= bucket.block_until:
                return
            bucket.block_until, bucket.block_reason = ends, reason
            self._tally(key, "blocks")
            bucket.expires = max(bucket.expires, now + math.ceil(ends - now))

    def status(self, key: str) -> BucketStatus:
        check_key(key)
        self._count()
        with self._lock:
            now = self._now()
            bucket = self._get(key, now)
            if bucket is None:
                return BucketStatus(key=key, tokens=None, blocked_until=None, block_reason=None)
            tokens = None
            if bucket.tokens is not None and bucket.rate_ms and bucket.burst:
                tokens = self._refilled(bucket, bucket.rate_ms, bucket.burst, now)[0]
            blocked = bucket.block_until > now
            return BucketStatus(
                key=key,
                tokens=tokens,
                blocked_until=bucket.block_until / 1000.0 if blocked else None,
                block_reason=(bucket.block_reason or None) if blocked else None,
                burst=bucket.burst,
                rate_per_second=None if bucket.rate_ms is None else bucket.rate_ms * 1000.0,
            )

    def counters(self) -> dict[str, LimiterCounters]:
        self._count()
        with self._lock:
            return {k: LimiterCounters(k, **v) for k, v in sorted(self._counters.items())}

    def keys(self) -> list[str]:
        self._count()
        with self._lock:
            now = self._now()
            return sorted(k for k in list(self._buckets) if self._get(k, now) is not None)

    def reset(self, key: str) -> None:
        check_key(key)
        self._count()
        with self._lock:
            self._buckets.pop(key, None)
