"""``regq replay``: a failed job back to queued under the same key, republished, recorded; exactly once.

The CLI runs in this process against a SQLite store and the real Redis broker (queues under a unique
prefix); deliveries are the job runner over real gateways and the sandbox, as in tests/test_runner.py.
Store-level tests run on SQLite and Postgres.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import redis
import sqlalchemy as sa
from typer.testing import CliRunner

from sandbox.stack import Sandbox
from shared.breaker import BreakerConfig, MemoryBreaker
from shared.execution import Done
from shared.execution.runner import JobRunner
from shared.gateways.base import Gateway
from shared.gateways.registry import gateway_for
from shared.jobs import JobStatus, derive_key, parse_job
from shared.locks import MemoryDomainLock
from shared.ratelimit import MemoryLimiter
from shared.settings import load_settings
from shared.store import Store
from shared.store.replays import ReplayRefused
from shared.store.schema import JobRow, utcnow
from shared.upstream import LimiterGuard
from tasks import runtime
from testkit.factories import register
from workers.cli import app

cli = CliRunner()


@dataclass
class Rig:
    sandbox: Sandbox
    store: Store
    runner: JobRunner
    broker: redis.Redis
    broker_prefix: str

    def submit(self, data: dict[str, Any]) -> str:
        job = parse_job(data)
        key = derive_key(job)
        self.store.jobs.create(key, job)
        return key

    def deliver_until_final(self, key: str, deliveries: int = 6) -> Any:
        for n in range(deliveries):
            step = self.runner.run(key, owner=f"delivery-{uuid.uuid4().hex[:6]}-{n}")
            if isinstance(step, Done):
                assert step.outcome is not None
                return step.outcome
        raise AssertionError(f"{key} not final after {deliveries} deliveries")

    def creates(self, domain: str) -> int:
        return int(self.sandbox.stats("gandi")["effects"].get(domain, {}).get("create", 0))

    def queued_keys(self, queue: str = "registrar.gandi") -> list[str]:
        messages = self.broker.lrange(f"{self.broker_prefix}{queue}", 0, -1)
        return [json.loads(json.loads(m)["headers"]["kwargsrepr"].replace("'", '"'))["key"] for m in messages]

    def replay(self, *args: str) -> Any:
        return cli.invoke(app, ["replay", *args])


@pytest.fixture
def rig(sandbox: Sandbox, tmp_path: Path, redis_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Rig]:
    sandbox.reset()
    prefix = f"regq-test-{uuid.uuid4().hex[:10]}"
    database_url = f"sqlite:///{tmp_path / 'regq.db'}"
    for name, value in {
        "REGQ_REDIS_URL": redis_url,
        "REGQ_DATABASE_URL": database_url,
        "REGQ_REDIS_PREFIX": prefix,
        "REGQ_BROKER_KEY_PREFIX": f"{prefix}:",
    }.items():
        monkeypatch.setenv(name, value)
    settings = load_settings(
        gandi_api_url=sandbox.gandi_url,
        gandi_token="sandbox-token",
        outbound_allow_private=True,
        gandi_visibility_wait_seconds=5,
        retry_backoff_seconds=0.1,
        lease_seconds=5,
        max_attempts=3,
        gandi_rate="1000/s",
        gandi_burst=100,
    )
    store = Store(database_url)
    store.upgrade()
    breaker = MemoryBreaker(
        BreakerConfig(failures=50, reset_seconds=60, probes=1, probe_timeout_seconds=30), store.breaker_events
    )
    guard = LimiterGuard(MemoryLimiter(), settings)
    gateway = gateway_for("gandi", settings, store.audit, store.contacts, sleep=lambda _s: None)
    gateways: dict[str, Gateway] = {"gandi": gateway}
    runner = JobRunner(store, settings, breaker, gateways.__getitem__, MemoryDomainLock(), guard=guard)
    broker = redis.Redis.from_url(redis_url)
    try:
        yield Rig(sandbox, store, runner, broker, f"{prefix}:")
    finally:
        gateway.close()
        runtime.get().close()
        store.dispose()
        for key in broker.scan_iter(match=f"{prefix}*"):
            broker.delete(key)
        broker.close()


def fail_register(rig: Rig, domain: str) -> str:
    """A register that fails for good: the registrar refuses the create (403), after it was armed."""
    rig.sandbox.set_faults("gandi", [{"operation": "create", "kind": "forbidden_html"}])
    key = rig.submit(register(domain))
    outcome = rig.deliver_until_final(key)
    assert outcome.status is JobStatus.FAILED, outcome
    rig.sandbox.clear_faults("gandi")
    return key


def test_replaying_a_failed_register_after_the_fault_is_fixed_creates_the_domain_once(rig: Rig) -> None:
    key = fail_register(rig, "replayed.com")
    assert rig.creates("replayed.com") == 0
    failed = rig.store.jobs.require(key)
    assert failed.phase == "sending"  # armed before the refused send: a reconcile runs first

    result = rig.replay(key, "--reason", "token fixed", "--json")
    assert result.exit_code == 0, result.output
    [row] = json.loads(result.stdout)
    assert row["key"] == key and row["status"] == "queued" and row["published"] is True
    assert row["previous_error"] == failed.error_code
    # The same key, republished to the registrar's queue; the job is queued, attempts from zero, the
    # phase kept for the reconciliation.
    assert rig.queued_keys() == [key]
    queued = rig.store.jobs.require(key)
    assert (queued.status, queued.attempts, queued.error_code, queued.phase) == (
        JobStatus.QUEUED,
        0,
        None,
        "sending",
    )

    outcome = rig.deliver_until_final(key)
    assert outcome.status is JobStatus.SUCCEEDED, (outcome.error_code, outcome.error_message)
    assert rig.creates("replayed.com") == 1
    # A second delivery of the same message (at-least-once) changes nothing.
    assert rig.deliver_until_final(key).status is JobStatus.SUCCEEDED
    assert rig.creates("replayed.com") == 1

    [recorded] = rig.store.replays.history(key)
    assert (recorded.previous_status, recorded.error_code, recorded.reason) == (
        "failed",
        failed.error_code,
        "token fixed",
    )
    assert recorded.attempts == failed.attempts and recorded.phase == "sending"
    listed = cli.invoke(app, ["replays", key, "--json"])
    assert listed.exit_code == 0 and json.loads(listed.stdout)[0]["reason"] == "token fixed"


def test_a_replayed_register_whose_create_had_happened_is_reconciled_not_sent_again(rig: Rig) -> None:
    key = fail_register(rig, "landed.com")
    # As if the refused create had landed after all: the domain is in our account with its new term.
    expires = (utcnow().date() + timedelta(days=366)).isoformat()
    rig.sandbox.seed_domains("gandi", [{"fqdn": "landed.com", "owner": "us", "expires": expires}])
    assert rig.replay(key).exit_code == 0
    outcome = rig.deliver_until_final(key)
    assert outcome.status is JobStatus.SUCCEEDED and outcome.result["reconciled"] is True
    assert rig.creates("landed.com") == 0


def test_replay_of_a_job_that_is_not_failed_is_refused_with_a_clear_message(rig: Rig) -> None:
    key = rig.submit(register("fine.com"))
    assert rig.deliver_until_final(key).status is JobStatus.SUCCEEDED
    result = rig.replay(key)
    assert result.exit_code == 1
    assert f"job '{key}' is succeeded, not failed: only a failed job can be replayed" in result.stderr
    queued = rig.submit(register("pending.com"))
    result = rig.replay(queued, "--json")
    assert result.exit_code == 1
    assert "is queued, not failed" in json.loads(result.stdout)["error"]
    assert "no job with key" in rig.replay("register:nothing.com").stderr
    assert rig.store.replays.history() == [] and rig.queued_keys() == []
    assert rig.creates("fine.com") == 1
    # Usage: a key or --status failed --since DATE, nothing else.
    assert rig.replay().exit_code == 2
    assert rig.replay("--status", "succeeded", "--since", "2026-01-01").exit_code == 2
    assert rig.replay("--status", "failed").exit_code == 2


def _age(store: Store, key: str, days: int) -> None:
    with store.db.session() as session:
        session.execute(
            sa.update(JobRow).where(JobRow.key == key).values(finished_at=utcnow() - timedelta(days=days))
        )


def test_bulk_replay_filters_by_since_and_kind(rig: Rig) -> None:
    old = fail_register(rig, "old-failure.com")
    recent = fail_register(rig, "recent-failure.com")
    rig.sandbox.set_faults("gandi", [{"operation": "renew", "kind": "forbidden_html"}])
    renew = rig.submit({"kind": "renew", "domain": "recent-failure.com", "current_expiry": "2027-01-01"})
    assert rig.deliver_until_final(renew).status is JobStatus.FAILED
    rig.sandbox.clear_faults("gandi")
    _age(rig.store, old, 10)
    since = (utcnow() - timedelta(days=2)).date().isoformat()

    dry = rig.replay("--status", "failed", "--since", since, "--dry-run", "--json")
    assert dry.exit_code == 0 and {r["key"] for r in json.loads(dry.stdout)} == {recent, renew}
    assert rig.store.jobs.require(recent).status is JobStatus.FAILED  # a dry run changes nothing

    result = rig.replay("--status", "failed", "--since", since, "--kind", "register", "--json")
    assert result.exit_code == 0, result.output
    assert [r["key"] for r in json.loads(result.stdout)] == [recent]
    assert rig.queued_keys() == [recent]
    assert rig.store.jobs.require(old).status is JobStatus.FAILED
    assert rig.store.jobs.require(renew).status is JobStatus.FAILED
    assert [r.job_key for r in rig.store.replays.history()] == [recent]
    # Again: nothing failed is left in that window and kind.
    again = rig.replay("--status", "failed", "--since", since, "--kind", "register", "--json")
    assert again.exit_code == 0 and json.loads(again.stdout) == []


# --- the store, on SQLite and Postgres ---------------------------------------------------------------
def _failed(store: Store, domain: str) -> str:
    job = parse_job(register(domain))
    key = derive_key(job)
    store.jobs.create(key, job)
    store.jobs.claim(key, "w", 30)
    store.jobs.set_phase(key, "w", "sending", {"sent_on": "2026-12-01"})
    store.jobs.finish(key, "w", JobStatus.FAILED, error_code="auth", error_message="refused")
    return key


def test_store_replay_resets_the_job_keeps_its_phase_and_records_it(store: Store) -> None:
    key = _failed(store, "kept.com")
    record, replay = store.replays.replay(key, "ops", "because")
    assert (record.status, record.attempts, record.error_code, record.finished_at) == (
        JobStatus.QUEUED,
        0,
        None,
        None,
    )
    assert record.phase == "sending" and record.phase_data == {"sent_on": "2026-12-01"}
    assert record.due_at is not None and record.published_at is None
    assert (replay.job_key, replay.error_code, replay.attempts, replay.replayed_by) == (key, "auth", 1, "ops")
    assert replay.failed_at is not None
    with pytest.raises(ReplayRefused, match="is queued, not failed"):
        store.replays.replay(key, "ops")
    assert store.replays.count() == 1
    # A replayed job is claimed like any queued one.
    assert store.jobs.claim(key, "w2", 30).record.attempts == 1  # type: ignore[union-attr]


def test_store_concurrent_replays_of_one_key_replay_it_once(store: Store) -> None:
    key = _failed(store, "race.com")
    outcomes: list[str] = []
    barrier = threading.Barrier(6)

    def attempt(n: int) -> None:
        barrier.wait()
        try:
            store.replays.replay(key, f"op{n}")
            outcomes.append("replayed")
        except ReplayRefused:
            outcomes.append("refused")

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(outcomes) == ["refused"] * 5 + ["replayed"]
    assert store.replays.count() == 1


def test_store_failed_pages_through_every_match(store: Store) -> None:
    keys = [_failed(store, f"page{n}.com") for n in range(7)]
    since = utcnow() - timedelta(hours=1)
    assert [r.key for r in store.replays.failed(since, batch=3)] == keys
    assert list(store.replays.failed(since, kind="renew")) == []
    assert list(store.replays.failed(utcnow() + timedelta(minutes=1))) == []


def test_migration_0004_adds_and_drops_the_replays_table(store_url: str) -> None:
    from alembic import command

    from shared.store.database import alembic_config

    db = Store(store_url).db
    try:
        db.upgrade("0004")
        assert db.current_revision() == "0004" and "replays" in sa.inspect(db.engine).get_table_names()
        with db.engine.begin() as connection:
            config = alembic_config(db.url)
            config.attributes["connection"] = connection
            command.downgrade(config, "0003")
        assert db.current_revision() == "0003" and "replays" not in sa.inspect(db.engine).get_table_names()
        db.upgrade()
        assert "replays" in sa.inspect(db.engine).get_table_names()
    finally:
        db.dispose()
