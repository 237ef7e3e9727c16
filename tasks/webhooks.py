"""Completion webhooks: ``regq.webhook_deliver`` (one delivery, sent right after the outcome) and
``regq.webhook_sweep`` (beat, every REGQ_WEBHOOK_SWEEP_INTERVAL_SECONDS: due retries and events whose
message was lost), both on the maintenance queue (``tasks.routing``: they are no job kind).

Latency: the outbox row is committed with the outcome (:mod:`shared.store.webhooks`); when the job's
task returns (or re-schedules itself: a partial lookup), :func:`_send_fresh_events` publishes one
``regq.webhook_deliver`` per event not attempted yet, so a receiver hears within a broker round trip.
A lost message or a dead worker costs at most a sweep interval (plus the claim's lease for the latter):
the outbox row stays due and the sweep takes it.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from celery import Celery
from celery.schedules import crontab
from celery.signals import task_postrun, task_prerun

from shared import defaults
from shared.jobs import JobKind
from shared.settings import get_settings
from shared.store.schema import utcnow
from shared.store.webhooks import RECORDED
from shared.webhooks.dispatcher import Dispatcher
from tasks import runtime
from tasks.app import app

log = logging.getLogger(__name__)
_JOB_TASKS = frozenset(f"regq.{kind.value}" for kind in JobKind)


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


@task_prerun.connect
def _watch_events(sender: Any = None, **_: Any) -> None:
    """Before a job task runs: note the events it records (:data:`shared.store.webhooks.RECORDED`)."""
    if getattr(sender, "name", None) in _JOB_TASKS:
        RECORDED.set([])


@task_postrun.connect
def _send_fresh_events(sender: Any = None, kwargs: dict[str, Any] | None = None, **_: Any) -> None:
    """After a job task that recorded an event: a ``regq.webhook_deliver`` for each of its job's fresh
    deliveries (no query after a task that recorded none). A failure here loses nothing: the sweep
    delivers the row."""
    if getattr(sender, "name", None) not in _JOB_TASKS:
        return
    recorded = RECORDED.get()
    RECORDED.set(None)
    key = (kwargs or {}).get("key")
    if not recorded or key not in recorded:
        return
    try:
        rt = runtime.get()
        for delivery_id in rt.store.webhooks.fresh_for(key):
            rt.producer.send_task("regq.webhook_deliver", kwargs={"delivery_id": delivery_id})
    except Exception:  # never fail the job's task for its webhook: the sweep has the row
        log.warning("could not send the webhook of job %s now; the sweep will", key, exc_info=True)


@app.on_after_configure.connect
def _schedule_sweep(sender: Celery, **_: Any) -> None:
    """Beat's entries (like those of ``celeryconfig.beat_schedule``; the router picks the queue): the
    sweep, and the purge with the jobs' one (03:15 UTC)."""
    interval = get_settings().webhook_sweep_interval_seconds
    sender.add_periodic_task(interval, webhook_sweep.s(), name="webhook-sweep", expires=interval * 2)
    daily = crontab(minute=defaults.PURGE_MINUTE, hour=defaults.PURGE_HOUR)
    sender.add_periodic_task(daily, webhook_purge.s(), name="purge-old-webhooks")
