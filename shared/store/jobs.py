"""The jobs table: idempotent creation, claiming with a lease, recorded phases, final outcomes.

The records it answers are :mod:`shared.store.job_record`'s; a new job's column values and the bulk insert
are :mod:`.job_insert`'s."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from shared.errors import IdempotencyConflict, JobNotFound
from shared.jobs import (
    FINAL_STATUSES,
    AnyJob,
    JobStatus,
)
from shared.store.database import Database, affected
from shared.store.job_insert import insert_new, insert_one, mark_published, new_row
from shared.store.job_record import Claim, ClaimState, JobRecord, Written
from shared.store.lookup_finish import finish_cached_lookup
from shared.store.schema import JobRow, UTCDateTime, utcnow
from shared.store.webhooks import record_event
from shared.wait_reasons import WaitReason

_OPEN = (JobStatus.QUEUED.value, JobStatus.WAITING.value, JobStatus.PARTIAL.value)


class JobStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    # --- producing -------------------------------------------------------------------------------------
    def create(self, key: str, job: AnyJob) -> tuple[JobRecord, bool]:
        """Insert the job, or return the existing one for the same key and parameters.

        Raises IdempotencyConflict when the key exists with other parameters.
        """
        values = new_row(key, job, utcnow())
        if insert_one(self.db, values):  # one round trip: INSERT ... ON CONFLICT DO NOTHING RETURNING
            return JobRecord.from_row(JobRow(**values)), True  # as inserted
        with self.db.session() as session:
            existing = session.scalars(sa.select(JobRow).where(JobRow.key == key)).one()
            if existing.params_hash != values["params_hash"]:
                raise IdempotencyConflict(key)
            return JobRecord.from_row(existing), False

    def mark_published(self, key: str) -> None:
        """One UPDATE, its commit not waiting for the WAL flush (:func:`.job_insert.mark_published`)."""
        mark_published(self.db, key, utcnow())

    def create_many(
        self, entries: Sequence[tuple[str, AnyJob]]
    ) -> list[tuple[JobRecord, bool] | IdempotencyConflict]:
        """:meth:`create` for many jobs in ONE transaction: one ``INSERT ... ON CONFLICT (key) DO NOTHING
        RETURNING`` (Postgres, SQLite >= 3.35) for all of them, then one SELECT of the keys that were
        already there. Answers, in order, ``(record, created)`` or the IdempotencyConflict of an entry
        whose key exists with other parameters; an entry repeating an earlier entry's key is answered
        as that key's duplicate (or conflict), as consecutive :meth:`create` calls would."""
        if not entries:
            return []
        now = utcnow()
        hashes = [job.params_hash() for _key, job in entries]
        first: dict[str, int] = {}
        fresh: dict[str, dict[str, Any]] = {}
        for index, (key, job) in enumerate(entries):
            if key in first:
                continue
            first[key] = index
            fresh[key] = new_row(key, job, now, hashes[index])
        with self.db.session() as session:
            inserted = insert_new(self.db.dialect, session, list(fresh.values()))
            missing = [key for key in first if key not in inserted]
            existing: dict[str, tuple[JobRecord, str]] = {}
            if missing:
                query = sa.select(JobRow).where(JobRow.key.in_(missing))
                existing = {r.key: (JobRecord.from_row(r), r.params_hash) for r in session.scalars(query)}
        records = {key: JobRecord.from_row(JobRow(**fresh[key])) for key in inserted}  # as inserted
        answers: list[tuple[JobRecord, bool] | IdempotencyConflict] = []
        for index, (key, _job) in enumerate(entries):
            if key in inserted:
                record = records[key]
                stored_hash, created = hashes[first[key]], first[key] == index
            elif key in existing:
                (record, stored_hash), created = existing[key], False
            else:  # deleted (purged) between the INSERT and the SELECT: rare; the single path settles it
                try:
                    answers.append(self.create(key, entries[index][1]))
                except IdempotencyConflict as exc:
                    answers.append(exc)
                continue
            answers.append((record, created) if stored_hash == hashes[index] else IdempotencyConflict(key))
        return answers

    def mark_published_many(self, keys: Sequence[str]) -> None:
        """:meth:`mark_published` for many keys in one UPDATE."""
        if not keys:
            return
        with self.db.session() as session:
            session.execute(
                sa.update(JobRow)
                .where(JobRow.key.in_(list(keys)))
                .values(published_at=utcnow())
                .execution_options(synchronize_session=False)
            )

    # --- reading ---------------------------------------------------------------------------------------
    def get(self, key: str) -> JobRecord | None:
        with self.db.session() as session:
            row = session.scalars(sa.select(JobRow).where(JobRow.key == key)).one_or_none()
            return JobRecord.from_row(row) if row else None

    def require(self, key: str) -> JobRecord:
        record = self.get(key)
        if record is None:
            raise JobNotFound(key)
        return record

    def recent(
        self, status: JobStatus | None = None, kind: str | None = None, limit: int = 100
    ) -> list[JobRecord]:
        query = sa.select(JobRow).order_by(JobRow.id.desc()).limit(limit)
        if status is not None:
            query = query.where(JobRow.status == status.value)
        if kind is not None:
            query = query.where(JobRow.kind == kind)
        with self.db.session() as session:
            return [JobRecord.from_row(r) for r in session.scalars(query)]

    def counts(self) -> dict[tuple[str, str], int]:
        """(kind, status) -> number of jobs."""
        query = sa.select(JobRow.kind, JobRow.status, sa.func.count()).group_by(JobRow.kind, JobRow.status)
        with self.db.session() as session:
            return {(kind, status): n for kind, status, n in session.execute(query)}

    # --- consuming -------------------------------------------------------------------------------------
    def claim(self, key: str, owner: str, lease_seconds: float) -> Claim:
        """One transaction: queued/waiting (or running with an expired lease) -> running, attempt + 1.

        A claim also notes how long the job had been due with no delivery: since ``due_at``, or since
        the expired lease ran out (a takeover). The longest such wait is kept in
        ``max_due_wait_seconds``; the claimed record's ``due_at`` is the moment this wait began.
        """
        now = utcnow()
        running = JobRow.status == JobStatus.RUNNING.value
        claimable = sa.or_(JobRow.status.in_(_OPEN), sa.and_(running, JobRow.lease_until < now))
        with self.db.session() as session:
            row = session.scalars(
                sa.update(JobRow)
                .where(JobRow.key == key, claimable)
                .values(
                    status=JobStatus.RUNNING.value,
                    attempts=JobRow.attempts + 1,
                    lease_owner=owner,
                    lease_until=now + timedelta(seconds=lease_seconds),
                    # SET expressions see the row as it was: a takeover was due when the lease ran out.
                    due_at=sa.case((running, JobRow.lease_until), else_=JobRow.due_at),
                    republish_at=None,  # a delivery came: the sweep's back-off starts over
                    wait_reason=None,
                    wait_code=None,
                    updated_at=now,
                )
                .returning(JobRow)
            ).one_or_none()
            if row is None:
                other = session.scalars(sa.select(JobRow).where(JobRow.key == key)).one_or_none()
                if other is None:
                    return Claim(ClaimState.MISSING, None)
                record = JobRecord.from_row(other)
                return Claim(ClaimState.FINAL if record.final else ClaimState.BUSY, record)
            record = JobRecord.from_row(row)
            waited = max(0.0, (now - record.due_at).total_seconds()) if record.due_at else 0.0
            if record.max_due_wait_seconds is None or waited > record.max_due_wait_seconds:
                session.execute(
                    sa.update(JobRow)
                    .where(JobRow.id == row.id)
                    .values(max_due_wait_seconds=waited)
                    .execution_options(synchronize_session=False)
                )
                record = replace(record, max_due_wait_seconds=waited)
        return Claim(ClaimState.CLAIMED, record)

    def _owned(self, key: str, owner: str) -> sa.ColumnElement[bool]:
        return sa.and_(
            JobRow.key == key, JobRow.lease_owner == owner, JobRow.status == JobStatus.RUNNING.value
        )

    def renew_lease(self, key: str, owner: str, lease_seconds: float) -> bool:
        now = utcnow()
        with self.db.session() as session:
            result = session.execute(
                sa.update(JobRow)
                .where(self._owned(key, owner))
                .values(lease_until=now + timedelta(seconds=lease_seconds))
            )
            return affected(result) == 1

    def set_phase(self, key: str, owner: str, phase: str, data: dict[str, Any] | None = None) -> bool:
        """Record the phase before/after an outside call; only the lease holder may."""
        with self.db.session() as session:
            result = session.execute(
                sa.update(JobRow)
                .where(self._owned(key, owner))
                .values(phase=phase, phase_data=data, updated_at=utcnow())
            )
            return affected(result) == 1

    def scrub_params(self, key: str, fields: Sequence[str], mask: str = "***") -> bool:
        """``fields`` of the stored params become ``mask`` (the registry has the secret); True if changed."""
        with self.db.session() as session:
            row = session.scalars(sa.select(JobRow).where(JobRow.key == key)).one_or_none()
            hit = [f for f in fields if row is not None and f in row.params and row.params[f] != mask]
            if row is not None and hit:
                row.params = {**row.params, **dict.fromkeys(hit, mask)}
            return bool(hit)

    def finish(
        self,
        key: str,
        owner: str,
        status: JobStatus,
        result: dict[str, Any] | None = None,
        error_code: str | None = None,
        error_message: str | None = None,
    ) -> Written | None:
        """Record the final outcome; the finished record, or None if ``owner`` no longer holds the lease.

        One round trip: UPDATE ... RETURNING (Postgres, and SQLite since 3.35)."""
        if status not in FINAL_STATUSES:
            raise ValueError(f"{status} is not a final status")
        now = utcnow()
        with self.db.session() as session:
            row = session.scalars(
                sa.update(JobRow)
                .where(self._owned(key, owner))
                .values(
                    status=status.value,
                    result=result,
                    error_code=error_code,
                    error_message=error_message,
                    lease_owner=None,
                    lease_until=None,
                    due_at=None,
                    finished_at=now,
                    updated_at=now,
                )
                .returning(JobRow)
            ).one_or_none()
            if row is None:
                return None
            webhooks = record_event(session, row)  # the completion webhook, in the outcome's transaction
            return Written.of(JobRecord.from_row(row), webhooks)

    def finish_unleased(self, key: str, result: dict[str, Any]) -> Written | None:
        """Record a registration-data lookup's success without a lease (answered from the cache): one
        UPDATE, only while the job is open and is such a lookup (not an availability one); the finished
        record, or None (then the ordinary path takes the delivery).

        One round trip for a job without a callback (:mod:`.lookup_finish`); one with a callback is
        finished in a session, its completion webhook recorded in the same transaction."""
        now = utcnow()
        done = finish_cached_lookup(self.db, key, result, now)
        if done is not None:
            return Written.of(done, ())
        availability = sa.func.coalesce(JobRow.params["availability"].as_boolean(), sa.false())
        with self.db.session() as session:
            row = session.scalars(
                sa.update(JobRow)
                .where(
                    JobRow.key == key,
                    JobRow.status.in_(_OPEN),
                    JobRow.kind == "lookup",
                    sa.not_(availability),
                    JobRow.callback_url.is_not(None),  # the others: finish_cached_lookup's
                )
                .values(
                    status=JobStatus.SUCCEEDED.value,
                    result=result,
                    attempts=JobRow.attempts + 1,
                    due_at=None,
                    wait_reason=None,
                    wait_code=None,
                    finished_at=now,
                    updated_at=now,
                )
                .returning(JobRow)
            ).one_or_none()
            if row is None:
                return None
            webhooks = record_event(session, row)  # the completion webhook, in the outcome's transaction
            return Written.of(JobRecord.from_row(row), webhooks)

    def defer(
        self,
        key: str,
        owner: str,
        due_at: datetime,
        reason: str,
        count_attempt: bool = True,
        partial: dict[str, Any] | None = None,
        code: str | None = None,
    ) -> bool:
        """Give the job back as ``waiting`` until ``due_at`` (``partial``: :meth:`defer_partial`); False when
        ``owner`` no longer holds the lease. A limiter or breaker wait is not an attempt. ``reason`` is the
        text, ``code`` its label (:class:`shared.wait_reasons.WaitReason`)."""
        if partial is not None:
            return self.defer_partial(key, owner, due_at, reason, partial, count_attempt, code) is not None
        deferral = self._deferral(key, owner, due_at, reason, count_attempt, code=code)
        with self.db.session() as session:
            return affected(session.execute(deferral)) == 1

    def defer_partial(
        self,
        key: str,
        owner: str,
        due_at: datetime,
        reason: str,
        partial: dict[str, Any],
        count_attempt: bool = True,
        code: str | None = None,
    ) -> Written | None:
        """Give a lookup back as ``partial`` until ``due_at``: ``partial`` (its incomplete answer) is its
        result until the next delivery completes it. A partial answer is a webhook event too, recorded in
        the same transaction. The record (with its new outbox ids), None when ``owner`` lost the lease."""
        update = self._deferral(key, owner, due_at, reason, count_attempt, partial, code)
        with self.db.session() as session:
            row = session.scalars(update.returning(JobRow)).one_or_none()
            if row is None:
                return None
            return Written.of(JobRecord.from_row(row), record_event(session, row))

    def _deferral(
        self,
        key: str,
        owner: str,
        due_at: datetime,
        reason: str,
        count_attempt: bool,
        partial: dict[str, Any] | None = None,
        code: str | None = None,
    ) -> sa.Update:
        """The UPDATE giving the job back (``waiting``, or ``partial`` with that answer) while owned."""
        values: dict[str, Any] = dict(
            status=JobStatus.PARTIAL.value if partial is not None else JobStatus.WAITING.value,
            lease_owner=None,
            lease_until=None,
            due_at=due_at,
            wait_reason=reason,
            wait_code=code,
            updated_at=utcnow(),
        )
        if not count_attempt:
            values["attempts"] = JobRow.attempts - 1
        if partial is not None:
            values["result"] = partial
        return sa.update(JobRow).where(self._owned(key, owner)).values(**values)

    # --- maintenance -----------------------------------------------------------------------------------
    def stranded(self, grace: timedelta, limit: int = 500) -> list[JobRecord]:
        """Jobs whose message may be gone: queued/waiting more than ``grace`` past due and past their
        ``republish_at`` (the sweep's back-off), or running on an expired lease."""
        now = utcnow()
        overdue = sa.and_(
            JobRow.status.in_(_OPEN),
            JobRow.due_at < now - grace,
            sa.or_(JobRow.republish_at.is_(None), JobRow.republish_at <= now),
        )
        expired = sa.and_(JobRow.status == JobStatus.RUNNING.value, JobRow.lease_until < now)
        query = sa.select(JobRow).where(sa.or_(overdue, expired)).order_by(JobRow.id).limit(limit)
        with self.db.session() as session:
            return [JobRecord.from_row(r) for r in session.scalars(query)]

    def release_expired(self, key: str) -> JobRecord | None:
        """A running job whose lease expired (its worker died) goes back to queued for the next delivery,
        due since its lease ran out. The released record, or None if it was not (or no longer) expired."""
        now = utcnow()
        with self.db.session() as session:
            row = session.scalars(
                sa.update(JobRow)
                .where(JobRow.key == key, JobRow.status == JobStatus.RUNNING.value, JobRow.lease_until < now)
                .values(
                    status=JobStatus.QUEUED.value,
                    lease_owner=None,
                    lease_until=None,
                    due_at=JobRow.lease_until,  # the old value: due since the lease ran out
                    wait_reason="taken over after the lease expired",
                    wait_code=WaitReason.LEASE_EXPIRED.value,
                    updated_at=now,
                )
                .returning(JobRow)
            ).one_or_none()
            return JobRecord.from_row(row) if row is not None else None

    def mark_republished(self, key: str, due_at: datetime, next_at: datetime) -> None:
        """Count a sweep republish and hold the next one until ``next_at``, unless the job moved on
        meanwhile (a delivery claimed it, so its due time and back-off start over)."""
        unchanged = sa.and_(JobRow.status.in_(_OPEN), JobRow.due_at == due_at)
        with self.db.session() as session:
            session.execute(
                sa.update(JobRow)
                .where(JobRow.key == key)
                .values(
                    republishes=JobRow.republishes + 1,
                    republish_at=sa.case(
                        (unchanged, sa.literal(next_at, UTCDateTime())), else_=JobRow.republish_at
                    ),
                )
            )

    def purge(self, finished_before: datetime) -> int:
        with self.db.session() as session:
            result = session.execute(
                sa.delete(JobRow).where(
                    JobRow.status.in_([s.value for s in FINAL_STATUSES]), JobRow.finished_at < finished_before
                )
            )
            return affected(result)
