"""Exactly K probes across real processes: 6 spawned processes, each with its own Redis client and
journal, race through the end of an open window; K=2 probes in total, one open->half_open record."""

from __future__ import annotations

import multiprocessing
import time
from typing import Any

import redis

from shared.breaker import BreakerConfig, MemoryJournal, RedisBreaker

PROCESSES = 6
CONFIG = BreakerConfig(failures=1, reset_seconds=0.5, probes=2, probe_timeout_seconds=30)
LOOP_SECONDS = 1.2


def race(url: str, prefix: str, barrier: Any, results: Any) -> None:
    """Child: call before_call in a tight loop; report (probes, allowed non-probes, refused, transitions)."""
    client = redis.Redis.from_url(url)
    journal = MemoryJournal()
    breaker = RedisBreaker(client, prefix, CONFIG, journal)
    breaker.state("warm-up")  # connect and load the script before the start line
    barrier.wait(timeout=60)
    probes = plain = refused = 0
    end = time.monotonic() + LOOP_SECONDS
    while time.monotonic() < end:
        permit = breaker.before_call("gandi")
        if permit.probe:
            probes += 1
        elif permit.allowed:
            plain += 1
        else:
            refused += 1
    moves = [(t.from_state, t.to_state) for t in journal.transitions()]
    results.put((probes, plain, refused, moves))
    client.close()


def test_exactly_k_probes_across_processes(redis_url: str, redis_prefix: str) -> None:
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(PROCESSES + 1)
    results = ctx.Queue()
    procs = [
        ctx.Process(target=race, args=(redis_url, redis_prefix, barrier, results)) for _ in range(PROCESSES)
    ]
    for proc in procs:
        proc.start()
    client = redis.Redis.from_url(redis_url)
    journal = MemoryJournal()
    breaker = RedisBreaker(client, redis_prefix, CONFIG, journal)
    breaker.state("warm-up")
    try:
        barrier.wait(timeout=60)
        breaker.record_failure("gandi")  # open for 0.5 s while the children are already looping
        rows = [results.get(timeout=60) for _ in procs]
    finally:
        for proc in procs:
            proc.join(timeout=10)
            if proc.is_alive():
                proc.terminate()
        client.close()
    assert all(proc.exitcode == 0 for proc in procs)

    assert [(t.from_state, t.to_state) for t in journal.transitions()] == [("closed", "open")]
    assert sum(row[0] for row in rows) == CONFIG.probes, rows
    assert sum(row[2] for row in rows) > 0  # the rest were refused ...
    assert sum(1 for row in rows if row[2] > 0) == PROCESSES  # ... in every process
    half_open_records = [move for row in rows for move in row[3]]
    assert half_open_records == [("open", "half_open")]  # one record, made by exactly one process
