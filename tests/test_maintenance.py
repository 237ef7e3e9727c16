"""Maintenance tasks: the sweeper republishes stranded jobs; the renewal scan; the purge."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
import redis
from sqlalchemy import update

from shared.jobs import JobStatus, parse_job
from shared.settings import reset_settings
from shared.store import Store
from shared.store.schema import JobRow, utcnow
from tasks import runtime
from tasks.maintenance import purge, renewal_scan, sweep
from tests.factories import register


@pytest.fixture
def rt(redis_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[runtime.Runtime]:
    prefix = f"regq-test-{uuid.uuid4().hex[:10]}"
    for name, value in {
        "REGQ_REDIS_URL": redis_url,
        "REGQ_DATABASE_URL": f"sqlite:///{tmp_path / 'm.db'}",
        "REGQ_REDIS_PREFIX": prefix,
        "REGQ_BROKER_KEY_PREFIX": f"{prefix}:",
        "REGQ_REPUBLISH_AFTER_SECONDS": "60",
        "REGQ_RENEWAL_WINDOW_DAYS": "30",
    }.items():
        monkeypatch.setenv(name, value)
    reset_settings()
    runtime.reset()
    current = runtime.get()
    current.store.upgrade()
    yield current
    current.close()
    runtime.reset()
    reset_settings()
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


def test_sweep_republishes_only_stranded_jobs(rt: runtime.Runtime) -> None:
    store = rt.store
    fresh = make(store, "fresh.com")
    lost_publish = make(store, "lost.com")
    dead_worker = make(store, "dead.com")
    alive = make(store, "alive.com")
    old = utcnow() - timedelta(minutes=5)
    with store.db.session() as session:  # queued for 5 minutes: its message is gone
        session.execute(update(JobRow).where(JobRow.key == lost_publish).values(created_at=old, due_at=old))
    store.jobs.claim(dead_worker, "killed", lease_seconds=-1)  # its lease ran out: the worker died
    store.jobs.claim(alive, "busy", lease_seconds=60)
    assert sweep() == {"republished": 2}
    messages = published(rt, "registrar.gandi")
    assert len(messages) == 2
    assert any(lost_publish in m for m in messages) and any(dead_worker in m for m in messages)
    assert not any(fresh in m or alive in m for m in messages)
    assert store.jobs.require(dead_worker).status is JobStatus.QUEUED
    assert store.jobs.require(alive).status is JobStatus.RUNNING
    assert sweep() == {"republished": 0}  # not again until it is stranded again
    # It waits at least as long again as it already had before the next republish.
    assert store.jobs.require(lost_publish).due_at >= utcnow() + timedelta(minutes=4)


def test_renewal_scan_submits_each_expiring_term_once(rt: runtime.Runtime) -> None:
    store = rt.store
    soon = date.today() + timedelta(days=10)
    store.inventory.upsert("soon.com", "gandi", soon)
    store.inventory.upsert("soon.ro", "rotld", soon)
    store.inventory.upsert("later.com", "gandi", date.today() + timedelta(days=300))
    assert renewal_scan() == {"submitted": 2}
    assert renewal_scan() == {"submitted": 0}
    keys = {r.key for r in store.jobs.recent(kind="renew")}
    assert keys == {f"renew:soon.com:{soon}", f"renew:soon.ro:{soon}"}
    assert len(published(rt, "registrar.gandi")) == 1 and len(published(rt, "registrar.rotld")) == 1


def test_purge_forgets_old_outcomes(rt: runtime.Runtime) -> None:
    key = make(rt.store, "old.com")
    rt.store.jobs.claim(key, "w", 30)
    rt.store.jobs.finish(key, "w", JobStatus.FAILED, error_code="x")
    assert purge() == {"purged": 0}  # kept for the retention period
    with rt.store.db.session() as session:
        session.execute(update(JobRow).values(finished_at=utcnow() - timedelta(days=31)))
    assert purge() == {"purged": 1}
    assert rt.store.jobs.get(key) is None
