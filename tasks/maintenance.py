"""Maintenance: republish stranded jobs, purge old outcomes, the nightly renewal scan."""

from __future__ import annotations

import logging
from datetime import timedelta

from shared.jobs import JobStatus, RenewJob
from shared.store.schema import utcnow
from tasks import runtime
from tasks.app import app
from tasks.publish import publish_record, submit

log = logging.getLogger(__name__)


@app.task(name="regq.sweep", acks_late=True, ignore_result=True)
def sweep() -> dict[str, int]:
    """Republish jobs no delivery will finish: a lost publish, a lost retry message, a dead worker's lease.

    Safe to over-publish: a job is claimed by key, so an extra message finds it running or final. Each
    republish of the same job doubles its wait before the next, so a long backlog is not flooded.
    """
    rt = runtime.get()
    older = timedelta(seconds=rt.settings.republish_after_seconds)
    republished = 0
    for record in rt.store.jobs.stranded(older_than=older):
        if record.status is JobStatus.RUNNING:
            if not rt.store.jobs.release_expired(record.key):
                continue
        publish_record(rt.producer, record)
        # A job that merely waits in a long backlog would otherwise get a message every sweep: back off,
        # the next republish comes after it has waited as long again (a handful over any backlog).
        now = utcnow()
        rt.store.jobs.touch_due(record.key, now + max(timedelta(0), now - record.created_at))
        republished += 1
    if republished:
        log.warning("sweep republished %d stranded jobs", republished)
    return {"republished": republished}


@app.task(name="regq.purge", acks_late=True, ignore_result=True)
def purge() -> dict[str, int]:
    """Forget final jobs older than the retention; until then their keys cannot be reused."""
    rt = runtime.get()
    removed = rt.store.jobs.purge(utcnow() - timedelta(days=rt.settings.retention_days))
    return {"purged": removed}


@app.task(name="regq.renewal_scan", acks_late=True, ignore_result=True)
def renewal_scan() -> dict[str, int]:
    """Submit a 1-year renewal for every auto-renew domain expiring inside the window (keyed by expiry)."""
    rt = runtime.get()
    horizon = utcnow().date() + timedelta(days=rt.settings.renewal_window_days)
    submitted = 0
    for held in rt.store.inventory.expiring(before=horizon):
        job = RenewJob.model_validate({"domain": held.domain, "years": 1, "current_expiry": held.expires_at})
        outcome = submit(job, store=rt.store, app=rt.producer)
        submitted += 0 if outcome.duplicate else 1
    return {"submitted": submitted}
