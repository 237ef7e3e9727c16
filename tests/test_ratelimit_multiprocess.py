"""Fleet-wide cap with real processes: 4 spawned processes, each with its own Redis client, hammer one key.

The sum of their allowed acquires must match one bucket (burst + rate x elapsed), not four.
"""

from __future__ import annotations

import multiprocessing
import time
from typing import Any

import redis

from shared.ratelimit import Rate, RedisLimiter

PROCESSES = 4
RATE = Rate.parse("50/s")
BURST = 10
SECONDS = 2.0


def hammer(url: str, prefix: str, barrier: Any, results: Any) -> None:
    """Child: acquire as fast as possible for SECONDS; report (allowed, denied, first send, last answer)."""
    client = redis.Redis.from_url(url)
    limiter = RedisLimiter(client, prefix)
    limiter.status("warm-up")  # connect before the start line
    client.script_load(limiter.acquire_script.script)  # so no NOSCRIPT reload happens in the timed loop
    barrier.wait(timeout=60)
    allowed = denied = 0
    first = time.time()
    end = first + SECONDS
    last = first
    while last < end:
        if limiter.acquire("fleet", RATE, BURST).allowed:
            allowed += 1
        else:
            denied += 1
        last = time.time()
    results.put((allowed, denied, first, last, limiter.round_trips))
    client.close()


def test_fleet_wide_cap(redis_url: str, redis_prefix: str) -> None:
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(PROCESSES)
    results = ctx.Queue()
    procs = [
        ctx.Process(target=hammer, args=(redis_url, redis_prefix, barrier, results)) for _ in range(PROCESSES)
    ]
    for proc in procs:
        proc.start()
    try:
        rows = [results.get(timeout=90) for _ in procs]
    finally:
        for proc in procs:
            proc.join(timeout=10)
            if proc.is_alive():
                proc.terminate()
    assert all(proc.exitcode == 0 for proc in procs)

    total = sum(row[0] for row in rows)
    elapsed = max(row[3] for row in rows) - min(row[2] for row in rows)
    cap = BURST + RATE.per_second * elapsed + 1
    per_process = [row[0] for row in rows]
    assert total <= cap, (total, cap, per_process)
    assert total >= 0.9 * cap, (total, cap, per_process)
    assert all(row[1] > 0 for row in rows)  # every process was refused too: they really competed
    assert all(row[4] == row[0] + row[1] + 1 for row in rows)  # one round trip per acquire (+ status)
