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

A lost message or a dead worker costs at most a sweep interval (plus the claim's lease for the latter):
the outbox row stays due and the sweep takes it.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from shared.store.schema import utcnow
from shared.webhooks.outbound.dispatcher import Dispatcher
from tasks import runtime
from tasks.app import app

log = logging.getLogger(__name__)


def _dispatcher() -> Dispatcher:
    rt = runtime.get()
    return Dispatcher(rt.store, rt.settings)


@app.task(name="regq.webhook_deliver", acks_late=True, ignore_result=True)
def webhook_deliver(delivery_id: int) -> str | None:
    """One attempt of a delivery that is due and not held by another dispatcher (else nothing)."""
    dispatcher = _dispatcher()
    try:
        status = dispatcher.deliver(delivery_id)
    finally:
        dispatcher.close()
    return status.value if status is not None else None


@app.task(name="regq.webhook_sweep", acks_late=True, ignore_result=True)
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
