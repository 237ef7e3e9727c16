"""Replays: a failed job goes back to ``queued`` under the same key, and the replay is recorded.

A replay is one transaction: the ``replays`` row is copied from the job while it is ``failed``
(INSERT ... SELECT), then the job is reset on the same condition (UPDATE ... WHERE status = 'failed').
Two operators replaying the same key at once: one of them replays it, the other is refused (the job is
``queued`` by then). The job keeps its key, its parameters and its recorded phase (``phase`` and
``phase_data``): a register that failed after an unanswered send is reconciled by its next delivery,
never sent blindly, so the effect stays exactly-once. Attempts start again from zero.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from shared.errors import JobNotFound
from shared.jobs import JobStatus
from shared.store.database import Database
from shared.store.job_record import JobRecord
from shared.store.schema import JobRow, ReplayRow, UTCDateTime, utcnow

#: Only a failed job may be replayed: a rejected one would be rejected again (same parameters), an open
#: or running one is already on its way, a succeeded one must never happen twice.
REPLAYABLE = JobStatus.FAILED


class ReplayRefused(ValueError):
    """The job exists but is not failed; ``status`` is what it is."""

    def __init__(self, key: str, status: JobStatus) -> None:
        self.key = key
        self.status = status
        super().__init__(
            f"job {key!r} is {status.value}, not failed: only a failed job can be replayed"
            + (" (it is already on its way)" if not status.final else "")
        )


@dataclass(frozen=True)
class ReplayRecord:
    id: int
    job_key: str
    kind: str
    domain: str
    previous_status: str
    error_code: str | None
    attempts: int
    phase: str | None
    failed_at: datetime | None
    replayed_by: str
    reason: str | None
    created_at: datetime

    @classmethod
    def from_row(cls, row: ReplayRow) -> ReplayRecord:
        return cls(
            id=row.id,
            job_key=row.job_key,
            kind=row.kind,
            domain=row.domain,
            previous_status=row.previous_status,
            error_code=row.error_code,
            attempts=row.attempts,
            phase=row.phase,
            failed_at=row.failed_at,
            replayed_by=row.replayed_by,
            reason=row.reason,
            created_at=row.created_at,
        )


class _Raced(Exception):
    """The job stopped being failed inside the replay's transaction (rolls it back)."""


def _reset(replayed_by: str, now: datetime) -> dict[str, Any]:
    """A replayed job: queued and due now, attempts from zero, no outcome; phase and phase_data kept."""
    return dict(
        status=JobStatus.QUEUED.value,
        attempts=0,
        result=None,
        error_code=None,
        error_message=None,
        lease_owner=None,
        lease_until=None,
        due_at=now,
        republish_at=None,
        published_at=None,
        finished_at=None,
        wait_reason=f"replayed by {replayed_by[:100]}",
        updated_at=now,
    )


class Replays:
    def __init__(self, db: Database) -> None:
        self.db = db

    def replay(self, key: str, replayed_by: str, reason: str | None = None) -> tuple[JobRecord, ReplayRecord]:
        """Reset the failed job ``key`` to queued (due now) and record the replay, in one transaction.

        The caller publishes the returned job (``tasks.publish.publish_record``); should that publish be
        lost, the sweep republishes it like any queued job. Raises JobNotFound or ReplayRefused."""
        now = utcnow()
        failed = sa.and_(JobRow.key == key, JobRow.status == REPLAYABLE.value)
        copied = sa.select(
            JobRow.key,
            JobRow.kind,
            JobRow.domain,
            JobRow.status,
            JobRow.error_code,
            JobRow.attempts,
            JobRow.phase,
            JobRow.finished_at,
            sa.literal(replayed_by[:200], sa.String(200)),
            sa.literal(reason, sa.Text()),
            sa.literal(now, UTCDateTime()),
        ).where(failed)
        columns = [
            "job_key",
            "kind",
            "domain",
            "previous_status",
            "error_code",
            "attempts",
            "phase",
            "failed_at",
            "replayed_by",
            "reason",
            "created_at",
        ]
        try:
            with self.db.session() as session:
                replay_id = session.scalars(
                    sa.insert(ReplayRow).from_select(columns, copied).returning(ReplayRow.id)
                ).one_or_none()
                if replay_id is not None:
                    row = session.scalars(
                        sa.update(JobRow).where(failed).values(**_reset(replayed_by, now)).returning(JobRow)
                    ).one_or_none()
                    if row is None:  # replayed by someone else between the two statements
                        raise _Raced
                    record = JobRecord.from_row(row)
                    return record, ReplayRecord.from_row(session.get_one(ReplayRow, replay_id))
        except _Raced:
            pass  # rolled back: nothing recorded
        current = self._current(key)
        raise ReplayRefused(key, current.status)

    def _current(self, key: str) -> JobRecord:
        with self.db.session() as session:
            row = session.scalars(sa.select(JobRow).where(JobRow.key == key)).one_or_none()
            if row is None:
                raise JobNotFound(key)
            return JobRecord.from_row(row)

    def failed(self, since: datetime, kind: str | None = None, batch: int = 500) -> Iterator[JobRecord]:
        """Failed jobs that finished at or after ``since`` (optionally of one ``kind``), oldest first,
        read in keyset-paginated batches of ``batch`` rows (bounded memory, whatever the count)."""
        after = 0
        while True:
            query = (
                sa.select(JobRow)
                .where(JobRow.status == REPLAYABLE.value, JobRow.finished_at >= since, JobRow.id > after)
                .order_by(JobRow.id)
                .limit(batch)
            )
            if kind is not None:
                query = query.where(JobRow.kind == kind)
            with self.db.session() as session:
                rows = list(session.scalars(query))
                records = [JobRecord.from_row(r) for r in rows]
            yield from records
            if len(rows) < batch:
                return
            after = rows[-1].id

    def history(self, key: str | None = None, limit: int = 100) -> list[ReplayRecord]:
        """The newest replays (of ``key`` only, when given), newest first."""
        query = sa.select(ReplayRow).order_by(ReplayRow.id.desc()).limit(limit)
        if key is not None:
            query = query.where(ReplayRow.job_key == key)
        with self.db.session() as session:
            return [ReplayRecord.from_row(r) for r in session.scalars(query)]

    def count(self) -> int:
        with self.db.session() as session:
            return int(session.scalar(sa.select(sa.func.count()).select_from(ReplayRow)) or 0)
