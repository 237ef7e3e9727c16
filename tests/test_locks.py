"""Domain locks: the runner's interface on every backend (memory and Redis), then the Redis scripts."""

from __future__ import annotations

import multiprocessing
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import redis

from shared.errors import ConfigError
from shared.locks import DomainLock, MemoryDomainLock, RedisDomainLock, locks_from_url


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Rig:
    lock: DomainLock
    lapse: Callable[[str], None]  # let the domain's lock run out, as if its lease passed unrenewed


def wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached before the deadline"
        time.sleep(0.005)


@pytest.fixture(params=["memory", "redis"])
def rig(request: pytest.FixtureRequest) -> Iterator[Rig]:
    if request.param == "memory":
        clock = FakeClock()

        def advance(domain: str) -> None:
            clock.now += 3600

        yield Rig(MemoryDomainLock(clock=clock), advance)
        return
    client = redis.Redis.from_url(request.getfixturevalue("redis_url"))
    lock = RedisDomainLock(client, request.getfixturevalue("redis_prefix"))

    def expire(domain: str) -> None:
        key = lock.redis_key(domain)
        client.pexpire(key, 1)  # Redis itself lets it lapse
        wait_until(lambda: not client.exists(key))

    yield Rig(lock, expire)
    client.close()


# --- the interface, every backend ------------------------------------------------------------------------
def test_one_owner_at_a_time(rig: Rig) -> None:
    assert rig.lock.acquire("example.com", "a", 30)
    assert not rig.lock.acquire("example.com", "b", 30)
    assert rig.lock.acquire("other.com", "b", 30)  # domains are independent


def test_the_holder_may_acquire_again(rig: Rig) -> None:
    assert rig.lock.acquire("example.com", "a", 30)
    assert rig.lock.acquire("example.com", "a", 30)  # a redelivery under the same owner token
    assert not rig.lock.acquire("example.com", "b", 30)


def test_renew_is_true_only_while_ours(rig: Rig) -> None:
    assert not rig.lock.renew("example.com", "a", 30)  # never taken: renew does not take it
    assert rig.lock.acquire("example.com", "a", 30)
    assert rig.lock.renew("example.com", "a", 30)
    assert not rig.lock.renew("example.com", "b", 30)
    rig.lapse("example.com")
    assert not rig.lock.renew("example.com", "a", 30)  # lapsed: no longer ours
    assert rig.lock.acquire("example.com", "b", 30)


def test_a_lapsed_owner_cannot_touch_the_new_holders_lock(rig: Rig) -> None:
    assert rig.lock.acquire("example.com", "a", 30)
    rig.lapse("example.com")
    assert rig.lock.acquire("example.com", "b", 30)
    assert not rig.lock.renew("example.com", "a", 30)
    rig.lock.release("example.com", "a")  # the old owner's release leaves b's lock alone
    assert not rig.lock.acquire("example.com", "c", 30)
    assert rig.lock.renew("example.com", "b", 30)


def test_release_frees_the_lock_for_others(rig: Rig) -> None:
    assert rig.lock.acquire("example.com", "a", 30)
    rig.lock.release("example.com", "b")  # not b's: nothing happens
    assert not rig.lock.acquire("example.com", "b", 30)
    rig.lock.release("example.com", "a")
    assert not rig.lock.renew("example.com", "a", 30)
    assert rig.lock.acquire("example.com", "b", 30)
    rig.lock.release("nothing-held.com", "a")  # releasing a free lock is harmless


def test_renewed_from_another_thread_than_acquired(rig: Rig) -> None:
    """The runner acquires in the delivery thread; its lease keeper renews from its own thread."""
    assert rig.lock.acquire("example.com", "worker-1", 30)
    answers: list[bool] = []
    keeper = threading.Thread(target=lambda: answers.append(rig.lock.renew("example.com", "worker-1", 30)))
    keeper.start()
    keeper.join(timeout=10)
    assert answers == [True]
    rig.lock.release("example.com", "worker-1")  # and the delivery thread still releases it
    assert rig.lock.acquire("example.com", "worker-2", 30)


@pytest.mark.parametrize("backend", ["memory", "redis"])
def test_a_keeper_thread_renewing_holds_the_lock_past_its_ttl(
    backend: str, request: pytest.FixtureRequest
) -> None:
    """Real clocks (Redis expiry, time.monotonic): renewed every third of its lease, as the lease keeper
    does, the lock outlives its TTL several times over; left alone, it lapses."""
    ttl = 1.0
    if backend == "memory":
        lock: DomainLock = MemoryDomainLock()
    else:
        client, prefix = request.getfixturevalue("redis_client"), request.getfixturevalue("redis_prefix")
        lock = RedisDomainLock(client, prefix)
    assert lock.acquire("kept.com", "worker-1", ttl)
    stop = threading.Event()
    renewals: list[bool] = []

    def keep() -> None:
        while not stop.wait(ttl / 3):
            renewals.append(lock.renew("kept.com", "worker-1", ttl))

    keeper = threading.Thread(target=keep)
    keeper.start()
    try:
        end = time.monotonic() + 2.5 * ttl
        while time.monotonic() < end:
            assert not lock.acquire("kept.com", "worker-2", ttl)
            time.sleep(0.05)
    finally:
        stop.set()
        keeper.join(timeout=10)
    assert len(renewals) >= 5 and all(renewals)
    wait_until(lambda: lock.acquire("kept.com", "worker-2", ttl), timeout=5 * ttl)
    assert not lock.renew("kept.com", "worker-1", ttl)


@pytest.mark.parametrize("ttl", [0, -1.0, float("nan")])
def test_a_lease_must_be_positive(rig: Rig, ttl: float) -> None:
    with pytest.raises(ValueError, match="ttl_seconds"):
        rig.lock.acquire("example.com", "a", ttl)
    with pytest.raises(ValueError, match="ttl_seconds"):
        rig.lock.renew("example.com", "a", ttl)


# --- the factory -----------------------------------------------------------------------------------------
def test_locks_from_url(redis_url: str, redis_prefix: str) -> None:
    assert isinstance(locks_from_url("memory://", redis_prefix), MemoryDomainLock)
    lock = locks_from_url(redis_url, redis_prefix)
    assert isinstance(lock, RedisDomainLock) and lock.prefix == redis_prefix
    with pytest.raises(ConfigError) as info:
        locks_from_url("zookeeper://locker:hunter2@zk:2181/", redis_prefix)
    assert info.value.variable == "REGQ_REDIS_URL" and "hunter2" not in str(info.value)


# --- Redis: the key, its expiry, the scripts ------------------------------------------------------------
@pytest.fixture
def rlock(redis_client: redis.Redis, redis_prefix: str) -> RedisDomainLock:
    return RedisDomainLock(redis_client, redis_prefix)


def test_redis_key_holds_the_owner_with_the_lease_as_expiry(
    rlock: RedisDomainLock, redis_client: redis.Redis, redis_prefix: str
) -> None:
    key = f"{redis_prefix}:lock:domain:example.com"
    assert rlock.redis_key("example.com") == key
    assert rlock.acquire("example.com", "host:1:task", 30)
    assert redis_client.get(key) == b"host:1:task"
    assert 29_000 < redis_client.pttl(key) <= 30_000
    redis_client.pexpire(key, 2_000)  # time passes: 2 s of the lease are left
    assert rlock.renew("example.com", "host:1:task", 45)  # the lease restarts at the renew's length
    assert 44_000 < redis_client.pttl(key) <= 45_000
    redis_client.pexpire(key, 2_000)
    assert rlock.acquire("example.com", "host:1:task", 10)  # re-acquiring restarts it too
    assert 9_000 < redis_client.pttl(key) <= 10_000
    assert not rlock.acquire("example.com", "someone-else", 30)
    assert 9_000 < redis_client.pttl(key) <= 10_000  # a refused acquire changes nothing
    rlock.release("example.com", "host:1:task")
    assert not redis_client.exists(key)


def test_redis_one_round_trip_per_operation(rlock: RedisDomainLock) -> None:
    rlock.acquire("example.com", "a", 30)
    rlock.renew("example.com", "a", 30)
    rlock.release("example.com", "a")
    assert rlock.round_trips == 3


def test_acquire_script_direct(rlock: RedisDomainLock, redis_client: redis.Redis) -> None:
    key = rlock.redis_key("direct.com")

    def take(owner: str, ttl_ms: int, mode: str) -> int:
        return int(rlock.take_script(keys=[key], args=[owner, ttl_ms, mode]))

    assert take("a", 5000, "renew") == 0 and not redis_client.exists(key)  # renew never creates
    assert take("a", 5000, "bogus") == 0 and not redis_client.exists(key)  # an unknown mode takes nothing
    assert take("a", 5000, "acquire") == 1 and redis_client.get(key) == b"a"
    assert take("b", 5000, "acquire") == 0 and take("b", 5000, "renew") == 0
    assert redis_client.get(key) == b"a"
    assert take("a", 60_000, "renew") == 1 and redis_client.pttl(key) > 5000
    redis_client.set(key, "b", px=5000)  # someone else's lock, without an expiry change from us
    assert take("a", 60_000, "renew") == 0 and redis_client.pttl(key) <= 5000


def test_release_script_direct(rlock: RedisDomainLock, redis_client: redis.Redis) -> None:
    key = rlock.redis_key("direct.com")
    assert int(rlock.release_script(keys=[key], args=["a"])) == 0
    redis_client.set(key, "a", px=5000)
    assert int(rlock.release_script(keys=[key], args=["b"])) == 0 and redis_client.exists(key)
    assert int(rlock.release_script(keys=[key], args=["a"])) == 1 and not redis_client.exists(key)


def test_decoded_responses_client(redis_url: str, redis_prefix: str) -> None:
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    lock = RedisDomainLock(client, redis_prefix)
    assert lock.acquire("example.com", "a", 30) and lock.renew("example.com", "a", 30)
    assert not lock.acquire("example.com", "b", 30)
    lock.release("example.com", "a")
    assert lock.acquire("example.com", "b", 30)
    client.close()


# --- real processes --------------------------------------------------------------------------------------
PROCESSES = 6


def contend(url: str, prefix: str, owner: str, barrier: Any, results: Any) -> None:
    """Child: its own client; everyone asks for the same domain at the same moment."""
    client = redis.Redis.from_url(url)
    lock = RedisDomainLock(client, prefix)
    lock.renew("warm-up.com", owner, 1)  # connected, scripts loaded, before the start line
    barrier.wait(timeout=60)
    results.put((owner, lock.acquire("contended.com", owner, 30)))
    client.close()


def test_processes_racing_for_one_domain_get_one_winner(
    redis_url: str, redis_prefix: str, redis_client: redis.Redis
) -> None:
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(PROCESSES)
    results = ctx.Queue()
    procs = [
        ctx.Process(target=contend, args=(redis_url, redis_prefix, f"proc-{i}", barrier, results))
        for i in range(PROCESSES)
    ]
    for proc in procs:
        proc.start()
    try:
        answers = dict(results.get(timeout=90) for _ in procs)
    finally:
        for proc in procs:
            proc.join(timeout=10)
            if proc.is_alive():
                proc.terminate()
    assert all(proc.exitcode == 0 for proc in procs)
    winners = [owner for owner, won in answers.items() if won]
    assert len(answers) == PROCESSES and len(winners) == 1, answers
    lock = RedisDomainLock(redis_client, redis_prefix)
    assert redis_client.get(lock.redis_key("contended.com")) == winners[0].encode()
    assert lock.renew("contended.com", winners[0], 30)
    assert not any(lock.renew("contended.com", owner, 30) for owner in answers if owner != winners[0])
