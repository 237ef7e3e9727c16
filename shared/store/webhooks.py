"""The completion-webhook outbox (``webhook_deliveries``), its attempts (``webhook_attempts``), and the
events it holds.

:func:`record_event` adds the outbox row inside the session (so the transaction) that records a job's
outcome: an outcome is never committed without its event, nor an event without its outcome. It answers
the new row's id, which the store hands back with the outcome (``Written.webhooks``), so the task that
recorded it publishes the delivery at once (``tasks.delivery.deliver``).

The event: a job with a callback makes one each time it reaches a final state (``job.succeeded``,
``job.failed``, ``job.rejected``; a replayed job that finishes again makes another) and each time a
lookup stores a partial answer (``job.partial``). The payload is what ``GET /v1/jobs/{key}`` says of the
outcome, plus the event's ``id`` (receivers de-duplicate on it: delivery is at least once) and
``occurred_at``. Signing and sending it is ``shared.webhooks.outbound``'s, which imports the store; the
store never imports ``shared.webhooks``. A signing secret is made here (:func:`new_secret`): an API token
gets its own when the store creates it.

A delivery is ``pending`` (due at ``next_attempt_at``), ``sending`` (claimed: ``next_attempt_at`` is
then the claim's lease), ``delivered`` or ``dead`` (refused by the outbound policy, or out of time).
:meth:`WebhookDeliveries.claim` is one guarded UPDATE (``status`` pending or sending, due) that also
counts the attempt; that count fences the claim: an attempt whose lease lapsed and was claimed again
records its answer but can no longer change the row. The same UPDATE works on Postgres (the second of
two concurrent UPDATEs re-reads the row after the first commits and finds it no longer due) and SQLite
(writes are serialized).
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from shared.jobs import JobStatus
from shared.store.database import Database, affected
from shared.store.schema import JobRow, WebhookAttemptRow, WebhookDeliveryRow, utcnow
from shared.timestamps import rfc3339

EVENTS: dict[str, str] = {
    JobStatus.SUCCEEDED.value: "job.succeeded",
    JobStatus.FAILED.value: "job.failed",
    JobStatus.REJECTED.value: "job.rejected",
    JobStatus.PARTIAL.value: "job.partial",
}
SECRET_PREFIX = "whsec_"


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    DELIVERED = "delivered"
    DEAD = "dead"


_CLAIMABLE = (DeliveryStatus.PENDING.value, DeliveryStatus.SENDING.value)


def new_secret() -> str:
    """A webhook signing secret: ``whsec_`` and 32 random bytes (URL-safe base64)."""
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def event_name(status: str) -> str | None:
    """The event a job reaching ``status`` makes, None for a status that makes none (queued, waiting)."""
    return EVENTS.get(status)


def new_event_id() -> str:
    return f"evt_{uuid.uuid4().hex}"


def event_payload(
    *,
    event_id: str,
    event: str,
    key: str,
    kind: str,
    domain: str,
    status: str,
    result: dict[str, Any] | None,
    error_code: str | None,
    error_message: str | None,
    occurred_at: datetime,
) -> dict[str, Any]:
    """The JSON document a receiver gets (README, "Completion webhooks")."""
    return {
        "id": event_id,
        "event": event,
        "key": key,
        "kind": kind,
        "domain": domain,
        "status": status,
        "result": result,
        "error_code": error_code,
        "error_message": error_message,
        "occurred_at": rfc3339(occurred_at),
    }


def record_event(session: Session, row: JobRow) -> tuple[int, ...]:
    """Add the completion event of ``row``'s new state to the outbox, in ``session``'s transaction: the
    new delivery's id; none for a job without a callback or a state that makes no event."""
    if not row.callback_url:
        return ()
    event = event_name(row.status)
    if event is None:
        return ()
    now = utcnow()
    event_id = new_event_id()
    payload = event_payload(
        event_id=event_id,
        event=event,
        key=row.key,
        kind=row.kind,
        domain=row.domain,
        status=row.status,
        result=row.result,
        error_code=row.error_code,
        error_message=row.error_message,
        occurred_at=row.finished_at or row.updated_at or now,
    )
    delivery = WebhookDeliveryRow(
        event_id=event_id,
        job_key=row.key,
        event=event,
        url=row.callback_url,
        token_name=row.submitted_by,
        payload=payload,
        status=DeliveryStatus.PENDING.value,
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    session.add(delivery)
    session.flush()  # the INSERT, in the outcome's transaction: the row's id
    return (delivery.id,)


@dataclass(frozen=True)
class Delivery:
    id: int
    event_id: str
    job_key: str
    event: str
    url: str
    token_name: str | None
    payload: dict[str, Any]
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime | None
    give_up_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None

    @classmethod
    def from_row(cls, row: WebhookDeliveryRow) -> Delivery:
        return cls(
            id=row.id,
            event_id=row.event_id,
            job_key=row.job_key,
            event=row.event,
            url=row.url,
            token_name=row.token_name,
            payload=row.payload,
            status=DeliveryStatus(row.status),
            attempts=row.attempts,
            next_attempt_at=row.next_attempt_at,
            give_up_at=row.give_up_at,
            last_status_code=row.last_status_code,
            last_error=row.last_error,
            created_at=row.created_at,
            delivered_at=row.delivered_at,
        )

    def deadline(self, horizon: timedelta) -> datetime:
        """No attempt after this: the replay's horizon, else ``horizon`` after the event."""
        return self.give_up_at or self.created_at + horizon


@dataclass(frozen=True)
class Attempt:
    delivery_id: int
    attempt: int
    status_code: int | None
    error: str | None
    latency_ms: float
    created_at: datetime

    @classmethod
    def from_row(cls, row: WebhookAttemptRow) -> Attempt:
        return cls(row.delivery_id, row.attempt, row.status_code, row.error, row.latency_ms, row.created_at)


class WebhookDeliveries:
    def __init__(self, db: Database) -> None:
        self.db = db

    # --- delivering ------------------------------------------------------------------------------------
    def due(self, limit: int = 100, now: datetime | None = None) -> list[int]:
        """Ids of deliveries due now (pending and due, or claimed on a lapsed lease), soonest first."""
        moment = now or utcnow()
        query = (
            sa.select(WebhookDeliveryRow.id)
            .where(WebhookDeliveryRow.status.in_(_CLAIMABLE), WebhookDeliveryRow.next_attempt_at <= moment)
            .order_by(WebhookDeliveryRow.next_attempt_at, WebhookDeliveryRow.id)
            .limit(limit)
        )
        with self.db.session() as session:
            return list(session.scalars(query))

    def claim(self, delivery_id: int, lease_seconds: float) -> Delivery | None:
        """Take the delivery for one attempt (counted now), if it is due and nobody holds it; else None."""
        now = utcnow()
        with self.db.session() as session:
            row = session.scalars(
                sa.update(WebhookDeliveryRow)
                .where(
                    WebhookDeliveryRow.id == delivery_id,
                    WebhookDeliveryRow.status.in_(_CLAIMABLE),
                    WebhookDeliveryRow.next_attempt_at <= now,
                )
                .values(
                    status=DeliveryStatus.SENDING.value,
                    attempts=WebhookDeliveryRow.attempts + 1,
                    next_attempt_at=now + timedelta(seconds=lease_seconds),
                )
                .returning(WebhookDeliveryRow)
            ).one_or_none()
            return Delivery.from_row(row) if row is not None else None

    def record_attempt(
        self,
        claimed: Delivery,
        *,
        status_code: int | None,
        error: str | None,
        latency_ms: float,
        outcome: DeliveryStatus,
        next_attempt_at: datetime | None = None,
    ) -> bool:
        """One ``webhook_attempts`` row, and the delivery's new state (``outcome``: delivered, dead, or
        pending again at ``next_attempt_at``) unless another claim took it meanwhile (False then)."""
        now = utcnow()
        values: dict[str, Any] = dict(
            status=outcome.value,
            last_status_code=status_code,
            last_error=error,
            next_attempt_at=next_attempt_at if outcome is DeliveryStatus.PENDING else None,
        )
        if outcome is DeliveryStatus.DELIVERED:
            values["delivered_at"] = now
        with self.db.session() as session:
            session.add(
                WebhookAttemptRow(
                    delivery_id=claimed.id,
                    attempt=claimed.attempts,
                    status_code=status_code,
                    error=error,
                    latency_ms=latency_ms,
                    created_at=now,
                )
            )
            result = session.execute(
                sa.update(WebhookDeliveryRow)
                .where(
                    WebhookDeliveryRow.id == claimed.id,
                    WebhookDeliveryRow.status == DeliveryStatus.SENDING.value,
                    WebhookDeliveryRow.attempts == claimed.attempts,
                )
                .values(**values)
            )
            return affected(result) == 1

    # --- reading and operating -------------------------------------------------------------------------
    def get(self, delivery_id: int) -> Delivery | None:
        with self.db.session() as session:
            row = session.get(WebhookDeliveryRow, delivery_id)
            return Delivery.from_row(row) if row is not None else None

    def recent(
        self, status: DeliveryStatus | None = None, job_key: str | None = None, limit: int = 100
    ) -> list[Delivery]:
        """Newest first."""
        query = sa.select(WebhookDeliveryRow).order_by(WebhookDeliveryRow.id.desc()).limit(limit)
        if status is not None:
            query = query.where(WebhookDeliveryRow.status == status.value)
        if job_key is not None:
            query = query.where(WebhookDeliveryRow.job_key == job_key)
        with self.db.session() as session:
            return [Delivery.from_row(r) for r in session.scalars(query)]

    def attempts(self, delivery_id: int) -> list[Attempt]:
        query = (
            sa.select(WebhookAttemptRow)
            .where(WebhookAttemptRow.delivery_id == delivery_id)
            .order_by(WebhookAttemptRow.id)
        )
        with self.db.session() as session:
            return [Attempt.from_row(r) for r in session.scalars(query)]

    def purge(self, created_before: datetime) -> int:
        """Forget delivered and dead deliveries (and their attempts) older than the retention."""
        ended = (DeliveryStatus.DELIVERED.value, DeliveryStatus.DEAD.value)
        old = sa.select(WebhookDeliveryRow.id).where(
            WebhookDeliveryRow.status.in_(ended), WebhookDeliveryRow.created_at < created_before
        )
        with self.db.session() as session:
            session.execute(sa.delete(WebhookAttemptRow).where(WebhookAttemptRow.delivery_id.in_(old)))
            return affected(
                session.execute(sa.delete(WebhookDeliveryRow).where(WebhookDeliveryRow.id.in_(old)))
            )

    def replay(
        self, horizon: timedelta, delivery_id: int | None = None, job_key: str | None = None
    ) -> list[int]:
        """Make deliveries (one by id, or every one of a job) due now, with a new retry horizon from now;
        one being sent right now is left alone. The ids replayed."""
        if (delivery_id is None) == (job_key is None):
            raise ValueError("replay one delivery id or one job key")
        now = utcnow()
        target = (
            WebhookDeliveryRow.id == delivery_id
            if delivery_id is not None
            else WebhookDeliveryRow.job_key == job_key
        )
        with self.db.session() as session:
            rows = session.scalars(
                sa.update(WebhookDeliveryRow)
                .where(target, WebhookDeliveryRow.status != DeliveryStatus.SENDING.value)
                .values(status=DeliveryStatus.PENDING.value, next_attempt_at=now, give_up_at=now + horizon)
                .returning(WebhookDeliveryRow.id)
            )
            return sorted(rows)
