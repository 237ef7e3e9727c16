"""The renewal scan's records: one ``renewal_scans`` row per run, and the renewals that failed for good.

A scan row is written when the scan starts (status ``running``), its counts after every batch, and its
end (``finished``, ``lock_lost`` or ``failed`` with the error): a scan that died half-way stays visible
as ``running`` with the counts it reached.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from shared.jobs import JobKind, JobStatus
from shared.store.database import Database
from shared.store.schema import DomainRow, JobRow, RenewalScanRow, utcnow


@dataclass
class ScanCounts:
    """What a scan did: due domains read, renew jobs created, terms that already had a job, refused."""

    scanned: int = 0
    submitted: int = 0
    already_queued: int = 0
    invalid: int = 0

    def add(self, other: ScanCounts) -> None:
        self.scanned += other.scanned
        self.submitted += other.submitted
        self.already_queued += other.already_queued
        self.invalid += other.invalid


@dataclass(frozen=True)
class ScanRecord:
    id: int
    trigger: str
    owner: str
    window_days: int
    horizon: date
    status: str
    counts: ScanCounts
    error: str | None
    started_at: datetime
    finished_at: datetime | None

    @property
    def seconds(self) -> float | None:
        return (self.finished_at - self.started_at).total_seconds() if self.finished_at else None

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.update(data.pop("counts"))
        data["seconds"] = self.seconds
        return data

    @classmethod
    def from_row(cls, row: RenewalScanRow) -> ScanRecord:
        counts = ScanCounts(row.scanned, row.submitted, row.already_queued, row.invalid)
        return cls(
            row.id,
            row.trigger,
            row.owner,
            row.window_days,
            row.horizon,
            row.status,
            counts,
            row.error,
            row.started_at,
            row.finished_at,
        )


@dataclass(frozen=True)
class FailedRenewal:
    """A renew that failed for good, and how long its domain has left."""

    key: str
    domain: str
    registrar: str | None
    term: date | None  # the expiry the renewal started from
    expires_at: date | None  # the inventory's expiry now (None: not in the inventory)
    days_left: int | None
    error_code: str | None
    error_message: str | None
    finished_at: datetime | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class RenewalScans:
    def __init__(self, db: Database) -> None:
        self.db = db

    def start(self, trigger: str, owner: str, window_days: int, horizon: date) -> int:
        row = RenewalScanRow(
            trigger=trigger,
            owner=owner,
            window_days=window_days,
            horizon=horizon,
            status="running",
            scanned=0,
            submitted=0,
            already_queued=0,
            invalid=0,
            started_at=utcnow(),
        )
        with self.db.session() as session:
            session.add(row)
            session.flush()
            return row.id

    def progress(self, scan_id: int, counts: ScanCounts) -> None:
        with self.db.session() as session:
            session.execute(
                sa.update(RenewalScanRow).where(RenewalScanRow.id == scan_id).values(**asdict(counts))
            )

    def finish(self, scan_id: int, status: str, counts: ScanCounts, error: str | None = None) -> ScanRecord:
        with self.db.session() as session:
            row = session.scalars(
                sa.update(RenewalScanRow)
                .where(RenewalScanRow.id == scan_id)
                .values(status=status, error=error, finished_at=utcnow(), **asdict(counts))
                .returning(RenewalScanRow)
            ).one()
            return ScanRecord.from_row(row)

    def get(self, scan_id: int) -> ScanRecord | None:
        with self.db.session() as session:
            row = session.get(RenewalScanRow, scan_id)
            return ScanRecord.from_row(row) if row else None

    def recent(self, limit: int = 20) -> list[ScanRecord]:
        query = sa.select(RenewalScanRow).order_by(RenewalScanRow.id.desc()).limit(limit)
        with self.db.session() as session:
            return [ScanRecord.from_row(r) for r in session.scalars(query)]

    def existing(self, keys: Sequence[str]) -> dict[str, JobStatus]:
        """The status of each of ``keys`` that names a job (one SELECT): what a dry run reports."""
        if not keys:
            return {}
        query = sa.select(JobRow.key, JobRow.status).where(JobRow.key.in_(list(keys)))
        with self.db.session() as session:
            return {key: JobStatus(status) for key, status in session.execute(query)}

    def failed(self, today: date, limit: int = 500) -> list[FailedRenewal]:
        """Renews that failed for good whose term is still the domain's current one (not renewed since
        by another job or by hand), soonest expiry first."""
        query = (
            sa.select(JobRow, DomainRow.expires_at)
            .outerjoin(DomainRow, DomainRow.domain == JobRow.domain)
            .where(JobRow.kind == JobKind.RENEW.value, JobRow.status == JobStatus.FAILED.value)
            .order_by(JobRow.finished_at.desc())
        )
        found: list[FailedRenewal] = []
        with self.db.session() as session:
            for row, expires_at in session.execute(query):
                raw = (row.params or {}).get("current_expiry")
                term = date.fromisoformat(raw) if raw else None
                if term is not None and expires_at is not None and expires_at > term:
                    continue  # renewed since: no longer at risk
                until = expires_at or term
                found.append(
                    FailedRenewal(
                        key=row.key,
                        domain=row.domain,
                        registrar=row.registrar,
                        term=term,
                        expires_at=expires_at,
                        days_left=(until - today).days if until else None,
                        error_code=row.error_code,
                        error_message=row.error_message,
                        finished_at=row.finished_at,
                    )
                )
        found.sort(key=lambda f: (f.days_left is None, f.days_left or 0, f.domain))
        return found[:limit]
