"""Completion webhooks: ``regq.webhook_deliver`` (one delivery, sent right after the outcome),
``regq.webhook_sweep`` (beat, every REGQ_WEBHOOK_SWEEP_INTERVAL_SECONDS: due retries and events whose
message was lost) and ``regq.webhook_purge`` (beat, daily), all on the maintenance queue
(``tasks.routing``: they are no job kind); their beat entries are in ``celeryconfig.beat_schedule``.

From a job's end to the signed POST::

    JobRunner.run ── store.jobs.finish / finish_unleased / defer_partial
         │             └─ record_event: outbox row, in the outcome's transaction -> its id
         ▼ Done / Defer (outcome + outbox ids)
    tasks.delivery.deliver ── _publish_webhooks: send_task regq.webhook_deliver(delivery_id)
         ▼ broker (maintenance queue)
    webhook_deliver ── Dispatcher.deliver: claim, sign (shared.webhooks.signature), POST, record

A failed attempt's retry is published here too (:func:`_schedule_retry`): ``regq.webhook_deliver`` with
the ETA the dispatcher stored on the row, so retries keep their documented schedule (10, 20, 40 s ...)
instead of waiting for a sweep tick; retries further off than WEBHOOK_RETRY_MESSAGE_MAX_SECONDS are the
sweep's. The message carries ``not_before`` (the row's due time): a message that wakes a little early
(the broker's or the timer's rounding) waits out the rest, at most a second, rather than find the row
not yet due and leave the retry to the sweep.

A lost message or a dead worker costs at most a sweep interval (plus the claim's lease for the latter):
the outbox row stays due and the sweep takes it.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta

from shared import defaults
from shared.store.schema import utcnow
from shared.webhooks.outbound.dispatcher import Dispatcher
from tasks import runtime
from tasks.app import app

log = logging.getLogger(__name__)


#: A message that arrives up to this much before its ``not_before`` waits for it; one arriving earlier
#: goes straight to the claim, which refuses a row not yet due (the sweep sends it when it is).
_EARLY_WAIT_SECONDS = 1.0


def _dispatcher() -> Dispatcher:
    rt = runtime.get()
    return Dispatcher(rt.store, rt.settings, schedule_retry=_schedule_retry)


def _schedule_retry(delivery_id: int, at: datetime) -> None:
    """Publish the retry of ``delivery_id`` due ``at`` as an ETA message, if it is soon enough."""
    rt = runtime.get()
    wait = (at - utcnow()).total_seconds()
    if wait > min(defaults.WEBHOOK_RETRY_MESSAGE_MAX_SECONDS, rt.settings.visibility_timeout_seconds / 2):
        return  # the sweep sends it
    rt.producer.send_task(
        "regq.webhook_deliver",
        kwargs={"delivery_id": delivery_id, "not_before": at.isoformat()},
        eta=at,
    )


def _wait_until(not_before: str | None) -> None:
    if not not_before:
        return
    try:
        wait = (datetime.fromisoformat(not_before) - utcnow()).total_seconds()
    except (TypeError, ValueError):
        return  # not ours: the claim alone decides
    if 0 < wait <= _EARLY_WAIT_SECONDS:
        time.sleep(wait)


@app.task(name="regq.webhook_deliver", acks_late=True, ignore_result=True)
def webhook_deliver(delivery_id: int, not_before: str | None = None) -> str | None:
    """One attempt of a delivery that is due and not held by another dispatcher (else nothing)."""
    _wait_until(not_before)
    dispatcher = _dispatcher()
    try:
        status = dispatcher.deliver(delivery_id)
    finally:
        dispatcher.close()
    return status.value if status is not None else None


# Every few seconds: no task events, like regq.sweep (tasks.maintenance), so Flower lists jobs, not sweeps.
@app.task(name="regq.webhook_sweep", acks_late=True, ignore_result=True, send_events=False)
def webhook_sweep() -> dict[str, int]:
    """Attempt every due delivery (a bounded batch; the next sweep takes the rest)."""
    dispatcher = _dispatcher()
    try:
        counts = dispatcher.sweep()
    finally:
        dispatcher.close()
    if counts:
        log.info("webhook sweep: %s", counts)
    return counts


@app.task(name="regq.webhook_purge", acks_late=True, ignore_result=True)
def webhook_purge() -> dict[str, int]:
    """Forget delivered and dead deliveries older than REGQ_RETENTION_DAYS, like the jobs' outcomes."""
    rt = runtime.get()
    return {"purged": rt.store.webhooks.purge(utcnow() - timedelta(days=rt.settings.retention_days))}
