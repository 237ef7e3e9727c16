"""The completion-webhook outbox on SQLite and Postgres: the event row is written in the transaction that
records the outcome (finish, finish_unleased, a partial defer), only for jobs with a callback; claims are
exclusive and fenced; replays re-arm; tokens carry their signing secret and default callback."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta
from typing import Any

import pytest

from shared.jobs import JobStatus, parse_job
from shared.settings import load_settings
from shared.store import Store
from shared.store.schema import utcnow
from shared.store.webhooks import DeliveryStatus
from shared.timestamps import rfc3339
from shared.webhooks.outbound.dispatcher import Dispatcher
from testkit.factories import register
from testkit.webhook_receiver import running_receiver

CALLBACK = "https://billing.example.net/hooks/regq?account=17"


def _job(domain: str, **extra: Any) -> Any:
    return parse_job(register(domain, **extra))


def _running(store: Store, key: str, job: Any) -> None:
    store.jobs.create(key, job)
    assert store.jobs.claim(key, "w1", 30).record is not None


def test_the_event_is_written_with_the_outcome_and_only_with_a_callback(store: Store) -> None:
    key = f"order-{uuid.uuid4().hex[:8]}"
    _running(store, key, _job("hook-final.com", callback_url=CALLBACK).submitted_as("billing"))
    stored = store.jobs.get(key)
    assert stored is not None and (stored.callback_url, stored.submitted_by) == (CALLBACK, "billing")
    assert "callback_url" not in stored.params  # not a parameter: the same job with another callback
    assert store.jobs.finish(key, "someone-else", JobStatus.SUCCEEDED, {"expires_at": "2027-01-01"}) is None
    assert store.webhooks.recent(job_key=key) == []  # no outcome, no event
    finished = store.jobs.finish(key, "w1", JobStatus.SUCCEEDED, {"expires_at": "2027-01-01"})
    assert finished is not None
    [delivery] = store.webhooks.recent(job_key=key)
    assert (delivery.event, delivery.url, delivery.token_name) == ("job.succeeded", CALLBACK, "billing")
    assert delivery.status is DeliveryStatus.PENDING and delivery.attempts == 0
    assert delivery.payload == {
        "id": delivery.event_id,
        "event": "job.succeeded",
        "key": key,
        "kind": "register",
        "domain": "hook-final.com",
        "status": "succeeded",
        "result": {"expires_at": "2027-01-01"},
        "error_code": None,
        "error_message": None,
        "occurred_at": rfc3339(finished.finished_at) if finished.finished_at else None,  # one format
    }
    assert "ana.pop@example.org" not in str(delivery.payload)  # the contact is no part of the event
    assert finished.webhooks == (delivery.id,)  # handed back with the outcome, for the task to send

    plain = f"order-{uuid.uuid4().hex[:8]}"
    _running(store, plain, _job("hook-plain.com"))
    assert store.jobs.finish(plain, "w1", JobStatus.FAILED, None, "auth", "bad token") is not None
    assert store.webhooks.recent(job_key=plain) == []


def test_an_outcome_is_never_committed_without_its_event(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = f"order-{uuid.uuid4().hex[:8]}"
    _running(store, key, _job("hook-atomic.com", callback_url=CALLBACK))

    def broken(session: Any, row: Any) -> None:
        raise RuntimeError("outbox insert failed")

    monkeypatch.setattr("shared.store.jobs.record_event", broken)
    with pytest.raises(RuntimeError):
        store.jobs.finish(key, "w1", JobStatus.FAILED, None, "registry_error", "no funds")
    record = store.jobs.get(key)
    assert record is not None and record.status is JobStatus.RUNNING  # rolled back with the event
    monkeypatch.undo()
    assert store.jobs.finish(key, "w1", JobStatus.FAILED, None, "registry_error", "no funds") is not None
    [delivery] = store.webhooks.recent(job_key=key)
    assert delivery.event == "job.failed" and delivery.payload["error_code"] == "registry_error"


def test_partial_lookups_cached_lookups_and_batches_record_events(store: Store) -> None:
    lookup = parse_job({"kind": "lookup", "domain": "hook-lookup.com", "callback_url": CALLBACK})
    key = f"lookup-{uuid.uuid4().hex[:8]}"
    _running(store, key, lookup)
    partial = {"domain": "hook-lookup.com", "partial": True, "reason": "rdap throttled"}
    assert store.jobs.defer(key, "w1", utcnow() + timedelta(seconds=30), "rdap throttled", partial=partial)
    [first] = store.webhooks.recent(job_key=key)
    assert first.event == "job.partial" and first.payload["result"] == partial
    assert store.jobs.defer(key, "nobody", utcnow(), "x", partial=partial) is False  # not the owner
    assert store.jobs.finish_unleased(key, {"domain": "hook-lookup.com", "partial": False}) is not None
    events = [d.event for d in store.webhooks.recent(job_key=key)]
    assert events == ["job.succeeded", "job.partial"]  # newest first
    # a waiting (not partial) defer makes no event
    other = f"order-{uuid.uuid4().hex[:8]}"
    _running(store, other, _job("hook-wait.com", callback_url=CALLBACK))
    assert store.jobs.defer(other, "w1", utcnow(), "breaker open", count_attempt=False)
    assert store.webhooks.recent(job_key=other) == []
    # create_many (the batch INSERT of each backend) keeps the callback and the token
    batch = [
        (f"b-{uuid.uuid4().hex[:8]}", _job(f"hook-batch{i}.com", callback_url=CALLBACK)) for i in range(2)
    ]
    batch = [(k, j.submitted_as("panel")) for k, j in batch]
    store.jobs.create_many(batch)
    for batch_key, _submitted in batch:
        record = store.jobs.get(batch_key)
        assert record is not None and (record.callback_url, record.submitted_by) == (CALLBACK, "panel")


def test_claims_are_exclusive_fenced_and_replays_rearm(store: Store) -> None:
    key = f"order-{uuid.uuid4().hex[:8]}"
    _running(store, key, _job("hook-claim.com", callback_url=CALLBACK))
    store.jobs.finish(key, "w1", JobStatus.SUCCEEDED, {})
    [delivery] = store.webhooks.recent(job_key=key)
    assert store.webhooks.due() == [delivery.id]
    first = store.webhooks.claim(delivery.id, lease_seconds=60)
    assert first is not None and first.attempts == 1 and first.status is DeliveryStatus.SENDING
    assert store.webhooks.claim(delivery.id, lease_seconds=60) is None  # held
    assert store.webhooks.due() == []
    # a claim whose lease lapsed (its worker died) is taken over; the old claim is fenced off
    store.webhooks.record_attempt(
        first, status_code=None, error="boom", latency_ms=1.0, outcome=DeliveryStatus.PENDING,
        next_attempt_at=utcnow() - timedelta(seconds=1),
    )  # fmt: skip
    second = store.webhooks.claim(delivery.id, lease_seconds=0)
    assert second is not None and second.attempts == 2
    third = store.webhooks.claim(delivery.id, lease_seconds=60)  # lease 0: lapsed at once
    assert third is not None and third.attempts == 3
    assert not store.webhooks.record_attempt(
        second, status_code=200, error=None, latency_ms=2.0, outcome=DeliveryStatus.DELIVERED
    )
    assert store.webhooks.record_attempt(
        third, status_code=200, error=None, latency_ms=3.0, outcome=DeliveryStatus.DELIVERED
    )
    done = store.webhooks.get(delivery.id)
    assert done is not None and done.status is DeliveryStatus.DELIVERED and done.delivered_at is not None
    attempts = store.webhooks.attempts(delivery.id)
    assert [(a.attempt, a.status_code, a.error) for a in attempts] == [
        (1, None, "boom"),
        (2, 200, None),
        (3, 200, None),
    ]
    # replay: due again now, with a new horizon
    assert store.webhooks.replay(timedelta(hours=24), job_key=key) == [delivery.id]
    again = store.webhooks.get(delivery.id)
    assert again is not None and again.status is DeliveryStatus.PENDING and again.give_up_at is not None
    assert again.deadline(timedelta(seconds=1)) > utcnow() + timedelta(hours=23)
    fourth = store.webhooks.claim(delivery.id, 60)
    assert fourth is not None
    assert store.webhooks.replay(timedelta(hours=24), delivery_id=delivery.id) == []  # being sent
    with pytest.raises(ValueError):
        store.webhooks.replay(timedelta(hours=1))
    # the retention purge forgets ended deliveries only, with their attempts
    tomorrow = utcnow() + timedelta(days=1)
    assert store.webhooks.purge(tomorrow) == 0
    store.webhooks.record_attempt(
        fourth, status_code=200, error=None, latency_ms=1.0, outcome=DeliveryStatus.DELIVERED
    )
    assert store.webhooks.purge(utcnow() - timedelta(days=1)) == 0
    assert store.webhooks.purge(tomorrow) == 1
    assert store.webhooks.get(delivery.id) is None and store.webhooks.attempts(delivery.id) == []


def test_tokens_get_a_signing_secret_and_a_checked_default_callback(store: Store) -> None:
    token, secret = store.api_tokens.create("panel", ["submit"], callback_url=CALLBACK)
    assert token.callback_url == CALLBACK
    signing = store.api_tokens.webhook_secret("panel")
    assert signing is not None and signing.startswith("whsec_") and signing != secret
    assert store.api_tokens.webhook_secret("nobody") is None
    assert store.api_tokens.verify(secret) == token
    for bad in ("ftp://x.example/", "https://user:pw@x.example/", "x" * 3000):
        with pytest.raises(ValueError, match="callback URL"):
            store.api_tokens.create(f"bad-{uuid.uuid4().hex[:6]}", ["submit"], callback_url=bad)


def test_two_sweepers_never_send_the_same_delivery(store: Store) -> None:
    """Two dispatchers sweeping the same due rows at once (threads, one store): each event reaches the
    receiver once, with one attempt each."""
    settings = load_settings(webhook_allow_private=True, webhook_secret="whsec_fleet")
    with running_receiver() as receiver:
        keys = []
        for n in range(12):
            key = f"race-{n}-{uuid.uuid4().hex[:6]}"
            _running(store, key, _job(f"{key}.com", callback_url=receiver.url))
            store.jobs.finish(key, "w1", JobStatus.SUCCEEDED, {})
            keys.append(key)
        start = threading.Barrier(2)
        counts: list[dict[str, int]] = []

        def sweep() -> None:
            dispatcher = Dispatcher(store, settings)
            start.wait()
            counts.append(dispatcher.sweep())
            dispatcher.close()

        threads = [threading.Thread(target=sweep) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        sent = [json_key for r in receiver.received if (json_key := r.json()["key"]) in keys]
    assert sorted(sent) == sorted(keys)  # every one, none twice
    assert sum(c.get("delivered", 0) for c in counts) == len(keys)
    for key in keys:
        [delivery] = store.webhooks.recent(job_key=key)
        assert delivery.status is DeliveryStatus.DELIVERED and delivery.attempts == 1
