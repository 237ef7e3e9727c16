"""Maintenance: republish stranded jobs, purge old outcomes, the nightly renewal scan, the weekly refresh
of the IANA RDAP bootstrap, the daily refresh of Gandi's TLD list."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from shared.jobs import JobStatus
from shared.registrydata.rdap import store_for
from shared.store.schema import utcnow
from tasks import runtime
from tasks.app import app
from tasks.publish import publish_record
from tasks.renewals import run_scan

log = logging.getLogger(__name__)


def republish_wait(overdue: timedelta, grace: timedelta, ceiling: timedelta) -> timedelta:
    """How long the sweep holds off before republishing a job again, ``overdue`` past its due time.

    As long again as it has already waited (so the total doubles, counted from its due time: grace, 2x,
    4x ...), at least ``grace`` and at most ``ceiling``.
    """
    return min(max(overdue, grace), ceiling)


# Housekeeping every few seconds: no task events (Flower's list is the operator's jobs, not the sweeps).
@app.task(name="regq.sweep", acks_late=True, ignore_result=True, send_events=False)
def sweep() -> dict[str, int]:
    """Republish jobs whose message may be gone: a lost publish, a retry (ETA message) that died with its
    worker, a dead worker's lease.

    A queued/waiting job is republished once it is ``republish_grace_seconds`` past due: the message a
    live worker may still hold for it is harmless, since a job is claimed by key (an extra message finds
    it running or final). Until a delivery claims it, each republish holds the next one off as long again
    as the job has already waited (:func:`republish_wait`), at most ``republish_after_seconds``: a job that
    merely waits in a long backlog gets a handful of extra messages, and a due job is never left without a
    new one for longer than that (plus one sweep interval).
    """
    rt = runtime.get()
    grace = timedelta(seconds=rt.settings.republish_grace_seconds)
    ceiling = timedelta(seconds=rt.settings.republish_after_seconds)
    republished = 0
    for record in rt.store.jobs.stranded(grace=grace):
        if record.status is JobStatus.RUNNING:
            released = rt.store.jobs.release_expired(record.key)
            if released is None:
                continue
            record = released
        publish_record(rt.producer, record)
        assert record.due_at is not None  # an open job always has one
        now = utcnow()
        next_at = now + republish_wait(now - record.due_at, grace, ceiling)
        rt.store.jobs.mark_republished(record.key, record.due_at, next_at)
        republished += 1
    if republished:
        log.warning("sweep republished %d stranded jobs", republished)
    return {"republished": republished}


@app.task(name="regq.purge", acks_late=True, ignore_result=True)
def purge() -> dict[str, int]:
    """Forget final jobs older than the retention (until then their keys cannot be reused), and the
    registrar webhooks' receipts older than it."""
    rt = runtime.get()
    before = utcnow() - timedelta(days=rt.settings.retention_days)
    removed = rt.store.jobs.purge(before)
    return {"purged": removed, "hook_receipts_purged": rt.store.hook_receipts.purge(before)}


@app.task(name="regq.renewal_scan", acks_late=True, ignore_result=True)
def renewal_scan() -> dict[str, Any]:
    """Submit a 1-year renewal, keyed by its expiry, for every auto-renew domain expiring within
    REGQ_RENEW_WINDOW_DAYS (:func:`tasks.renewals.run_scan`): under a fleet-wide lock, in keyset
    batches, its summary in ``renewal_scans`` and the log. Twice (or from two beats) renews no term twice."""
    return run_scan(runtime.get(), trigger="beat").as_dict()


@app.task(name="regq.rdap_bootstrap_refresh", acks_late=True, ignore_result=True)
def rdap_bootstrap_refresh(force: bool = False) -> dict[str, str]:
    """Fetch IANA's RDAP bootstrap files that are past their ``Cache-Control: max-age`` into the fleet's
    store (Redis); every worker reads the new copy within minutes. A directory override is never
    refreshed; a failed fetch keeps the previous copy (or the packaged snapshot)."""
    from shared.registrydata.rdap import refresh_bootstrap

    rt = runtime.get()
    policy = rt.lookup_policy
    report = refresh_bootstrap(rt.settings, rt.store.audit, policy, store_for(rt.settings), force=force)
    log.info("rdap bootstrap refresh: %s", report)
    return report


@app.task(name="regq.tlds_refresh", acks_late=True, ignore_result=True)
def tlds_refresh() -> dict[str, Any]:
    """Store Gandi's list of the TLDs it sells (``GET /domain/tlds``) in the fleet's Redis: every process
    checks submitted names against it within minutes. A failed or partial answer keeps the previous list
    (or the packaged snapshot): :func:`shared.tlds.refresh.refresh_gandi`."""
    from shared.tlds.refresh import refresh_gandi

    return refresh_gandi(runtime.get())
