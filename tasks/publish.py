"""Producing jobs: the row is written first, then a message carrying only key, kind and domain.

No personal data travels through the broker, Flower or logs: the worker loads the payload by key.
"""

from __future__ import annotations

from datetime import date

from celery import Celery

from shared.jobs import JobOutcome, JobStatus, LookupJob, RegisterJob, RenewJob, derive_key
from shared.store import Store
from shared.store.jobs import JobRecord


def _with_expiry(job: RenewJob, store: Store) -> tuple[RenewJob, date | None]:
    """A renew names the expiry its term starts from: the job's own, else the inventory's."""
    if job.current_expiry is not None:
        return job, job.current_expiry
    held = store.inventory.get(job.domain)
    if held is None or held.expires_at is None:
        return job, None
    return job.model_copy(update={"current_expiry": held.expires_at}), held.expires_at


def publish_record(app: Celery, record: JobRecord) -> None:
    """Send the message for a stored job (also used by the sweeper to republish).

    The queue is the app's router's decision (:func:`tasks.routing.route_task`), from kind and registrar.
    """
    app.send_task(
        f"regq.{record.kind}",
        kwargs={"key": record.key, "domain": record.domain, "registrar": record.registrar},
    )


def submit(job: RegisterJob | RenewJob | LookupJob, *, store: Store, app: Celery) -> JobOutcome:
    """Accept a validated job: store it (idempotently), publish it, answer its current outcome.

    Raises JobValidationError (a renew with no known expiry and no key) or IdempotencyConflict.
    """
    expiry = None
    if isinstance(job, RenewJob):
        job, expiry = _with_expiry(job, store)
    key = derive_key(job, expiry)
    record, created = store.jobs.create(key, job)
    if created or (record.status is JobStatus.QUEUED and record.published_at is None):
        publish_record(app, record)
        store.jobs.mark_published(key)
    return record.outcome(duplicate=not created)
