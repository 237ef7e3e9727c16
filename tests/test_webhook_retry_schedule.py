"""Webhook retries leave on their documented schedule (README "Completion webhooks": 10 s, 20 s, 40 s ...,
REGQ_WEBHOOK_RETRY_BASE_SECONDS doubling, jittered by at most a quarter and a second), not on the sweep's
10 s tick: a failed attempt publishes its retry as an ETA message (tasks/webhooks.py), and the row's
``next_attempt_at`` and the claim still decide, so nothing goes early or twice.

The end-to-end test runs a real maintenance worker and beat (its sweep at the default 10 s) against a real
receiver that fails three times, with a 1 s base (``RETRY_SCHEDULE_BASE`` in the environment sets another:
10 measures the production schedule): the gaps between the attempts the receiver saw are 1, 2, 4 s, each
within its jitter and a little delivery latency, never shorter. Before this change they were sweep ticks.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from shared.backoff import MAX_EXTRA_SECONDS, SPREAD
from shared.jobs import JobStatus, parse_job
from shared.settings import load_settings
from shared.store import Store
from shared.store.webhooks import Delivery, DeliveryStatus
from shared.webhooks.outbound.dispatcher import Dispatcher
from shared.webhooks.signature import verify
from testkit.factories import register
from testkit.stacks import running_stack, wait_for
from testkit.webhook_receiver import Receiver, running_receiver
from workers.embedded.stack import Stack, WorkerGroup

BASE = float(os.environ.get("RETRY_SCHEDULE_BASE", "1"))
FAILURES = 3
SECRET = "whsec_retry_schedule_test"
#: what delivering a retry may add to its wait: the ETA message, a claim, the POST (a loaded 2-core box)
LATENCY = 0.75
ENV = {
    "REGQ_WEBHOOK_ALLOW_PRIVATE": "true",
    "REGQ_WEBHOOK_SECRET": SECRET,
    "REGQ_WEBHOOK_RETRY_BASE_SECONDS": f"{BASE:g}",
    "REGQ_WEBHOOK_RETRY_MAX_SECONDS": f"{BASE * 2**FAILURES:g}",
    "REGQ_WEBHOOK_SWEEP_INTERVAL_SECONDS": "10",  # the default: retries must not wait for its tick
}


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as r:
        yield r


def _finished(store: Store, url: str) -> Delivery:
    """A job that reached its final state with a callback: its outbox row (one delivery, due now)."""
    key = f"sched-{uuid.uuid4().hex[:8]}"
    store.jobs.create(key, parse_job(register(f"{key}.com", callback_url=url)))
    store.jobs.claim(key, "w1", 30)
    store.jobs.finish(key, "w1", JobStatus.SUCCEEDED, {"expires_at": "2027-12-03"})
    [delivery] = store.webhooks.recent(job_key=key)
    return delivery


def _expected_gaps() -> list[tuple[float, float]]:
    """(shortest, longest) gap before each retry: the wait, then at most its jitter and the latency."""
    waits = [BASE * 2**n for n in range(FAILURES)]
    return [(w, w + min(MAX_EXTRA_SECONDS, w * SPREAD + 0.1) + LATENCY) for w in waits]


# --- the dispatcher hands each stored retry time to the scheduler, and only then --------------------------
def test_a_failed_attempt_schedules_its_retry_at_the_stored_time_and_only_then(
    tmp_path: Path, receiver: Receiver
) -> None:
    store = Store(f"sqlite:///{tmp_path / 'regq.db'}")
    store.upgrade()
    scheduled: list[tuple[int, datetime]] = []
    settings = load_settings(
        webhook_allow_private=True, webhook_secret=SECRET, webhook_retry_base_seconds=10.0
    )
    dispatcher = Dispatcher(store, settings, schedule_retry=lambda i, at: scheduled.append((i, at)))
    try:
        delivery = _finished(store, receiver.url)
        receiver.fail_next(1, status=503)
        assert dispatcher.deliver(delivery.id) is DeliveryStatus.PENDING
        row = store.webhooks.get(delivery.id)
        assert row is not None and scheduled == [(delivery.id, row.next_attempt_at)]
        assert dispatcher.deliver(delivery.id) is None  # the message's early twin: not due, nothing sent
        assert len(receiver.received) == 1 and len(scheduled) == 1

        delivered = _finished(store, receiver.url)
        assert dispatcher.deliver(delivered.id) is DeliveryStatus.DELIVERED
        assert len(scheduled) == 1  # a delivered webhook schedules nothing

        def broken(delivery_id: int, at: datetime) -> None:
            raise ConnectionError("broker down")

        dispatcher.schedule_retry = broken  # the row stays due: the sweep is the backstop
        receiver.fail_next(1, status=500)
        third = _finished(store, receiver.url)
        assert dispatcher.deliver(third.id) is DeliveryStatus.PENDING
        kept = store.webhooks.get(third.id)
        assert kept is not None and kept.status is DeliveryStatus.PENDING and kept.next_attempt_at is not None
    finally:
        dispatcher.close()
        store.dispose()


# --- end to end: a real worker, beat's sweep at 10 s, a receiver failing three times ----------------------
@pytest.fixture(scope="module")
def stack(redis_url: str, own_postgres_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    store = Store(own_postgres_url)
    store.upgrade()
    store.dispose()
    groups = (WorkerGroup("maint", ("maintenance",), 2),)
    var = Path(tmp_path_factory.mktemp("retry-schedule"))
    with running_stack(redis_url, own_postgres_url, var, groups, beat=True, extra_env=ENV) as s:
        yield s


def test_retries_leave_at_the_documented_gaps_not_on_the_sweep_tick(stack: Stack, receiver: Receiver) -> None:
    store = Store(stack.env["REGQ_DATABASE_URL"])
    producer = stack.producer()
    try:
        receiver.fail_next(FAILURES, status=503)
        delivery = _finished(store, receiver.url)
        producer.send_task("regq.webhook_deliver", kwargs={"delivery_id": delivery.id})
        budget = sum(high for _low, high in _expected_gaps()) + 30
        hit = receiver.wait_for_key(delivery.job_key, budget)
        assert verify(hit.body, hit.headers["Regq-Signature"], SECRET)

        def recorded() -> Delivery | None:  # the receiver answers before the sender records it
            row = store.webhooks.get(delivery.id)
            return row if row is not None and row.status is DeliveryStatus.DELIVERED else None

        wait_for(recorded, 20, "the 200 to be recorded")
        tries = receiver.attempts_for(delivery.job_key)
        assert [t.answered for t in tries] == [503] * FAILURES + [200]  # once each: no early twin, no double
        assert [(a.attempt, a.status_code) for a in store.webhooks.attempts(delivery.id)] == [
            (n, 503) for n in range(1, FAILURES + 1)
        ] + [(FAILURES + 1, 200)]
        gaps = [round(later.at - earlier.at, 3) for earlier, later in zip(tries, tries[1:], strict=False)]
        print(f"retry gaps with base {BASE:g} s: {gaps}")  # the figure, with -s
        for gap, (low, high) in zip(gaps, _expected_gaps(), strict=True):
            assert low - 0.05 <= gap <= high, (gaps, _expected_gaps())
    finally:
        producer.close()
        store.dispose()
