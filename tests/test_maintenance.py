"""Maintenance tasks: the sweeper republishes stranded jobs; the renewal scan; the purge."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
import redis
from sqlalchemy import select, update

from shared.jobs import JobStatus, parse_job
from shared.store import Store
from shared.store.schema import HookReceiptRow, JobRow, utcnow
from tasks import runtime
from tasks.maintenance import purge, renewal_scan, republish_wait, sweep
from testkit.factories import register


@pytest.fixture
def rt(redis_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[runtime.Runtime]:
    prefix = f"regq-test-{uuid.uuid4().hex[:10]}"
    for name, value in {
        "REGQ_REDIS_URL": redis_url,
        "REGQ_DATABASE_URL": f"sqlite:///{tmp_path / 'm.db'}",
        "REGQ_REDIS_PREFIX": prefix,
        "REGQ_BROKER_KEY_PREFIX": f"{prefix}:",
        "REGQ_REPUBLISH_GRACE_SECONDS": "20",
        "REGQ_REPUBLISH_AFTER_SECONDS": "60",
        "REGQ_RENEW_WINDOW_DAYS": "30",
    }.items():
        monkeypatch.setenv(name, value)
    current = runtime.get()  # these settings: a new runtime
    current.store.upgrade()
    yield current
    current.close()
    client = redis.Redis.from_url(redis_url)
    for key in client.scan_iter(match=f"{prefix}*"):
        client.delete(key)


def published(rt: runtime.Runtime, queue: str) -> list[str]:
    client = redis.Redis.from_url(rt.settings.effective_redis_url)
    messages = client.lrange(f"{rt.settings.broker_key_prefix}{queue}", 0, -1)
    return [json.loads(m)["headers"]["argsrepr"] + json.loads(m)["headers"]["kwargsrepr"] for m in messages]


def make(store: Store, domain: str) -> str:
    job = parse_job(register(domain))
    store.jobs.create(f"register:{job.domain}", job)
    return f"register:{job.domain}"


def shift(store: Store, key: str, seconds: float) -> None:
    """Move a job's clock-dependent times ``seconds`` into the past, as if that much time had passed."""
    back = timedelta(seconds=seconds)
    with store.db.session() as session:
        row = session.scalars(select(JobRow).where(JobRow.key == key)).one()
        for column in ("created_at", "due_at", "republish_at", "lease_until"):
            if getattr(row, column) is not None:
                setattr(row, column, getattr(row, column) - back)


def test_sweep_republishes_only_stranded_jobs(rt: runtime.Runtime) -> None:
    store = rt.store
    fresh = make(store, "fresh.com")
    lost_publish = make(store, "lost.com")
    dead_worker = make(store, "dead.com")
    alive = make(store, "alive.com")
    retry_lost = make(store, "retry-lost.com")
    retry_pending = make(store, "retry-pending.com")
    shift(store, lost_publish, 300)  # queued for 5 minutes: its message is gone
    store.jobs.claim(dead_worker, "killed", lease_seconds=-1)  # its lease ran out: the worker died
    store.jobs.claim(alive, "busy", lease_seconds=60)
    # Two failed attempts wait for their retry: one was due 25 s ago (its ETA message died with its
    # worker), the other 10 s ago (within the grace: its worker may be about to run it).
    for key, due in ((retry_lost, -25), (retry_pending, -10)):
        store.jobs.claim(key, "w", 30)
        store.jobs.defer(key, "w", utcnow() + timedelta(seconds=due), "attempt 1 failed")
    assert sweep() == {"republished": 3}
    messages = published(rt, "registrar.gandi")
    assert len(messages) == 3
    for key in (lost_publish, dead_worker, retry_lost):
        assert sum(key in m for m in messages) == 1, key
    assert not any(k in m for m in messages for k in (fresh, alive, retry_pending))
    assert store.jobs.require(dead_worker).status is JobStatus.QUEUED
    assert store.jobs.require(alive).status is JobStatus.RUNNING
    assert sweep() == {"republished": 0}  # held off: each waits before it is republished again
    # As long again as it was overdue, between the grace (20 s) and REGQ_REPUBLISH_AFTER_SECONDS (60 s).
    now = utcnow()
    for key, wait in ((lost_publish, 60), (retry_lost, 25), (dead_worker, 20)):
        record = store.jobs.require(key)
        assert record.republishes == 1
        assert abs((record.republish_at - now).total_seconds() - wait) < 2, (key, record.republish_at)


def test_republish_waits_double_from_the_due_time_up_to_the_ceiling(rt: runtime.Runtime) -> None:
    store = rt.store
    key = make(store, "backlog.com")  # its message sits behind a long backlog: no delivery claims it
    shift(store, key, 21)
    gaps = []
    for _ in range(5):
        assert sweep() == {"republished": 1}
        record = store.jobs.require(key)
        gap = (record.republish_at - utcnow()).total_seconds()
        gaps.append(round(gap))
        shift(store, key, gap - 1)
        assert sweep() == {"republished": 0}  # not before its time...
        shift(store, key, 2)  # ...and right after it
    # Republished 21, 43, 87, 148, 209 s past due (each 1 s after it may): the wait doubles, then stays
    # at the ceiling.
    assert gaps == [21, 43, 60, 60, 60]
    assert store.jobs.require(key).republishes == 5
    assert sum(key in m for m in published(rt, "registrar.gandi")) == 5
    # A delivery ends the back-off: the retry it schedules is republished after the grace again.
    store.jobs.claim(key, "w", 30)
    store.jobs.defer(key, "w", utcnow() - timedelta(seconds=21), "attempt 1 failed")
    assert sweep() == {"republished": 1}
    assert round((store.jobs.require(key).republish_at - utcnow()).total_seconds()) == 21


@pytest.mark.parametrize(
    ("overdue", "wait"), [(0, 20), (5, 20), (20, 20), (30, 30), (59, 59), (60, 60), (3600, 60)]
)
def test_republish_wait(overdue: float, wait: float) -> None:
    got = republish_wait(timedelta(seconds=overdue), timedelta(seconds=20), timedelta(seconds=60))
    assert got == timedelta(seconds=wait)


def test_renewal_scan_submits_each_expiring_term_once(rt: runtime.Runtime) -> None:
    store = rt.store
    soon = date.today() + timedelta(days=10)
    store.inventory.upsert("soon.com", "gandi", soon)
    store.inventory.upsert("soon.ro", "rotld", soon)
    store.inventory.upsert("later.com", "gandi", date.today() + timedelta(days=300))
    assert renewal_scan()["submitted"] == 2
    assert renewal_scan()["submitted"] == 0
    keys = {r.key for r in store.jobs.recent(kind="renew")}
    assert keys == {f"renew:soon.com:{soon}", f"renew:soon.ro:{soon}"}
    assert len(published(rt, "registrar.gandi")) == 1 and len(published(rt, "registrar.rotld")) == 1


def test_purge_forgets_old_outcomes(rt: runtime.Runtime) -> None:
    key = make(rt.store, "old.com")
    rt.store.jobs.claim(key, "w", 30)
    rt.store.jobs.finish(key, "w", JobStatus.FAILED, error_code="x")
    old_receipt = rt.store.hook_receipts.record("gandi", "bad_signature")
    new_receipt = rt.store.hook_receipts.record("gandi", "bad_signature")
    assert purge() == {"purged": 0, "hook_receipts_purged": 0}  # kept for the retention period
    with rt.store.db.session() as session:
        session.execute(update(JobRow).values(finished_at=utcnow() - timedelta(days=31)))
        session.execute(
            update(HookReceiptRow)
            .where(HookReceiptRow.id == old_receipt)
            .values(received_at=utcnow() - timedelta(days=31))
        )
    assert purge() == {"purged": 1, "hook_receipts_purged": 1}
    assert rt.store.jobs.get(key) is None
    assert [r.id for r in rt.store.hook_receipts.recent()] == [new_receipt]


def test_the_weekly_rdap_bootstrap_refresh_honours_max_age(
    redis_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sandbox.stack import Sandbox
    from tasks.maintenance import rdap_bootstrap_refresh

    prefix = f"regq-test-{uuid.uuid4().hex[:10]}"
    with Sandbox() as sb:
        for name, value in {
            "REGQ_REDIS_URL": redis_url,
            "REGQ_DATABASE_URL": f"sqlite:///{tmp_path / 'b.db'}",
            "REGQ_REDIS_PREFIX": prefix,
            "REGQ_OUTBOUND_ALLOW_PRIVATE": "true",
            "REGQ_RDAP_BOOTSTRAP_URL": f"{sb.rdap_url}/bootstrap/",
            "REGQ_RDAP_RATE": "100/s",  # the shared limiter would (rightly) throttle the forced refetch
        }.items():
            monkeypatch.setenv(name, value)
        current = runtime.get()
        current.store.upgrade()
        try:
            first = rdap_bootstrap_refresh()
            second = rdap_bootstrap_refresh()
            forced = rdap_bootstrap_refresh(force=True)
        finally:
            current.close()
            client = redis.Redis.from_url(redis_url)
            stored = [k.decode() for k in client.scan_iter(match=f"{prefix}:rdap:bootstrap:*")]
            for key in client.scan_iter(match=f"{prefix}*"):
                client.delete(key)
    assert set(first.values()) == {"refreshed"} and set(first) == {"dns.json", "ipv4.json", "ipv6.json"}
    assert set(second.values()) == {"fresh"}  # within Cache-Control max-age: nothing fetched
    assert set(forced.values()) == {"refreshed"}
    assert len(stored) == 3  # the fleet's copy, in Redis
