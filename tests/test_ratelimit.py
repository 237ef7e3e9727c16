"""The token bucket: the same algorithm tests over every backend (Lua and server clock: *_redis.py).

Time is injected: a fake clock for the memory backend and the scripts' test-only "now" argument for
Redis (production passes "" and the scripts read the server's TIME; that path is tested separately).
Rates stay slow (a few per second at most) so the real PEXPIRE of a Redis bucket never fires mid-test.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis

from shared.ratelimit import (
    Limiter,
    MemoryLimiter,
    Rate,
    RedisLimiter,
    check_key,
)

T0 = 1_700_000_000.0
SLOW = Rate.parse("1/s")


class FakeClock:
    def __init__(self, now: float = T0) -> None:
        self.now = now
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(params=["memory", "redis"])
def limiter(request: pytest.FixtureRequest, clock: FakeClock) -> Iterator[Limiter]:
    if request.param == "memory":
        yield MemoryLimiter(clock=clock, sleep=clock.sleep)
        return
    client = redis.Redis.from_url(request.getfixturevalue("redis_url"))
    prefix = request.getfixturevalue("redis_prefix")
    yield RedisLimiter(client, prefix, clock=clock, sleep=clock.sleep)
    client.close()


def drain(limiter: Limiter, key: str, rate: Rate, burst: int) -> int:
    allowed = 0
    while limiter.acquire(key, rate, burst).allowed:
        allowed += 1
    return allowed


# --- algorithm, every backend ----------------------------------------------------------------------------
def test_starts_full_and_caps_at_burst(limiter: Limiter, clock: FakeClock) -> None:
    assert drain(limiter, "gandi", SLOW, 5) == 5
    clock.advance(3600)  # an hour idle refills to the burst, not beyond
    assert drain(limiter, "gandi", SLOW, 5) == 5


def test_refill_arithmetic(limiter: Limiter, clock: FakeClock) -> None:
    rate = Rate.parse("2/s")
    drain(limiter, "k", rate, 4)
    clock.advance(0.75)  # 1.5 tokens
    first = limiter.acquire("k", rate, 4)
    assert first.allowed and first.tokens == pytest.approx(0.5)
    second = limiter.acquire("k", rate, 4)
    assert not second.allowed and second.tokens == pytest.approx(0.5)
    assert second.wait_ms == 250


def test_wait_ms_is_exact(limiter: Limiter, clock: FakeClock) -> None:
    rate = Rate.parse("3/s")  # 333.33 ms per token: the wait must round up, never down
    drain(limiter, "k", rate, 2)
    denied = limiter.acquire("k", rate, 2)
    assert not denied.allowed and not denied.blocked
    assert denied.wait_ms == 334
    clock.advance(0.333)
    assert not limiter.acquire("k", rate, 2).allowed
    clock.advance(0.001)
    assert limiter.acquire("k", rate, 2).allowed


def test_cost_above_one(limiter: Limiter, clock: FakeClock) -> None:
    assert limiter.acquire("k", SLOW, 5, cost=3).allowed
    denied = limiter.acquire("k", SLOW, 5, cost=3)
    assert not denied.allowed and denied.tokens == pytest.approx(2)
    assert denied.wait_ms == 1000
    assert limiter.acquire("k", SLOW, 5, cost=2).allowed  # a denial takes nothing
    clock.advance(3)
    assert limiter.acquire("k", SLOW, 5, cost=3).allowed
    with pytest.raises(ValueError, match="cost"):
        limiter.acquire("k", SLOW, 5, cost=6)


def test_block_is_honoured_first(limiter: Limiter, clock: FakeClock) -> None:
    limiter.block("whois.eu", 30, "Still in grace period, wait 30 seconds")
    denied = limiter.acquire("whois.eu", SLOW, 5)
    assert not denied.allowed and denied.blocked
    assert denied.reason == "Still in grace period, wait 30 seconds"
    assert denied.wait_ms == 30_000
    assert denied.tokens == pytest.approx(5)  # tokens exist; the block still wins
    clock.advance(29.999)
    assert limiter.acquire("whois.eu", SLOW, 5).blocked
    clock.advance(0.001)
    allowed = limiter.acquire("whois.eu", SLOW, 5)
    assert allowed.allowed and not allowed.blocked
    assert limiter.status("whois.eu").blocked_until is None


def test_block_wait_covers_missing_tokens(limiter: Limiter, clock: FakeClock) -> None:
    drain(limiter, "k", Rate.parse("1/10s"), 2)
    limiter.block("k", 2, "429")
    denied = limiter.acquire("k", Rate.parse("1/10s"), 2)
    assert denied.blocked and denied.wait_ms == 10_000  # the bucket, not the block, is the longer wait


def test_block_is_never_shortened(limiter: Limiter, clock: FakeClock) -> None:
    limiter.block("gandi", 60, "Retry-After: 60")
    limiter.block("gandi", 5, "Retry-After: 5")
    status = limiter.status("gandi")
    assert status.blocked_until == pytest.approx(T0 + 60)
    assert status.block_reason == "Retry-After: 60"
    limiter.block("gandi", 120, "Retry-After: 120")  # a later end extends it
    status = limiter.status("gandi")
    assert status.blocked_until == pytest.approx(T0 + 120)
    assert status.block_reason == "Retry-After: 120"
    assert limiter.acquire("gandi", SLOW, 5).wait_ms == 120_000


def test_keys_are_isolated(limiter: Limiter, clock: FakeClock) -> None:
    drain(limiter, "gandi", SLOW, 3)
    limiter.block("rdap.verisign.com", 10, "429")
    assert limiter.acquire("rotld", SLOW, 3).allowed
    assert not limiter.acquire("gandi", SLOW, 3).allowed
    assert limiter.acquire("whois.eu", SLOW, 3).allowed
    assert limiter.keys() == ["gandi", "rdap.verisign.com", "rotld", "whois.eu"]


def test_status_and_reset(limiter: Limiter, clock: FakeClock) -> None:
    assert limiter.status("gandi").tokens is None  # no bucket: full
    limiter.acquire("gandi", Rate.parse("2/s"), 4, cost=4)
    clock.advance(0.5)
    status = limiter.status("gandi")
    assert status.tokens == pytest.approx(1.0)
    assert (status.burst, status.rate_per_second) == (4, pytest.approx(2.0))
    assert limiter.status("gandi").tokens == pytest.approx(1.0)  # status changes nothing
    limiter.block("gandi", 10, "503")
    limiter.reset("gandi")
    assert limiter.keys() == []
    assert limiter.acquire("gandi", Rate.parse("2/s"), 4, cost=4).allowed


def test_acquire_or_wait_sleeps_short_waits(limiter: Limiter, clock: FakeClock) -> None:
    rate = Rate.parse("2/s")
    drain(limiter, "k", rate, 2)
    decision = limiter.acquire_or_wait("k", rate, 2, max_wait_ms=500)
    assert decision.allowed
    assert clock.slept == [0.5]


def test_acquire_or_wait_returns_long_waits(limiter: Limiter, clock: FakeClock) -> None:
    drain(limiter, "k", SLOW, 2)
    decision = limiter.acquire_or_wait("k", SLOW, 2, max_wait_ms=300)
    assert not decision.allowed and decision.wait_ms == 1000
    assert clock.slept == []
    limiter.block("k", 60, "429")
    assert limiter.acquire_or_wait("k", SLOW, 2, max_wait_ms=5000).blocked
    assert clock.slept == []


def test_acquire_or_wait_budget_is_total(limiter: Limiter, clock: FakeClock) -> None:
    rate = Rate.parse("2/s")
    drain(limiter, "k", rate, 2)
    assert limiter.acquire_or_wait("k", rate, 2, max_wait_ms=800).allowed  # sleeps 500
    decision = limiter.acquire_or_wait("k", rate, 2, max_wait_ms=400)
    assert not decision.allowed and decision.wait_ms == 500
    assert clock.slept == [0.5]


def test_one_round_trip_per_acquire(limiter: Limiter) -> None:
    before = limiter.round_trips
    for _ in range(10):
        limiter.acquire("k", SLOW, 5)
    assert limiter.round_trips - before == 10


@pytest.mark.parametrize("bad", ["", "https://user:pw@gandi", "tok en", "a@b", "x" * 201, "a\nb"])
def test_keys_that_could_carry_secrets_are_refused(limiter: Limiter, bad: str) -> None:
    with pytest.raises(ValueError, match="limiter key"):
        limiter.acquire(bad, SLOW, 1)
    assert check_key("rdap.verisign.com") == "rdap.verisign.com"


def test_unsatisfiable_requests_are_refused(limiter: Limiter) -> None:
    with pytest.raises(ValueError):
        limiter.acquire("k", SLOW, 0)
    with pytest.raises(ValueError):
        limiter.acquire("k", SLOW, 2, cost=0)


def test_memory_buckets_expire_when_full_again(clock: FakeClock) -> None:
    limiter = MemoryLimiter(clock=clock)
    limiter.acquire("k", Rate.parse("2/s"), 4, cost=2)
    limiter.block("b", 3, "x")
    assert limiter.keys() == ["b", "k"]
    clock.advance(1.0)
    assert limiter.keys() == ["b"]
    clock.advance(2.0)
    assert limiter.keys() == []
