"""The renewal scan: a 1-year renew for every auto-renew domain expiring within REGQ_RENEW_WINDOW_DAYS
(the core; ``tasks.renewals`` binds it to the broker).

::

    lock "renewal-scan" (DomainLock family, fleet-wide; renewed every third of its lease)  taken -> skip
    renewal_scans row: running
    for each keyset page of the inventory (expiry, name) <= horizon:          memory: one page
        RenewJob(domain, years=1, current_expiry) -> key renew:<domain>:<expiry>
        submit(page) (tasks.publish.submit_many): one INSERT (existing keys told apart), one broker connection
        counts -> the row; lock lost -> stop (status lock_lost)
    renewal_scans row: finished (or failed, with the error), logged

Exactly once per term: the key names the expiry the term starts from, so a second scan (or a second
beat, or a scan whose lock lapsed) finds the job and submits nothing; the renew itself is guarded by the
same expiry at the registrar. The lock only keeps two scans from doing the same work at once. A renew
that failed for good (e.g. insufficient funds) keeps its key: the next night's scan does not retry it,
``regq renewals failed`` shows it, and ``regq replay`` retries it.

Nothing here knows Celery: the caller passes ``submit``, the function that stores and publishes a page of
jobs (:func:`tasks.publish.submit_many` bound to its store and producer app).
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Protocol

from pydantic import ValidationError

from shared import defaults
from shared.errors import IdempotencyConflict
from shared.jobs import JobOutcome, JobStatus, RenewJob, derive_key
from shared.locks import DomainLock, Keeper
from shared.services import Services
from shared.store.inventory import DomainRecord
from shared.store.renewals import ScanCounts
from shared.store.schema import utcnow
from shared.timestamps import rfc3339, rfc3339_or_none

log = logging.getLogger(__name__)

#: The name the scan's lock takes in the DomainLock family (no domain can be called that).
LOCK_NAME = "renewal-scan"

FINISHED, LOCKED, LOCK_LOST, FAILED, DRY_RUN = "finished", "locked", "lock_lost", "failed", "dry_run"


class Submitted(Protocol):
    """One job's answer from ``submit`` (as :class:`tasks.publish.Submitted` gives it)."""

    @property
    def key(self) -> str | None: ...

    @property
    def outcome(self) -> JobOutcome | None: ...

    @property
    def error(self) -> Exception | None: ...


#: Stores and publishes a page of renew jobs, one answer per job in order (``tasks.publish.submit_many``).
SubmitMany = Callable[[Sequence[RenewJob]], Sequence[Submitted]]


@dataclass(frozen=True)
class DueRenewal:
    """A due domain as a dry run reports it: the key its renew gets, and the job already under it."""

    domain: str
    registrar: str
    expires_at: date
    key: str
    existing: JobStatus | None


@dataclass
class ScanResult:
    status: str
    horizon: date
    counts: ScanCounts = field(default_factory=ScanCounts)
    scan_id: int | None = None
    started_at: datetime = field(default_factory=utcnow)
    finished_at: datetime | None = None
    due: list[DueRenewal] = field(default_factory=list)  # a dry run's listing

    @property
    def seconds(self) -> float:
        return ((self.finished_at or utcnow()) - self.started_at).total_seconds()

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: the status, the counts, the times; a dry run's due domains under ``due``."""
        data: dict[str, Any] = {
            "status": self.status,
            "scan_id": self.scan_id,
            "horizon": self.horizon.isoformat(),
            **asdict(self.counts),
            "started_at": rfc3339(self.started_at),
            "finished_at": rfc3339_or_none(self.finished_at),
            "seconds": round(self.seconds, 3),
        }
        if self.status == DRY_RUN:
            data["due"] = [
                {**asdict(d), "expires_at": d.expires_at.isoformat(), "existing": d.existing}
                for d in self.due
            ]
        return data


class LockKeeper(Keeper):
    """Renews the held lock ``name`` every third of its lease (a :class:`~shared.locks.Keeper` thread);
    ``lost`` once it is not ours (taken by another owner after it lapsed) or not renewed for most of its
    lease (Redis unreachable)."""

    def __init__(
        self,
        locks: DomainLock,
        name: str,
        owner: str,
        ttl_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(lambda: locks.renew(name, owner, ttl_seconds), ttl_seconds, f"lock-{name}", clock)


def _owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _renew_jobs(page: Sequence[DomainRecord]) -> tuple[list[tuple[DomainRecord, RenewJob]], int]:
    """The 1-year renew of each due domain, and how many the job model refused (logged)."""
    jobs: list[tuple[DomainRecord, RenewJob]] = []
    invalid = 0
    for held in page:
        try:
            job = RenewJob.model_validate(
                {"domain": held.domain, "years": 1, "current_expiry": held.expires_at}
            )
        except ValidationError as exc:
            invalid += 1
            log.warning("renewal scan: %s cannot be renewed: %s", held.domain, exc.errors()[0]["msg"])
            continue
        jobs.append((held, job))
    return jobs, invalid


def _submit_page(submit: SubmitMany, page: Sequence[DomainRecord]) -> ScanCounts:
    jobs, invalid = _renew_jobs(page)
    counts = ScanCounts(scanned=len(page), invalid=invalid)
    answers = submit([job for _held, job in jobs]) if jobs else []
    for answer in answers:
        if isinstance(answer.error, IdempotencyConflict):
            counts.already_queued += 1  # the term has a renew already, submitted with other parameters
        elif answer.error is not None:
            counts.invalid += 1
            log.warning("renewal scan: refused %s: %s", answer.key, answer.error)
        elif answer.outcome is not None and answer.outcome.duplicate:
            counts.already_queued += 1
        else:
            counts.submitted += 1
    return counts


def _list_page(rt: Services, page: Sequence[DomainRecord], due: list[DueRenewal]) -> ScanCounts:
    jobs, invalid = _renew_jobs(page)
    keyed = [(held, derive_key(job)) for held, job in jobs]
    existing = rt.store.renewals.existing([key for _held, key in keyed])
    counts = ScanCounts(scanned=len(page), invalid=invalid)
    for held, key in keyed:
        assert held.expires_at is not None  # a due domain has an expiry
        due.append(DueRenewal(held.domain, held.registrar, held.expires_at, key, existing.get(key)))
        if key in existing:
            counts.already_queued += 1
        else:
            counts.submitted += 1
    return counts


def run_scan(
    rt: Services,
    submit: SubmitMany,
    *,
    trigger: str = "beat",
    dry_run: bool = False,
    batch_size: int = defaults.RENEWAL_SCAN_BATCH,
    today: date | None = None,
    on_batch: Callable[[ScanCounts], None] | None = None,
) -> ScanResult:
    """One renewal scan through ``rt`` (see the module's docstring), each page's jobs given to ``submit``
    (which stores and publishes them); ``on_batch`` hears the running
    counts after each batch. A dry run takes no lock, writes nothing and lists the due domains (its
    ``submitted``: what a scan would submit now). Another scan holding the lock: status ``locked``,
    nothing done. An error records the scan ``failed`` and is raised."""
    horizon = (today or utcnow().date()) + timedelta(days=rt.settings.renew_window_days)
    result = ScanResult(DRY_RUN if dry_run else FINISHED, horizon)
    if dry_run:
        for page in rt.store.inventory.expiring_pages(horizon, batch_size):
            result.counts.add(_list_page(rt, page, result.due))
            if on_batch:
                on_batch(result.counts)
        result.finished_at = utcnow()
        return result
    owner, ttl = _owner(), float(defaults.RENEWAL_SCAN_LOCK_SECONDS)
    if not rt.locks.acquire(LOCK_NAME, owner, ttl):
        log.warning("renewal scan (%s) skipped: another scan holds the %r lock", trigger, LOCK_NAME)
        result.status, result.finished_at = LOCKED, utcnow()
        return result
    try:
        result.scan_id = rt.store.renewals.start(trigger, owner, rt.settings.renew_window_days, horizon)
        keeper = LockKeeper(rt.locks, LOCK_NAME, owner, ttl)
        result.status = _scan(rt, submit, result, keeper, batch_size, on_batch)
    except Exception as exc:
        if result.scan_id is not None:
            rt.store.renewals.finish(
                result.scan_id, FAILED, result.counts, error=f"{type(exc).__name__}: {exc}"
            )
        log.exception("renewal scan %s failed after %s", result.scan_id, result.counts)
        raise
    finally:
        rt.locks.release(LOCK_NAME, owner)
    assert result.scan_id is not None  # started above, or the error was raised
    record = rt.store.renewals.finish(result.scan_id, result.status, result.counts)
    result.started_at, result.finished_at = record.started_at, record.finished_at
    c = result.counts
    log.info(
        "renewal scan %d (%s) %s: scanned %d, submitted %d, already queued %d, invalid %d, in %.1f s",
        record.id,
        trigger,
        result.status,
        c.scanned,
        c.submitted,
        c.already_queued,
        c.invalid,
        record.seconds or 0.0,
    )
    return result


def _scan(
    rt: Services,
    submit: SubmitMany,
    result: ScanResult,
    keeper: LockKeeper,
    batch_size: int,
    on_batch: Callable[[ScanCounts], None] | None,
) -> str:
    assert result.scan_id is not None
    with keeper:
        for page in rt.store.inventory.expiring_pages(result.horizon, batch_size):
            if keeper.lost:
                log.warning("renewal scan %d stops: its lock was lost", result.scan_id)
                return LOCK_LOST
            result.counts.add(_submit_page(submit, page))
            rt.store.renewals.progress(result.scan_id, result.counts)
            if on_batch:
                on_batch(result.counts)
    return FINISHED
