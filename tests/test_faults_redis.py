"""Redis (limiter, breaker, locks, caches AND the broker) restarted empty mid-run, twice.

The stack's ``REGQ_REDIS_URL`` and broker are a throwaway redis-server the test owns on a fixed port
(:class:`testkit.faults.RestartableRedis`); its database is a fresh Postgres database of its own (the
breaker journal of this test must not leak into others).

1. Creates in flight (the sandbox answers slowly) when Redis restarts: every queued and unacked message,
   bucket and lock is gone. Workers reconnect (they answer a ping through the new server), the sweep
   republishes from the database, the limiter starts again from an empty bucket. Checks: jobs submitted
   = jobs final (all succeeded), duplicate creates at the sandbox = 0, no overlapping deliveries.
2. The Gandi breaker opened (through the breaker API: journaled in the store), then Redis restarted: the
   state is gone from Redis, yet jobs submitted now wait (``waiting``, the breaker's reason) and send no
   create until the journaled open window ends; the first worker call rebuilt the state in Redis from
   the journal; then every job succeeds with exactly one create.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import redis
import sqlalchemy as sa

from shared.breaker.base import OPEN
from shared.jobs import JobStatus
from shared.services import Services
from shared.store import Store
from shared.store.jobs import JobRecord
from shared.store.schema import ApiCallRow
from testkit.faults import (
    FAST_RECOVERY,
    FAULT_GROUPS,
    RestartableRedis,
    check,
    records,
    submit_registers,
    wait_all_final,
    wait_reconnected,
)
from testkit.services import postgres_database
from testkit.stacks import running_stack, wait_for
from workers.embedded.stack import Stack

GROUPS = FAULT_GROUPS
OPEN_SECONDS = 8.0  # the breaker's open window: long enough to restart Redis inside it and look
ENV = {**FAST_RECOVERY, "REGQ_BREAKER_FAILURES": "3", "REGQ_BREAKER_RESET_SECONDS": str(OPEN_SECONDS)}


@pytest.fixture
def database_url() -> Iterator[str]:
    with postgres_database() as url:
        store = Store(url)
        store.upgrade()
        store.dispose()
        yield url


@pytest.fixture
def server() -> Iterator[RestartableRedis]:
    with RestartableRedis() as s:
        yield s


@pytest.fixture
def stack(server: RestartableRedis, database_url: str, tmp_path: Path) -> Iterator[Stack]:
    with running_stack(server.url, database_url, tmp_path, GROUPS, beat=True, extra_env=ENV) as s:
        yield s


def creates_between(store: Store, keys: list[str], since: float, until: float) -> int:
    """Audited Gandi creates of ``keys`` that ended in [since, until] (unix times)."""
    query = sa.select(ApiCallRow.created_at).where(
        ApiCallRow.job_key.in_(keys), ApiCallRow.operation == "create"
    )
    with store.db.session() as session:
        ends = [t.timestamp() for t in session.scalars(query)]
    return sum(1 for t in ends if since <= t <= until)


def test_redis_restarted_mid_run_loses_nothing_and_the_breaker_survives(
    stack: Stack, server: RestartableRedis, database_url: str
) -> None:
    assert stack.sandbox is not None
    store = Store(database_url)
    services = Services(stack.settings())
    try:
        revived: list[str] = []  # workers that exited on the broker loss (see the module's docstring)
        # --- 1. a restart with creates in flight ---------------------------------------------------------
        stack.sandbox.set_faults("gandi", [{"operation": "create", "kind": "latency", "ms": 1000}])
        keys = submit_registers(stack, store, 12, "redisrestart")
        wait_for(
            lambda: sum(r.status is JobStatus.RUNNING for r in records(store, keys)) >= 2,
            30,
            "creates in flight",
        )
        began = time.monotonic()
        server.restart(down_seconds=1.0)
        assert server.restarts == 1
        wait_reconnected(stack, GROUPS, 30, revived)  # they answer through the new server
        reconnected = time.monotonic() - began
        wait_all_final(store, keys, 60, "every job final after the Redis restart")
        recovered = time.monotonic() - began
        report = check(stack, store, keys)
        print(f"restart 1: {report.line()} reconnected={reconnected:.1f}s all_final={recovered:.1f}s")
        assert report.problems == [], report.problems
        assert report.by_status == {"succeeded": 12}
        # The limiter carried on: the calls after the restart took their tokens from the new, empty server.
        counted = services.limiter.counters()
        assert counted.get("gandi") is not None and counted["gandi"].granted > 0, counted

        # --- 2. the breaker's open state survives the loss of Redis ---------------------------------------
        stack.sandbox.clear_faults("gandi")
        breaker = services.breaker
        for _ in range(3):  # REGQ_BREAKER_FAILURES consecutive failures open it (journaled in the store)
            breaker.record_failure("gandi")
        opened = breaker.state("gandi")
        assert opened.state == OPEN and opened.opened_until is not None, opened
        until = opened.opened_until
        server.restart(down_seconds=0.5)
        client = redis.Redis.from_url(server.url)
        redis_key = breaker.redis_key("gandi")  # type: ignore[attr-defined]
        assert not client.exists(redis_key), "the restart did not lose the breaker state"
        assert breaker.state("gandi").state == OPEN  # read through the journal
        wait_reconnected(stack, GROUPS, 30, revived)
        restarted_at = time.time()
        assert restarted_at < until, "the restart took longer than the open window"
        waiting = submit_registers(stack, store, 4, "breakerkept")

        def refused(record: JobRecord) -> bool:
            return record.status is JobStatus.WAITING and "circuit breaker" in (record.wait_reason or "")

        seen_refused: set[str] = set()

        def window_over() -> bool:
            seen_refused.update(r.key for r in records(store, waiting) if refused(r))
            return time.time() >= until - 0.5

        wait_for(window_over, OPEN_SECONDS + 5, "the journaled open window to end")
        during = records(store, waiting)
        assert all(r.status in (JobStatus.QUEUED, JobStatus.WAITING) for r in during), during
        assert seen_refused, [(r.status.value, r.wait_reason) for r in during]
        assert creates_between(store, waiting, restarted_at, until) == 0
        assert client.exists(redis_key), "no worker rebuilt the breaker state in Redis"
        wait_all_final(store, waiting, 60, "the waiting jobs to finish once the breaker closes")
        report = check(stack, store, waiting)
        print(
            f"restart 2: {report.line()} refused={len(seen_refused)} "
            f"open_until={datetime.fromtimestamp(until, UTC)}"
        )
        assert report.problems == [], report.problems
        client.close()
        print(f"workers that exited on a broker loss and were restarted: {revived}")
    finally:
        services.close()
        store.dispose()
