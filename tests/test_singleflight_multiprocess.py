"""Singleflight across real processes on one Redis: spawned processes (each with its own client and
instance, several threads each) stampede one key and cause exactly one fetch; a leader SIGKILLed in the
middle of its fetch is replaced by one of its followers within about a lease."""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable
from typing import Any

import redis

from shared.registrydata.singleflight import FlightConfig, RedisSingleflight

KEY = "domain:stampede.example"
PROCESSES = 5
THREADS = 4
CONFIG = FlightConfig(lease_seconds=0.6, wait_seconds=30, result_ttl_seconds=30)


def wait_until(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached before the deadline"
        time.sleep(0.01)


def report_waiting(
    client: redis.Redis, prefix: str, flight: RedisSingleflight, done: threading.Event
) -> None:
    """Publish this process's count of waiting callers (``{prefix}:test:waiting``, field = pid)."""
    last = -1
    while not done.is_set():
        if flight.stats.waiting != last:
            last = flight.stats.waiting
            client.hset(f"{prefix}:test:waiting", str(os.getpid()), last)
        time.sleep(0.005)


def total_waiting(client: redis.Redis, prefix: str) -> int:
    return sum(int(v) for v in client.hvals(f"{prefix}:test:waiting"))


def stampede_child(url: str, prefix: str, barrier: Any, results: Any) -> None:
    client = redis.Redis.from_url(url)
    flight = RedisSingleflight(client, prefix, CONFIG)
    done = threading.Event()
    reporter = threading.Thread(target=report_waiting, args=(client, prefix, flight, done), daemon=True)
    reporter.start()

    def fetch() -> dict[str, Any]:
        client.incr(f"{prefix}:test:fetches")
        # hold the fetch until every other caller in every process is waiting on it
        wait_until(lambda: total_waiting(client, prefix) == PROCESSES * THREADS - 1)
        return {"by": os.getpid(), "at": time.time()}

    barrier.wait(timeout=60)
    values: list[Any] = []
    threads = [threading.Thread(target=lambda: values.append(flight.do(KEY, fetch))) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    done.set()
    reporter.join(timeout=5)
    results.put((values, flight.stats.led, flight.stats.followed, flight.stats.took_over))
    client.close()


def test_a_stampede_across_processes_fetches_once(redis_url: str, redis_prefix: str) -> None:
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(PROCESSES)
    results = ctx.Queue()
    procs = [
        ctx.Process(target=stampede_child, args=(redis_url, redis_prefix, barrier, results))
        for _ in range(PROCESSES)
    ]
    for proc in procs:
        proc.start()
    try:
        rows = [results.get(timeout=90) for _ in procs]
    finally:
        for proc in procs:
            proc.join(timeout=10)
            if proc.is_alive():
                proc.kill()
    assert all(proc.exitcode == 0 for proc in procs)
    client = redis.Redis.from_url(redis_url)
    try:
        assert client.get(f"{redis_prefix}:test:fetches") == b"1"
    finally:
        client.close()
    values = [v for row in rows for v in row[0]]
    assert len(values) == PROCESSES * THREADS
    assert len({(v["by"], v["at"]) for v in values}) == 1  # every caller got the one fetch's value
    assert sum(row[1] for row in rows) == 1  # one leader ...
    assert sum(row[2] for row in rows) == PROCESSES * THREADS - 1  # ... and everyone else followed it
    assert sum(row[3] for row in rows) == 0


# --- a leader killed mid-fetch ---------------------------------------------------------------------------
def doomed_leader(url: str, prefix: str) -> None:
    client = redis.Redis.from_url(url)
    flight = RedisSingleflight(client, prefix, CONFIG)

    def fetch() -> str:
        client.set(f"{prefix}:test:leader", os.getpid())
        threading.Event().wait(120)  # never finishes: the test kills this process
        return "never"

    flight.do(KEY, fetch)


def follower(url: str, prefix: str, results: Any) -> None:
    client = redis.Redis.from_url(url)
    flight = RedisSingleflight(client, prefix, CONFIG)
    done = threading.Event()
    reporter = threading.Thread(target=report_waiting, args=(client, prefix, flight, done), daemon=True)
    reporter.start()

    def fetch() -> dict[str, Any]:
        client.incr(f"{prefix}:test:fetches")
        return {"by": os.getpid()}

    value = flight.do(KEY, fetch)
    finished = time.time()
    done.set()
    reporter.join(timeout=5)
    results.put((value, finished, flight.stats.took_over, flight.stats.followed))
    client.close()


def test_followers_take_over_quickly_from_a_killed_leader(redis_url: str, redis_prefix: str) -> None:
    ctx = multiprocessing.get_context("spawn")
    client = redis.Redis.from_url(redis_url)
    leader = ctx.Process(target=doomed_leader, args=(redis_url, redis_prefix))
    results = ctx.Queue()
    followers = [ctx.Process(target=follower, args=(redis_url, redis_prefix, results)) for _ in range(3)]
    try:
        leader.start()
        wait_until(lambda: client.get(f"{redis_prefix}:test:leader") is not None)
        for proc in followers:
            proc.start()
        wait_until(lambda: total_waiting(client, redis_prefix) == len(followers))
        # the leader's lease keeper has renewed it meanwhile: it is alive until the kill
        assert leader.is_alive()
        killed_at = time.time()
        os.kill(leader.pid or 0, signal.SIGKILL)
        rows = [results.get(timeout=30) for _ in followers]
    finally:
        for proc in [leader, *followers]:
            proc.join(timeout=10)
            if proc.is_alive():
                proc.kill()
        fetches = client.get(f"{redis_prefix}:test:fetches")
        client.close()
    assert leader.exitcode == -signal.SIGKILL
    assert fetches == b"1"  # exactly one follower fetched again ...
    assert len({row[0]["by"] for row in rows}) == 1  # ... and the others got its value
    assert sum(row[2] for row in rows) == 1 and sum(row[3] for row in rows) == len(followers) - 1
    slowest = max(row[1] for row in rows) - killed_at
    assert slowest < CONFIG.lease_seconds + 2.0, (
        slowest
    )  # within about a lease of the kill, not the 30 s wait
