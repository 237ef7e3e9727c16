"""Breaker config and factory, and the Lua script on the server clock and called directly."""

from __future__ import annotations

import time
from typing import Any

import pytest
import redis

from shared.breaker import (
    BreakerConfig,
    MemoryBreaker,
    MemoryJournal,
    RedisBreaker,
    Transition,
    breaker_from_url,
)
from shared.errors import ConfigError
from shared.settings import load_settings

CONFIG = BreakerConfig(failures=3, reset_seconds=60, probes=2, probe_timeout_seconds=10)


def test_config_from_settings() -> None:
    settings = load_settings(breaker_failures=7, breaker_reset_seconds=30, breaker_probes=2)
    config = BreakerConfig.from_settings(settings)
    assert (config.failures, config.reset_seconds, config.probes) == (7, 30.0, 2)
    with pytest.raises(ValueError):
        BreakerConfig(failures=0, reset_seconds=1, probes=1, probe_timeout_seconds=1)


def test_breaker_from_url(redis_url: str, redis_prefix: str) -> None:
    journal = MemoryJournal()
    assert isinstance(breaker_from_url("memory://", redis_prefix, CONFIG, journal), MemoryBreaker)
    assert isinstance(breaker_from_url(redis_url, redis_prefix, CONFIG, journal), RedisBreaker)
    with pytest.raises(ConfigError) as info:
        breaker_from_url("amqp://guest:hunter2@x//", redis_prefix, CONFIG, journal)
    assert "hunter2" not in str(info.value)


def test_lua_uses_the_server_clock(
    redis_client: redis.Redis, redis_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    journal = MemoryJournal()
    breaker = RedisBreaker(redis_client, redis_prefix, CONFIG, journal)
    seconds, micros = redis_client.time()
    server = seconds + micros / 1e6
    monkeypatch.setattr(time, "time", lambda: 0.0)  # the client clock plays no part
    for _ in range(3):
        breaker.record_failure("gandi")
    monkeypatch.undo()
    assert breaker.state("gandi").opened_until == pytest.approx(server + 60, abs=2)
    last = journal.last_transition("gandi")
    assert isinstance(last, Transition) and last.opened_until == breaker.state("gandi").opened_until


def test_lua_direct(redis_client: redis.Redis, redis_prefix: str) -> None:
    breaker = RedisBreaker(redis_client, redis_prefix, CONFIG, MemoryJournal())
    key = breaker.redis_key("lua")

    def call(op: str, now: float, probe: int = 0, restore: tuple[str, str, int] = ("", "", 0)) -> list[Any]:
        args: list[str | int | float] = [op, probe, 2, 1000, 1, 500, 300, now, *restore]
        return [v.decode() if isinstance(v, bytes) else v for v in breaker.script(keys=[key], args=args)]

    assert call("before", 0)[0] == "missing"
    assert call("before", 0, restore=("open", "5000", 4))[:8] == ["ok", "open", 4, "5000", 0, 0, "open", 0]
    reply = call("before", 5000)
    assert reply[1:4] == ["half_open", 4, "5000"] and reply[5:10] == [1, "open", 1, 1, 0]
    reply = call("before", 5100)
    assert reply[7:10] == [0, 0, 300]  # refused: min(half-open retry, slot expiry in 400 ms)
    reply = call("before", 5450)
    assert reply[9] == 50
    assert call("before", 5500)[7:9] == [1, 1]  # the slot expired and was handed out again
    reply = call("failure", 5600, probe=1)
    assert reply[1:4] == ["open", 5, "6600"] and reply[5] == 1
