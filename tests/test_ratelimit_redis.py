"""Redis limiter specifics: key expiry, the Lua scripts called directly, the server clock, the factory."""

from __future__ import annotations

import time

import pytest
import redis

from shared.errors import ConfigError
from shared.ratelimit import MemoryLimiter, Rate, RedisLimiter, limiter_from_url

SLOW = Rate.parse("1/s")


def drain(limiter: RedisLimiter, key: str, rate: Rate, burst: int) -> int:
    allowed = 0
    while limiter.acquire(key, rate, burst).allowed:
        allowed += 1
    return allowed


@pytest.fixture
def rlimiter(redis_client: redis.Redis, redis_prefix: str) -> RedisLimiter:
    return RedisLimiter(redis_client, redis_prefix)


def test_redis_idle_bucket_expires_when_full_again(rlimiter: RedisLimiter, redis_client: redis.Redis) -> None:
    rlimiter.acquire("k", Rate.parse("100/s"), 4, cost=3)  # 30 ms to refill
    ttl = redis_client.pttl(rlimiter.redis_key("k"))
    assert 0 < ttl <= 30
    rlimiter.block("k", 5, "503")  # a block keeps the key until it ends
    assert 4000 < redis_client.pttl(rlimiter.redis_key("k")) <= 5000
    rlimiter.block("k", 1, "503")  # ... and never shortens its life
    assert redis_client.pttl(rlimiter.redis_key("k")) > 4000


def test_lua_refill_arithmetic(rlimiter: RedisLimiter, redis_client: redis.Redis) -> None:
    key = rlimiter.redis_key("lua")
    now = 1_000_000.0
    rate_ms = "0.004"  # 4/s
    allowed, wait, blocked, reason, tokens = rlimiter.acquire_script(keys=[key], args=[rate_ms, 10, 10, now])
    assert (allowed, wait, blocked, reason, float(tokens)) == (1, 0, 0, b"", 0.0)
    stored = redis_client.hgetall(key)
    assert float(stored[b"tokens"]) == 0.0 and float(stored[b"ts"]) == now
    # 1250 ms at 4/s = 5 tokens; taking 2 leaves 3
    allowed, wait, _, _, tokens = rlimiter.acquire_script(keys=[key], args=[rate_ms, 10, 2, now + 1250])
    assert allowed == 1 and float(tokens) == pytest.approx(3.0)
    # 8 wanted, 3 there: 5 missing at 0.004/ms = 1250 ms
    allowed, wait, _, _, tokens = rlimiter.acquire_script(keys=[key], args=[rate_ms, 10, 8, now + 1250])
    assert (allowed, wait) == (0, 1250)
    # the clock going backwards refills nothing and does not rewind the stored timestamp
    allowed, *_ = rlimiter.acquire_script(keys=[key], args=[rate_ms, 10, 3, now])
    assert allowed == 1
    assert float(redis_client.hget(key, "ts") or 0) == now + 1250


def test_lua_block_script(rlimiter: RedisLimiter) -> None:
    key = rlimiter.redis_key("lua")
    ends, reason = rlimiter.block_script(keys=[key], args=[10_000, "first", 5_000.0])
    assert (float(ends), reason) == (15_000.0, b"first")
    ends, reason = rlimiter.block_script(keys=[key], args=[1_000, "second", 6_000.0])
    assert (float(ends), reason) == (15_000.0, b"first")
    allowed, wait, blocked, reason, _ = rlimiter.acquire_script(keys=[key], args=["0.001", 5, 1, 14_000.0])
    assert (allowed, wait, blocked, reason) == (0, 1000, 1, b"first")


def test_lua_uses_the_server_clock(
    rlimiter: RedisLimiter, redis_client: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    seconds, micros = redis_client.time()
    server_ms = seconds * 1000 + micros / 1000
    key = rlimiter.redis_key("srv")
    # empty as of 500 ms ago by the SERVER's clock, at 10 tokens/s
    redis_client.hset(key, mapping={"tokens": 0, "ts": repr(server_ms - 500), "r": "0.01", "b": 10})
    # a client clock that is wildly wrong must not matter
    monkeypatch.setattr(time, "time", lambda: 0.0)
    decision = rlimiter.acquire("srv", Rate.parse("10/s"), 10, cost=1)
    assert decision.allowed
    assert 4.0 - 1e-6 <= decision.tokens < 4.0 + 2.0  # 5 refilled (plus the test's own latency), 1 taken
    monkeypatch.undo()
    rlimiter.block("srv", 30, "429")
    status = rlimiter.status("srv")
    assert status.blocked_until == pytest.approx(server_ms / 1000 + 30, abs=2)


def test_lua_script_reads_server_time(rlimiter: RedisLimiter, redis_client: redis.Redis) -> None:
    key = rlimiter.redis_key("direct")
    seconds, micros = redis_client.time()
    server_ms = seconds * 1000 + micros / 1000
    redis_client.hset(key, mapping={"tokens": 0, "ts": repr(server_ms - 2000)})
    # ARGV[4] = "": the script takes "now" from TIME; 2 s at 1 token/s refilled 2 (+ latency)
    allowed, wait, blocked, _, tokens = rlimiter.acquire_script(keys=[key], args=["0.001", 5, 1, ""])
    assert (allowed, wait, blocked) == (1, 0, 0)
    assert 1.0 <= float(tokens) < 2.0
    assert float(redis_client.hget(key, "ts") or 0) == pytest.approx(server_ms, abs=1000)
    ends, _ = rlimiter.block_script(keys=[key], args=[60_000, "429", ""])
    assert float(ends) == pytest.approx(server_ms + 60_000, abs=1000)


def test_redis_real_time_wait(rlimiter: RedisLimiter) -> None:
    rate = Rate.parse("20/s")
    assert drain(rlimiter, "rt", rate, 2) == 2
    denied = rlimiter.acquire("rt", rate, 2)
    assert 0 < denied.wait_ms <= 50
    deadline = time.monotonic() + 2.0
    time.sleep(denied.wait_ms / 1000)
    while not rlimiter.acquire("rt", rate, 2).allowed:  # exact wait: at most a retry or two for latency
        assert time.monotonic() < deadline
        time.sleep(0.001)


def test_scan_prefix_is_escaped(redis_client: redis.Redis, redis_prefix: str) -> None:
    odd = RedisLimiter(redis_client, redis_prefix + "[x]*")
    plain = RedisLimiter(redis_client, redis_prefix + "x")
    plain.acquire("gandi", SLOW, 2)
    odd.acquire("rotld", SLOW, 2)
    assert odd.keys() == ["rotld"]
    assert plain.keys() == ["gandi"]


def test_decode_responses_client(redis_url: str, redis_prefix: str) -> None:
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    limiter = RedisLimiter(client, redis_prefix)
    limiter.block("k", 5, "why")
    assert limiter.acquire("k", SLOW, 2).reason == "why"
    assert limiter.keys() == ["k"] and limiter.status("k").block_reason == "why"
    client.close()


def test_limiter_from_url(redis_url: str, redis_prefix: str) -> None:
    assert isinstance(limiter_from_url("memory://", redis_prefix), MemoryLimiter)
    limiter = limiter_from_url(redis_url, redis_prefix)
    assert isinstance(limiter, RedisLimiter) and limiter.prefix == redis_prefix
    with pytest.raises(ConfigError) as info:
        limiter_from_url("http://user:secret@host/", redis_prefix)
    assert "secret" not in str(info.value)
