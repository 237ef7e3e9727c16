"""Singleflight on every backend (memory and Redis) with threads: one fetch for concurrent callers, the
leader's value or failure shared, bounded waits, a vanished leader replaced; then the Redis lease."""

from __future__ import annotations

import functools
import json
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import pytest
import redis

from shared.backends import RedisConnection, connect
from shared.errors import ConfigError, RateLimited, TransientError
from shared.registrydata.model import NameserverAddresses
from shared.registrydata.singleflight import (
    FlightConfig,
    FlightTimeout,
    LeaderFailed,
    MemorySingleflight,
    RedisSingleflight,
    Singleflight,
    singleflight_from_url,
)
from shared.settings import load_settings

CONFIG = FlightConfig(lease_seconds=0.6, wait_seconds=10, result_ttl_seconds=5, failed_retry_seconds=2)
FOLLOWERS = 7


class Abandon(BaseException):
    """Leaves a fetch the way a worker shutdown would: not an Exception."""


def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached before the deadline"
        time.sleep(0.005)


class Upstream:
    """A fetch that counts its calls and, when ``gate`` is set, blocks until it opens."""

    def __init__(self, value: Any = None, error: BaseException | None = None, gated: bool = True) -> None:
        self.calls = 0
        self.value = value if value is not None else {"answer": 42}
        self.error = error
        self.gate = threading.Event()
        if not gated:
            self.gate.set()
        self.entered = threading.Event()
        self._lock = threading.Lock()

    def __call__(self) -> Any:
        with self._lock:
            self.calls += 1
        self.entered.set()
        assert self.gate.wait(30), "the test never opened the gate"
        if self.error is not None:
            raise self.error
        return self.value


@pytest.fixture(params=["memory", "redis"])
def flight(request: pytest.FixtureRequest) -> Iterator[Singleflight]:
    if request.param == "memory":
        yield MemorySingleflight(CONFIG)
        return
    client = redis.Redis.from_url(request.getfixturevalue("redis_url"))
    yield RedisSingleflight(client, request.getfixturevalue("redis_prefix"), CONFIG)
    client.close()


@pytest.fixture
def pool() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(max_workers=FOLLOWERS + 2) as executor:
        yield executor


def stampede(
    flight: Singleflight, pool: ThreadPoolExecutor, upstream: Upstream, **kwargs: Any
) -> list[Future[Any]]:
    """A leader blocked in ``upstream`` and FOLLOWERS callers provably waiting on it."""
    call = functools.partial(flight.do, "domain:example.com", upstream, **kwargs)
    futures = [pool.submit(call)]
    assert upstream.entered.wait(10)
    futures += [pool.submit(call) for _ in range(FOLLOWERS)]
    wait_until(lambda: flight.stats.waiting == FOLLOWERS)
    return futures


# --- the interface, every backend ------------------------------------------------------------------------
def test_a_lone_caller_fetches(flight: Singleflight) -> None:
    upstream = Upstream(gated=False)
    assert flight.do("domain:example.com", upstream) == {"answer": 42}
    assert (upstream.calls, flight.stats.led, flight.stats.waiting) == (1, 1, 0)


def test_concurrent_callers_share_one_fetch(flight: Singleflight, pool: ThreadPoolExecutor) -> None:
    upstream = Upstream()
    futures = stampede(flight, pool, upstream)
    upstream.gate.set()
    assert [f.result(timeout=10) for f in futures] == [{"answer": 42}] * (FOLLOWERS + 1)
    assert upstream.calls == 1
    assert (flight.stats.led, flight.stats.followed, flight.stats.waiting) == (1, FOLLOWERS, 0)


def test_every_follower_gets_its_own_copy(flight: Singleflight, pool: ThreadPoolExecutor) -> None:
    upstream = Upstream(value={"statuses": ["active"]})
    futures = stampede(flight, pool, upstream)
    upstream.gate.set()
    results = [f.result(timeout=10) for f in futures]
    results[1]["statuses"].append("mutated")
    assert all(r == {"statuses": ["active"]} for i, r in enumerate(results) if i != 1)


def test_keys_are_independent(flight: Singleflight, pool: ThreadPoolExecutor) -> None:
    blocked = Upstream()
    first = pool.submit(flight.do, "domain:example.com", blocked)
    assert blocked.entered.wait(10)
    other = Upstream(value="other", gated=False)
    assert flight.do("domain:example.org", other) == "other"  # not held up by example.com
    blocked.gate.set()
    assert first.result(timeout=10) == {"answer": 42}


def test_a_later_caller_starts_a_new_flight(flight: Singleflight) -> None:
    upstream = Upstream(gated=False)
    flight.do("ns:ns1.example.com", upstream)
    flight.do("ns:ns1.example.com", upstream)
    assert upstream.calls == 2  # an ended flight's outcome is not a cache


def test_the_leader_consults_lookup_before_fetching(flight: Singleflight) -> None:
    upstream = Upstream(gated=False)
    assert flight.do("domain:example.com", upstream, lookup=lambda: {"cached": True}) == {"cached": True}
    assert flight.do("domain:example.org", upstream, lookup=lambda: None) == {"answer": 42}
    assert upstream.calls == 1


def test_custom_codec(flight: Singleflight, pool: ThreadPoolExecutor) -> None:
    upstream = Upstream(value=NameserverAddresses("ns1.example.com", ["192.0.2.1"]))

    def encode(value: NameserverAddresses) -> str:
        return json.dumps(value.to_dict())

    def decode(text: str) -> NameserverAddresses:
        return NameserverAddresses(**json.loads(text))

    futures = stampede(flight, pool, upstream, encode=encode, decode=decode)
    upstream.gate.set()
    assert [f.result(timeout=10) for f in futures] == [
        NameserverAddresses("ns1.example.com", ["192.0.2.1"])
    ] * (FOLLOWERS + 1)


def test_a_failed_fetch_is_shared_as_a_wait_with_the_leaders_retry_after(
    flight: Singleflight, pool: ThreadPoolExecutor
) -> None:
    upstream = Upstream(error=RateLimited("429 from rdap.example", provider="rdap.example", retry_after=7))
    futures = stampede(flight, pool, upstream)
    upstream.gate.set()
    with pytest.raises(RateLimited):
        futures[0].result(timeout=10)  # the leader gets its own error
    for future in futures[1:]:
        error = future.exception(timeout=10)
        assert isinstance(error, LeaderFailed)
        assert (error.error_type, error.retry_after, error.provider) == ("RateLimited", 7.0, "rdap.example")
        assert error.disposition == "wait" and "429 from rdap.example" in str(error)
    assert upstream.calls == 1 and flight.stats.failed == FOLLOWERS


def test_a_failure_without_a_wait_gets_the_configured_one(
    flight: Singleflight, pool: ThreadPoolExecutor
) -> None:
    upstream = Upstream(error=TransientError("connection reset"))
    futures = stampede(flight, pool, upstream)
    upstream.gate.set()
    errors = [f.exception(timeout=10) for f in futures[1:]]
    assert all(isinstance(e, LeaderFailed) and e.retry_after == CONFIG.failed_retry_seconds for e in errors)
    assert flight.do("domain:example.com", Upstream(value="fine", gated=False)) == "fine"  # next one leads


def test_a_follower_waits_no_longer_than_its_bound(flight: Singleflight, pool: ThreadPoolExecutor) -> None:
    upstream = Upstream()
    leader = pool.submit(flight.do, "domain:example.com", upstream)
    assert upstream.entered.wait(10)
    started = time.monotonic()
    with pytest.raises(FlightTimeout) as info:
        flight.do("domain:example.com", upstream, wait_seconds=0.3)
    assert 0.3 <= time.monotonic() - started < 2.0
    assert info.value.disposition == "wait" and info.value.retry_after == CONFIG.lease_seconds
    assert upstream.calls == 1 and flight.stats.timed_out == 1
    upstream.gate.set()
    assert leader.result(timeout=10) == {"answer": 42}


def test_a_follower_that_times_out_may_fetch_itself(flight: Singleflight, pool: ThreadPoolExecutor) -> None:
    upstream = Upstream()
    leader = pool.submit(flight.do, "domain:example.com", upstream)
    assert upstream.entered.wait(10)
    own = Upstream(value="own", gated=False)
    assert flight.do("domain:example.com", own, wait_seconds=0.2, on_timeout="fetch") == "own"
    assert own.calls == 1
    upstream.gate.set()
    leader.result(timeout=10)


def test_a_leader_that_gives_up_hands_over_at_once(flight: Singleflight, pool: ThreadPoolExecutor) -> None:
    upstream = Upstream(error=Abandon())
    leader = pool.submit(flight.do, "domain:example.com", upstream)
    assert upstream.entered.wait(10)
    successor = Upstream(value="successor", gated=False)
    waiting_while_leading: list[int] = []

    def take_over() -> Any:
        waiting_while_leading.append(flight.stats.waiting)
        return successor()

    follower = pool.submit(flight.do, "domain:example.com", take_over)
    wait_until(lambda: flight.stats.waiting == 1)
    started = time.monotonic()
    upstream.gate.set()
    assert follower.result(timeout=10) == "successor"
    assert time.monotonic() - started < CONFIG.lease_seconds  # not left to a lapsing lease
    assert isinstance(leader.exception(timeout=10), Abandon)
    assert (successor.calls, flight.stats.took_over) == (1, 1)
    assert waiting_while_leading == [0]  # the successor leads; it no longer counts as waiting


def test_a_bad_wait_bound_is_refused(flight: Singleflight) -> None:
    with pytest.raises(ValueError):
        flight.do("domain:example.com", Upstream(gated=False), wait_seconds=0)


# --- Redis: lease and keys -------------------------------------------------------------------------------
@pytest.fixture
def redis_flight(redis_client: redis.Redis, redis_prefix: str) -> RedisSingleflight:
    return RedisSingleflight(redis_client, redis_prefix, CONFIG)


def test_the_lease_is_renewed_while_the_fetch_runs(
    redis_flight: RedisSingleflight, pool: ThreadPoolExecutor
) -> None:
    upstream = Upstream()
    leader = pool.submit(redis_flight.do, "domain:example.com", upstream)
    assert upstream.entered.wait(10)
    follower = pool.submit(redis_flight.do, "domain:example.com", upstream)
    wait_until(lambda: redis_flight.stats.waiting == 1)
    first = redis_flight.leader("domain:example.com")
    ends = time.monotonic() + 4 * CONFIG.lease_seconds  # four leases long: only renewals keep it
    wait_until(lambda: time.monotonic() >= ends)
    assert redis_flight.leader("domain:example.com") == first
    upstream.gate.set()
    assert leader.result(timeout=10) == follower.result(timeout=10)
    assert upstream.calls == 1 and redis_flight.stats.took_over == 0


def test_the_flight_counter_lives_as_long_as_the_lease_is_renewed(
    redis_client: redis.Redis, redis_prefix: str, pool: ThreadPoolExecutor
) -> None:
    # numbers outlive outcomes by about 2 * 0.05 + 0.3 s; a fetch of 1.5 s must not let them restart
    flight = RedisSingleflight(
        redis_client, redis_prefix, FlightConfig(lease_seconds=0.3, result_ttl_seconds=0.05)
    )
    upstream = Upstream()
    leader = pool.submit(flight.do, "domain:example.com", upstream)
    assert upstream.entered.wait(10)
    ends = time.monotonic() + 1.5
    wait_until(lambda: time.monotonic() >= ends)
    assert redis_client.get(f"{redis_prefix}:flight:seq:domain:example.com") == b"1"
    upstream.gate.set()
    leader.result(timeout=10)


def test_a_finished_flight_leaves_no_lease_and_an_expiring_outcome(
    redis_flight: RedisSingleflight, redis_client: redis.Redis, redis_prefix: str
) -> None:
    redis_flight.do("ipreg:192.0.2.1", Upstream(value="Example Net", gated=False))
    assert redis_flight.leader("ipreg:192.0.2.1") is None
    base = f"{redis_prefix}:flight:"
    keys = sorted(k.decode() for k in redis_client.scan_iter(match=f"{base}*"))
    assert keys == [f"{base}done:ipreg:192.0.2.1", f"{base}seq:ipreg:192.0.2.1"]
    assert redis_client.hgetall(keys[0]) == {b"seq": b"1", b"outcome": b'v"Example Net"'}
    assert 0 < redis_client.pttl(keys[0]) <= CONFIG.result_ttl_seconds * 1000
    assert redis_client.pttl(keys[0]) < redis_client.pttl(keys[1])  # numbers outlive the outcome


def test_a_slow_leader_never_overwrites_its_successors_outcome(
    redis_flight: RedisSingleflight, redis_client: redis.Redis, pool: ThreadPoolExecutor
) -> None:
    slow = Upstream(value="old")
    first = pool.submit(redis_flight.do, "domain:example.com", slow)
    assert slow.entered.wait(10)
    redis_client.delete(redis_flight.lease_key("domain:example.com"))  # as if its lease had lapsed
    assert redis_flight.do("domain:example.com", Upstream(value="new", gated=False)) == "new"
    slow.gate.set()
    assert first.result(timeout=10) == "old"  # its own caller still gets its value
    done = redis_client.hgetall(f"{redis_flight.prefix}:flight:done:domain:example.com")
    assert done == {b"seq": b"2", b"outcome": b'v"new"'}


def test_a_dead_leaders_lease_lapses_and_a_follower_takes_over(
    redis_flight: RedisSingleflight, redis_client: redis.Redis
) -> None:
    lease_ms = 400
    redis_client.set(
        redis_flight.lease_key("domain:example.com"), "7", px=lease_ms
    )  # flight 7, whose leader died
    started = time.monotonic()
    upstream = Upstream(value="fresh", gated=False)
    assert redis_flight.do("domain:example.com", upstream) == "fresh"
    elapsed = time.monotonic() - started
    assert lease_ms / 1000 * 0.8 <= elapsed < lease_ms / 1000 + 1.0
    assert (upstream.calls, redis_flight.stats.took_over, redis_flight.stats.waiting) == (1, 1, 0)


def test_followers_across_instances_share_one_fetch(
    redis_url: str, redis_prefix: str, pool: ThreadPoolExecutor
) -> None:
    clients = [redis.Redis.from_url(redis_url) for _ in range(3)]
    flights = [RedisSingleflight(c, redis_prefix, CONFIG) for c in clients]
    try:
        upstream = Upstream()
        leader = pool.submit(flights[0].do, "domain:example.com", upstream)
        assert upstream.entered.wait(10)
        followers = [pool.submit(f.do, "domain:example.com", upstream) for f in flights[1:]]
        wait_until(lambda: all(f.stats.waiting == 1 for f in flights[1:]))
        upstream.gate.set()
        assert {json.dumps(x.result(timeout=10)) for x in [leader, *followers]} == {'{"answer": 42}'}
        assert upstream.calls == 1
    finally:
        for client in clients:
            client.close()


# --- construction ---------------------------------------------------------------------------------------
def test_built_from_the_url(redis_url: str, redis_prefix: str) -> None:
    assert isinstance(singleflight_from_url("memory://", redis_prefix), MemorySingleflight)
    flight = singleflight_from_url(redis_url, redis_prefix, CONFIG)
    assert isinstance(flight, RedisSingleflight) and flight.config == CONFIG
    connection = connect(redis_url)
    assert isinstance(connection, RedisConnection)
    assert flight.client is connection.client
    with pytest.raises(ConfigError):
        singleflight_from_url("amqp://guest:guest@rabbit//", redis_prefix)


def test_config_from_settings_and_validation(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REGQ_LOOKUP_FLIGHT_LEASE_SECONDS", "2.5")
    monkeypatch.setenv("REGQ_LOOKUP_FLIGHT_WAIT_SECONDS", "12")
    config = FlightConfig.from_settings(load_settings())
    assert (config.lease_seconds, config.wait_seconds) == (2.5, 12)
    with pytest.raises(ValueError):
        FlightConfig(lease_seconds=0)
    with pytest.raises(ValueError):
        FlightConfig(poll_seconds=(0.2, 0.1))
