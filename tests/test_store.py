"""The store on SQLite and Postgres: idempotent creation, claims and leases, phases, maintenance."""

from __future__ import annotations

import threading
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from shared.errors import IdempotencyConflict
from shared.jobs import JobStatus, parse_job
from shared.store import ClaimState, Store
from shared.store.schema import JobRow, utcnow
from testkit.factories import register


def add(store: Store, domain: str = "example.com", **kw: object):
    job = parse_job(register(domain, **kw))
    return store.jobs.create(f"register:{job.domain}", job)


def test_create_is_idempotent_and_conflicts_on_other_parameters(store: Store) -> None:
    record, created = add(store)
    assert created and record.status is JobStatus.QUEUED and record.attempts == 0
    again, created_again = add(store)
    assert not created_again and again.key == record.key
    with pytest.raises(IdempotencyConflict, match="register:example.com"):
        add(store, years=2)


def test_claim_lease_and_takeover(store: Store) -> None:
    add(store)
    key = "register:example.com"
    first = store.jobs.claim(key, "w1", lease_seconds=30)
    assert first.state is ClaimState.CLAIMED and first.record.attempts == 1
    assert store.jobs.claim(key, "w2", lease_seconds=30).state is ClaimState.BUSY
    assert not store.jobs.set_phase(key, "w2", "sending")  # only the lease holder writes
    assert store.jobs.set_phase(key, "w1", "sending", {"sent_on": "2026-01-01"})
    # w1 dies: its lease expires, the next delivery takes over and sees the recorded phase.
    assert store.jobs.renew_lease(key, "w1", lease_seconds=-1)
    taken = store.jobs.claim(key, "w2", lease_seconds=30)
    assert taken.state is ClaimState.CLAIMED and taken.record.attempts == 2
    assert taken.record.phase == "sending" and taken.record.phase_data == {"sent_on": "2026-01-01"}
    assert not store.jobs.finish(key, "w1", JobStatus.SUCCEEDED)  # w1 lost the lease
    assert store.jobs.finish(key, "w2", JobStatus.SUCCEEDED, result={"expires_at": "2027-01-01"})
    final = store.jobs.claim(key, "w3", lease_seconds=30)
    assert final.state is ClaimState.FINAL and final.record.result == {"expires_at": "2027-01-01"}
    assert store.jobs.claim("nope", "w3", 30).state is ClaimState.MISSING


def test_only_one_of_many_concurrent_claims_wins(store: Store) -> None:
    add(store)
    results: list[ClaimState] = []
    barrier = threading.Barrier(8)

    def claim(i: int) -> None:
        barrier.wait()
        results.append(store.jobs.claim("register:example.com", f"w{i}", 30).state)

    threads = [threading.Thread(target=claim, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count(ClaimState.CLAIMED) == 1 and results.count(ClaimState.BUSY) == 7


def test_defer_not_counted_gives_the_attempt_back(store: Store) -> None:
    add(store)
    key = "register:example.com"
    store.jobs.claim(key, "w1", 30)
    assert store.jobs.defer(key, "w1", utcnow() + timedelta(seconds=5), "breaker open", count_attempt=False)
    record = store.jobs.require(key)
    assert record.status is JobStatus.WAITING and record.attempts == 0
    assert record.outcome().result == {"waiting_reason": "breaker open"}
    store.jobs.claim(key, "w1", 30)
    store.jobs.defer(key, "w1", utcnow(), "5xx", count_attempt=True)
    assert store.jobs.require(key).attempts == 1


def backdate(store: Store, key: str, **columns: object) -> None:
    with store.db.session() as session:
        session.execute(sa.update(JobRow).where(JobRow.key == key).values(**columns))


def test_stranded_jobs_and_release_of_expired_leases(store: Store) -> None:
    add(store, "a.com")
    add(store, "b.com")
    dead = store.jobs.claim("register:b.com", "dead", lease_seconds=-1).record
    stranded = {r.key for r in store.jobs.stranded(grace=timedelta(seconds=-1))}
    assert stranded == {"register:a.com", "register:b.com"}
    assert {r.key for r in store.jobs.stranded(grace=timedelta(hours=1))} == {"register:b.com"}
    released = store.jobs.release_expired("register:b.com")
    assert released is not None and released.status is JobStatus.QUEUED
    assert released.due_at == dead.lease_until  # due since its lease ran out, not since the sweep
    assert store.jobs.require("register:b.com").status is JobStatus.QUEUED
    assert store.jobs.release_expired("register:b.com") is None  # not running any more


def test_republish_back_off_holds_until_a_delivery_claims(store: Store) -> None:
    add(store, "a.com")
    key = "register:a.com"
    due = utcnow() - timedelta(seconds=30)
    backdate(store, key, due_at=due)
    grace = timedelta(seconds=20)
    assert [r.key for r in store.jobs.stranded(grace=grace)] == [key]
    store.jobs.mark_republished(key, due, utcnow() + timedelta(seconds=30))
    held = store.jobs.require(key)
    assert held.republishes == 1 and held.republish_at > utcnow()
    assert store.jobs.stranded(grace=grace) == []  # held off until republish_at
    backdate(store, key, republish_at=utcnow() - timedelta(seconds=1))
    assert [r.key for r in store.jobs.stranded(grace=grace)] == [key]  # ...and due again after it
    # A delivery claims it and defers it: the back-off starts over from the new due time.
    store.jobs.claim(key, "w1", 30)
    assert store.jobs.require(key).republish_at is None
    store.jobs.defer(key, "w1", utcnow() - timedelta(seconds=25), "5xx")
    assert [r.key for r in store.jobs.stranded(grace=grace)] == [key]
    # A republish computed from a due time the job has since left does not hold the new one off.
    store.jobs.mark_republished(key, due, utcnow() + timedelta(minutes=5))
    moved = store.jobs.require(key)
    assert moved.republishes == 2 and moved.republish_at is None


def test_claim_records_the_longest_time_a_job_was_due_without_a_delivery(store: Store) -> None:
    add(store, "a.com")
    key = "register:a.com"
    backdate(store, key, due_at=utcnow() - timedelta(seconds=40))
    first = store.jobs.claim(key, "w1", 30).record
    assert 40 <= first.max_due_wait_seconds < 45
    # Claimed early (a duplicate message before the retry's due time): no negative wait, max kept.
    store.jobs.defer(key, "w1", utcnow() + timedelta(seconds=60), "5xx")
    store.jobs.claim(key, "w2", lease_seconds=-70)  # w2 dies: its lease ran out 70 s ago
    assert store.jobs.require(key).max_due_wait_seconds == first.max_due_wait_seconds
    # The takeover was due from the moment the dead lease ran out.
    taken = store.jobs.claim(key, "w3", 30).record
    assert 70 <= taken.max_due_wait_seconds < 75
    assert store.jobs.require(key).max_due_wait_seconds == taken.max_due_wait_seconds
    assert store.jobs.claim(key, "w4", 30).state is ClaimState.BUSY  # no delivery: nothing recorded
    assert store.jobs.require(key).max_due_wait_seconds == taken.max_due_wait_seconds


def test_purge_removes_only_old_final_jobs(store: Store) -> None:
    add(store, "a.com")
    add(store, "b.com")
    store.jobs.claim("register:a.com", "w", 30)
    store.jobs.finish("register:a.com", "w", JobStatus.FAILED, error_code="x")
    assert store.jobs.purge(utcnow() - timedelta(days=1)) == 0
    assert store.jobs.purge(utcnow() + timedelta(seconds=1)) == 1
    assert store.jobs.get("register:a.com") is None and store.jobs.get("register:b.com") is not None


def test_inventory_upsert_and_expiring(store: Store) -> None:
    store.inventory.upsert("a.com", "gandi", date(2027, 1, 1))
    store.inventory.upsert("a.com", "gandi", date(2028, 1, 1))
    store.inventory.upsert("b.ro", "rotld", date(2030, 1, 1))
    assert store.inventory.get("a.com").expires_at == date(2028, 1, 1)
    assert [d.domain for d in store.inventory.expiring(before=date(2029, 1, 1))] == ["a.com"]


def test_registry_contact_is_claimed_by_exactly_one(store: Store) -> None:
    claims = []
    barrier = threading.Barrier(6)

    def claim(i: int) -> None:
        barrier.wait()
        claims.append(store.contacts.claim("rotld", "fp1", f"w{i}"))

    threads = [threading.Thread(target=claim, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(c.claimed for c in claims) == 1
    store.contacts.save("rotld", "fp1", "C123")
    again = store.contacts.claim("rotld", "fp1", "w9")
    assert not again.claimed and again.contact_id == "C123"


def test_breaker_journal_round_trip(store: Store) -> None:
    assert store.breaker_events.last_transition("gandi") is None
    store.breaker_events.record_transition("gandi", "closed", "open", "5 failures", 1234.5, 5)
    store.breaker_events.record_transition("gandi", "open", "half_open", "window over", 1234.5, 5)
    last = store.breaker_events.last_transition("gandi")
    assert last.to_state == "half_open" and last.opened_until == 1234.5 and last.from_state == "open"


def test_migrations_are_at_head(store: Store) -> None:
    assert store.db.current_revision() == "0011"


def test_migration_0010_leaves_existing_tokens_unexpired_and_goes_back(store_url: str) -> None:
    old = Store(store_url)
    try:
        old.db.upgrade("0009")
        with old.db.engine.begin() as conn:
            conn.execute(
                sa.text(
                    "insert into api_tokens (name, token_hash, scopes, created_at, owner, webhook_secret)"
                    " values ('legacy', 'h', 'read', :now, 'legacy', 'whsec_old')"
                ),
                {"now": utcnow()},
            )
        old.db.upgrade()
        (token,) = old.api_tokens.all()
        assert token.expires_at is None and token.active and token.previous_secret_until is None
        assert old.api_tokens.signing_secrets("legacy") == ["whsec_old"]
        from alembic import command

        from shared.store.database import alembic_config

        with old.db.engine.begin() as connection:  # the downgrade works too (regq itself never runs one)
            config = alembic_config(old.db.url)
            config.attributes["connection"] = connection
            command.downgrade(config, "0009")
        assert old.db.current_revision() == "0009"
    finally:
        old.dispose()


def test_migration_0008_gives_existing_tokens_their_name_as_owner(store_url: str) -> None:
    old = Store(store_url)
    try:
        old.db.upgrade("0007")
        with old.db.engine.begin() as conn:
            conn.execute(
                sa.text(
                    "insert into api_tokens (name, token_hash, scopes, created_at)"
                    " values ('legacy', 'h', 'submit,read', :now)"
                ),
                {"now": utcnow()},
            )
        old.db.upgrade()
        (token,) = old.api_tokens.all()
        assert (token.name, token.owner, token.admin) == ("legacy", "legacy", False)
    finally:
        old.dispose()


def test_migration_0002_keeps_existing_jobs(store_url: str) -> None:
    old = Store(store_url)
    try:
        old.db.upgrade("0001")
        with old.db.engine.begin() as conn:
            conn.execute(
                sa.text(
                    "insert into jobs (key, kind, domain, params, params_hash, status, attempts, created_at,"
                    " updated_at) values ('k', 'lookup', 'a.com', '{}', 'h', 'queued', 0, :now, :now)"
                ),
                {"now": utcnow().replace(tzinfo=None)},
            )
        old.upgrade()
        record = old.jobs.require("k")
        assert record.republishes == 0 and record.republish_at is None and record.max_due_wait_seconds is None
    finally:
        old.dispose()


def test_finish_unleased_takes_only_open_registration_data_lookups(store: Store) -> None:
    from shared.jobs import parse_job

    lookup = parse_job({"kind": "lookup", "domain": "example.com", "idempotency_key": "l1"})
    avail = parse_job(
        {"kind": "lookup", "domain": "example.com", "availability": True, "idempotency_key": "l2"}
    )
    reg = parse_job(register("example.com"))
    for key, job in (("l1", lookup), ("l2", avail), ("r1", reg)):
        store.jobs.create(key, job)
    done = store.jobs.finish_unleased("l1", {"registered": True})
    assert done is not None and done.status is JobStatus.SUCCEEDED and done.attempts == 1
    assert store.jobs.finish_unleased("l1", {"registered": False}) is None  # final already
    assert store.jobs.require("l1").result == {"registered": True}
    assert store.jobs.finish_unleased("l2", {}) is None  # an availability lookup asks the registrar
    assert store.jobs.finish_unleased("r1", {}) is None  # not a lookup at all
    assert store.jobs.finish_unleased("missing", {}) is None


def test_a_lookup_keeps_the_inventory_expiry_current_in_one_update(store: Store) -> None:
    store.inventory.upsert("tinut.com", "gandi", date(2030, 1, 1), status="missing")
    assert store.inventory.note_expiry("tinut.com", date(2031, 1, 1))
    held = store.inventory.get("tinut.com")
    assert held is not None and held.expires_at == date(2031, 1, 1) and held.status == "missing"
    assert not store.inventory.note_expiry("tinut.com", date(2031, 1, 1))  # unchanged: nothing written
    assert not store.inventory.note_expiry("not-held.com", date(2031, 1, 1))  # not ours: no row made
    assert store.inventory.get("not-held.com") is None
