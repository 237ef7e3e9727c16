"""Producing jobs: the row is written first, then a message carrying only key, kind and domain.

No personal data travels through the broker, Flower or logs: the worker loads the payload by key.

:func:`submit` takes one job; :func:`submit_many` takes many at broker speed: per batch of
``batch_size`` jobs, one SELECT of the inventory (renew expiries), one INSERT of every row (conflicting
keys told apart in the same transaction), one broker connection for every message, one UPDATE marking
them published.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import Any

from celery import Celery

from shared.errors import IdempotencyConflict, JobValidationError
from shared.jobs import AnyJob, JobOutcome, JobStatus, RenewJob, derive_key
from shared.store import Store
from shared.store.inventory import DomainRecord
from shared.store.job_record import JobRecord

#: Jobs per INSERT / broker connection / UPDATE in :func:`submit_many`.
BATCH_SIZE = 500


def _with_expiry(job: RenewJob, held: DomainRecord | None) -> tuple[RenewJob, date | None]:
    """A renew names the expiry its term starts from: the job's own, else the inventory's."""
    if job.current_expiry is not None:
        return job, job.current_expiry
    if held is None or held.expires_at is None:
        return job, None
    return job.model_copy(update={"current_expiry": held.expires_at}), held.expires_at


def _keyed(job: AnyJob, held: DomainRecord | None) -> tuple[str, AnyJob]:
    """The key ``job`` is stored under (and the job as stored: a renew gains the inventory's expiry).
    Raises JobValidationError for a renew with no known expiry and no key."""
    expiry = None
    if isinstance(job, RenewJob):
        job, expiry = _with_expiry(job, held)
    return derive_key(job, expiry), job


def publish_record(app: Celery, record: JobRecord, producer: Any = None) -> None:
    """Send the message for a stored job (also used by the sweeper to republish).

    The queue is the app's router's decision (:func:`tasks.routing.route_task`), from kind and registrar.
    ``producer`` (a kombu producer from ``app.producer_or_acquire()``) reuses its broker connection.
    """
    registrar = getattr(record.registrar, "value", record.registrar)  # a fresh row holds the enum
    kwargs = {"key": record.key, "domain": record.domain, "registrar": registrar}
    app.send_task(
        f"regq.{record.kind}",
        kwargs=kwargs,
        producer=producer,
        # What Flower shows, given rather than left to Celery's saferepr (a tenth of a publish's cost).
        argsrepr="()",
        kwargsrepr=repr(kwargs),
    )


def _needs_publish(record: JobRecord, created: bool) -> bool:
    """A new row, or one still queued whose message was never sent (its producer died in between)."""
    return created or (record.status is JobStatus.QUEUED and record.published_at is None)


def submit(job: AnyJob, *, store: Store, app: Celery) -> JobOutcome:
    """Accept a validated job: store it (idempotently), publish it, answer its current outcome.

    Raises JobValidationError (a renew with no known expiry and no key) or IdempotencyConflict.
    """
    held = store.inventory.get(job.domain) if isinstance(job, RenewJob) and not job.current_expiry else None
    key, job = _keyed(job, held)
    record, created = store.jobs.create(key, job)
    if _needs_publish(record, created):
        publish_record(app, record)
        store.jobs.mark_published(key)
    return record.outcome(duplicate=not created)


@dataclass(frozen=True)
class Submitted:
    """One job's answer from :func:`submit_many`, in the order the jobs were given.

    - accepted (new or a duplicate): ``key`` and ``outcome`` set (``outcome.duplicate`` tells which),
      ``error`` None;
    - refused: ``error`` is what :func:`submit` would have raised for this job alone, a
      JobValidationError (a renew with no known expiry and no key: ``key`` None) or an
      IdempotencyConflict (the key exists with other parameters: ``key`` set); ``outcome`` None.
    """

    key: str | None
    outcome: JobOutcome | None
    error: JobValidationError | IdempotencyConflict | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def submit_many(
    jobs: Sequence[AnyJob], *, store: Store, app: Celery, batch_size: int = BATCH_SIZE
) -> list[Submitted]:
    """:func:`submit` for each job, in order, at broker speed: one :class:`Submitted` per job.

    A job is refused (its ``Submitted.error``) for what :func:`submit` would raise for it; nothing is
    raised for one job. Per batch: the rows are committed (one INSERT ... ON CONFLICT DO NOTHING
    RETURNING, one SELECT of the keys that were there) before any of their messages is sent, over one
    broker connection, then one UPDATE marks them published. A job repeated in ``jobs`` is stored and
    published once (the later ones are its duplicates). A store or broker failure raises for the whole
    call: earlier batches are submitted; the failing batch's rows may exist unpublished, and the sweep
    (or submitting again) publishes them.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    answers: list[Submitted] = []
    for start in range(0, len(jobs), batch_size):
        answers.extend(_submit_batch(jobs[start : start + batch_size], store, app))
    return answers


def _submit_batch(jobs: Sequence[AnyJob], store: Store, app: Celery) -> list[Submitted]:
    wanting_expiry = [j.domain for j in jobs if isinstance(j, RenewJob) and j.current_expiry is None]
    held = store.inventory.get_many(wanting_expiry) if wanting_expiry else {}
    answers: list[Submitted | None] = [None] * len(jobs)
    entries: list[tuple[str, AnyJob]] = []
    positions: list[int] = []
    for index, job in enumerate(jobs):
        try:
            key, stored = _keyed(job, held.get(job.domain))
        except JobValidationError as exc:
            answers[index] = Submitted(None, None, exc)
            continue
        entries.append((key, stored))
        positions.append(index)
    created = store.jobs.create_many(entries)
    to_publish: dict[str, JobRecord] = {}
    for index, (key, _job), answer in zip(positions, entries, created, strict=True):
        if isinstance(answer, IdempotencyConflict):
            answers[index] = Submitted(key, None, answer)
            continue
        record, fresh = answer
        if _needs_publish(record, fresh):
            to_publish.setdefault(key, record)
        answers[index] = Submitted(key, record.outcome(duplicate=not fresh))
    if to_publish:
        with _producer(app) as producer:
            for record in to_publish.values():
                publish_record(app, record, producer)
        store.jobs.mark_published_many(list(to_publish))
    return [a for a in answers if a is not None]


@contextmanager
def _producer(app: Celery) -> Iterator[Any]:
    """One pooled kombu producer (one broker connection) for a whole batch."""
    with app.producer_or_acquire() as producer:
        yield producer
