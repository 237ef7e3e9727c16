"""A retry held by a worker that is SIGKILLed: the job finishes soon after its due time.

A failed attempt re-schedules its task as an ETA message; the worker that fetched it holds it in memory
(the Redis broker keeps it in its ``unacked`` hash) until the due time. When that worker is SIGKILLed,
Redis gives the message back only after the visibility timeout (an hour); the sweep must republish the
job REGQ_REPUBLISH_GRACE_SECONDS past its due time instead. Real ``celery worker`` processes, beat and
the maintenance worker, with the shipped grace, sweep interval and lease.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
import redis

from shared.jobs import FINAL_STATUSES, JobStatus, parse_job
from shared.store import Store
from shared.store.jobs import JobRecord
from shared.store.schema import utcnow
from tasks.publish import submit
from testkit.factories import register
from testkit.stacks import running_stack, wait_for
from workers.embedded.stack import Stack, WorkerGroup

REGISTRARS = (
    WorkerGroup("gandi1", ("registrar.gandi",), 1),
    WorkerGroup("gandi2", ("registrar.gandi",), 1),
)
GROUPS = (*REGISTRARS, WorkerGroup("misc", ("lookup", "maintenance"), 1))
JOBS = 4
#: A failed attempt is retried 10 s later: time enough to kill the workers before the retries are due.
ENV = {"REGQ_RETRY_BACKOFF_SECONDS": "10", "REGQ_BREAKER_FAILURES": "50"}


@pytest.fixture
def stack(redis_url: str, own_postgres_url: str, tmp_path: Path) -> Iterator[Stack]:
    with running_stack(redis_url, own_postgres_url, tmp_path, GROUPS, beat=True, extra_env=ENV) as s:
        yield s


def held_retries(stack: Stack, keys: list[str]) -> set[str]:
    """The keys whose ETA message sits in the broker's unacked hash (fetched by a worker, not yet run)."""
    client = redis.Redis.from_url(stack.env["REGQ_REDIS_URL"])
    try:
        entries = client.hvals(f"{stack.env['REGQ_BROKER_KEY_PREFIX']}unacked")
    finally:
        client.close()
    held = set()
    for entry in entries:
        message = json.loads(entry)[0]
        headers = message["headers"]
        for key in keys:
            if headers.get("eta") and key in headers.get("kwargsrepr", ""):
                held.add(key)
    return held


def test_a_retry_that_died_with_its_worker_runs_within_a_minute_of_its_due_time(
    stack: Stack, own_postgres_url: str
) -> None:
    grace = stack.settings().republish_grace_seconds  # the shipped defaults: 20 s grace, 15 s sweep
    store = Store(own_postgres_url)
    producer = stack.producer()
    try:
        run = uuid.uuid4().hex[:6]
        domains = [f"retry{run}-{i}.com" for i in range(JOBS)]
        stack.sandbox.set_faults(
            "gandi", [{"operation": "create", "kind": "status", "status": 500, "count": JOBS}]
        )
        keys = [submit(parse_job(register(d)), store=store, app=producer).key for d in domains]

        def failed_once() -> list[JobRecord] | None:
            records = [store.jobs.require(k) for k in keys]
            ok = all(r.status is JobStatus.WAITING and r.attempts == 1 for r in records)
            return records if ok else None

        wait_for(failed_once, 60, "every first attempt to fail and schedule its retry")
        wait_for(lambda: held_retries(stack, keys) == set(keys), 15, "the workers to fetch the retries")
        for group in REGISTRARS:  # SIGKILL the whole process groups: nothing is given back
            stack.kill_worker(group.name)
        killed_at = utcnow()
        waiting = {r.key: r for r in failed_once() or []}
        assert len(waiting) == JOBS, "a retry ran before the kill: nothing was held"
        due: dict[str, datetime] = {k: r.due_at for k, r in waiting.items()}
        assert all(d > killed_at for d in due.values())
        for group in REGISTRARS:
            stack.start_worker(group)
        stack.wait_for_workers([g.name for g in REGISTRARS], timeout=90)
        # The dead workers' messages stay parked: Redis returns them only after the visibility timeout.
        assert held_retries(stack, keys) == set(keys)

        def all_final() -> list[JobRecord] | None:
            records = [store.jobs.require(k) for k in keys]
            return records if all(r.status in FINAL_STATUSES for r in records) else None

        began = time.monotonic()
        last_due = max(due.values())
        timeout = (last_due - utcnow()).total_seconds() + 60
        done = wait_for(all_final, timeout, "every job to finish within a minute of its due time")
        assert isinstance(done, list)
        print(f"all final {time.monotonic() - began:.1f} s after the restart")
        effects = stack.sandbox.stats("gandi")["effects"]
        for record in done:
            assert record.status is JobStatus.SUCCEEDED, record
            assert effects[record.domain]["create"] == 1, effects[record.domain]
            late = (record.finished_at - due[record.key]).total_seconds()
            assert late <= 60, f"{record.key} finished {late:.1f} s after its due time"
            assert (record.finished_at - killed_at).total_seconds() <= 90
            # Brought back by the sweep, past the grace: not a broker redelivery, not the dead worker.
            assert record.republishes >= 1, record
            assert grace - 1 <= record.max_due_wait_seconds <= 60, record.max_due_wait_seconds
            waited = record.max_due_wait_seconds
            print(f"{record.key}: final {late:.1f} s after due, undelivered for {waited:.1f} s")
    finally:
        producer.close()
        store.dispose()
