"""``Limiter.acquire_unless_blocked`` (issue 21): an acquire refused while ANOTHER bucket's block window is
active, in one Redis round trip (the API's token bucket behind its caller's failed-authentication block).

On both backends: while the guard is blocked the Decision is ``guarded`` (the guard's reason and wait),
and the key's bucket is neither taken from nor counted; once the guard is unblocked (or never was) it is
a plain acquire, denials included. On Redis the whole decision is one script call.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
import redis

from shared.ratelimit import Limiter, MemoryLimiter, Rate, RedisLimiter

RATE = Rate.parse("1/s")


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["memory", "redis"])
def make(
    request: pytest.FixtureRequest, redis_client: redis.Redis, redis_prefix: str
) -> Callable[[Clock], Limiter]:
    def build(clock: Clock) -> Limiter:
        if request.param == "memory":
            return MemoryLimiter(clock=clock)
        return RedisLimiter(redis_client, redis_prefix, clock=clock)

    return build


def test_a_blocked_guard_refuses_without_touching_the_key(make: Callable[[Clock], Limiter]) -> None:
    clock = Clock()
    limiter = make(clock)
    limiter.block("api-auth:10.0.0.1", 30, "authentication failures")
    decision = limiter.acquire_unless_blocked("api:alice", RATE, 2, "api-auth:10.0.0.1")
    assert decision.guarded and decision.blocked and not decision.allowed
    assert decision.reason == "authentication failures" and 29_000 <= decision.wait_ms <= 30_000
    assert limiter.status("api:alice").tokens is None  # the key's bucket was not written
    assert "api:alice" not in limiter.counters()  # nor counted
    # another address is not blocked: a plain acquire of the same key
    other = limiter.acquire_unless_blocked("api:alice", RATE, 2, "api-auth:10.0.0.2")
    assert other.allowed and not other.guarded and other.tokens == pytest.approx(1.0)
    # the window over: a plain acquire again, its denial included
    clock.now += 31
    assert limiter.acquire_unless_blocked("api:alice", RATE, 2, "api-auth:10.0.0.1").allowed
    assert limiter.acquire_unless_blocked("api:alice", RATE, 2, "api-auth:10.0.0.1").allowed
    denied = limiter.acquire_unless_blocked("api:alice", RATE, 2, "api-auth:10.0.0.1")
    assert not denied.allowed and not denied.guarded and not denied.blocked and denied.wait_ms == 1000
    counted = limiter.counters().get("api:alice")
    if counted is not None:  # the memory limiter counts too; both: 3 granted, 1 denied
        assert (counted.granted, counted.denied) == (3, 1)


def test_the_keys_own_block_is_not_the_guards(make: Callable[[Clock], Limiter]) -> None:
    limiter = make(Clock())
    limiter.block("api:bob", 10, "operator")
    decision = limiter.acquire_unless_blocked("api:bob", RATE, 2, "api-auth:10.0.0.3")
    assert decision.blocked and not decision.guarded and decision.reason == "operator"


def test_on_redis_it_is_one_round_trip(
    redis_client: redis.Redis, redis_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    limiter = RedisLimiter(redis_client, redis_prefix)
    limiter.block("api-auth:10.0.0.4", 5, "authentication failures")
    limiter.acquire_unless_blocked("api:dave", RATE, 5, "api-auth:10.0.0.6")  # the script now on the server
    commands: list[str] = []
    original = redis_client.execute_command

    def spy(*args: object, **options: object) -> object:
        commands.append(str(args[0]))
        return original(*args, **options)

    monkeypatch.setattr(redis_client, "execute_command", spy)
    assert limiter.acquire_unless_blocked("api:carol", RATE, 5, "api-auth:10.0.0.4").guarded
    assert limiter.acquire_unless_blocked("api:carol", RATE, 5, "api-auth:10.0.0.5").allowed
    assert commands == ["EVALSHA", "EVALSHA"]  # one command per decision (the script already loaded)
