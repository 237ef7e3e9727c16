"""Tables: jobs, domains (inventory), api_calls (audit), breaker_events, registry_contacts, renewal_scans,
replays, api_tokens, webhook_deliveries and webhook_attempts (completion webhooks), hook_receipts
(inbound registrar webhooks)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores them naive)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: sa.JSON(), date: sa.Date()}


class JobRow(Base):
    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(sa.String(200), unique=True)
    kind: Mapped[str] = mapped_column(sa.String(16))
    domain: Mapped[str] = mapped_column(sa.String(253), index=True)
    registrar: Mapped[str | None] = mapped_column(sa.String(32))
    params: Mapped[dict[str, Any]]
    params_hash: Mapped[str] = mapped_column(sa.String(64))
    status: Mapped[str] = mapped_column(sa.String(16), index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    result: Mapped[dict[str, Any] | None]
    error_code: Mapped[str | None] = mapped_column(sa.String(64))
    error_message: Mapped[str | None] = mapped_column(sa.Text)
    # Recovery: the last recorded phase around an outside call, and data to reconcile it.
    phase: Mapped[str | None] = mapped_column(sa.String(32))
    phase_data: Mapped[dict[str, Any] | None]
    lease_owner: Mapped[str | None] = mapped_column(sa.String(200))
    lease_until: Mapped[datetime | None]
    due_at: Mapped[datetime | None] = mapped_column(index=True)
    wait_reason: Mapped[str | None] = mapped_column(sa.Text)
    # Why it waits as a stable label (shared.wait_reasons.WaitReason; NULL: none stored); migration 0011.
    wait_code: Mapped[str | None] = mapped_column(sa.String(32))
    published_at: Mapped[datetime | None]
    # Sweep: no republish of this open job before this time (None: from due_at + the grace); a claim
    # clears it. How many times the sweep republished it.
    republish_at: Mapped[datetime | None]
    republishes: Mapped[int] = mapped_column(default=0, server_default="0")
    # The longest this job stayed due (queued/waiting past due_at, or running on an expired lease) before
    # a delivery claimed it, in seconds: the recovery figure of the README's guarantees.
    max_due_wait_seconds: Mapped[float | None] = mapped_column(sa.Float)
    # Completion webhook: where to POST the outcome, and the API token (name) whose secret signs it.
    callback_url: Mapped[str | None] = mapped_column(sa.String(2048))
    submitted_by: Mapped[str | None] = mapped_column(sa.String(64), index=True)  # API reads by owner
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(index=True)


class DomainRow(Base):
    __tablename__ = "domains"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    domain: Mapped[str] = mapped_column(sa.String(253), unique=True)
    registrar: Mapped[str] = mapped_column(sa.String(32))
    expires_at: Mapped[date | None] = mapped_column(index=True)
    auto_renew: Mapped[bool] = mapped_column(default=True)
    # The registrar's own auto-renew (None = never read nor set by regq); see migration 0009.
    registrar_autorenew: Mapped[bool | None] = mapped_column(default=None)
    status: Mapped[str] = mapped_column(sa.String(32), default="active")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ApiCallRow(Base):
    __tablename__ = "api_calls"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    provider: Mapped[str] = mapped_column(sa.String(64), index=True)
    operation: Mapped[str] = mapped_column(sa.String(64))
    method: Mapped[str] = mapped_column(sa.String(8))
    path: Mapped[str] = mapped_column(sa.String(500))
    status: Mapped[int | None]
    latency_ms: Mapped[float]
    error_code: Mapped[str | None] = mapped_column(sa.String(64))
    job_key: Mapped[str | None] = mapped_column(sa.String(200), index=True)
    attempt: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class BreakerEventRow(Base):
    __tablename__ = "breaker_events"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    provider: Mapped[str] = mapped_column(sa.String(64), index=True)
    from_state: Mapped[str] = mapped_column(sa.String(16))
    to_state: Mapped[str] = mapped_column(sa.String(16))
    reason: Mapped[str] = mapped_column(sa.Text)
    failures: Mapped[int] = mapped_column(default=0)
    opened_until: Mapped[float | None] = mapped_column(sa.Float)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class RegistryContactRow(Base):
    """One registry contact per distinct registrant (ROTLD ``cid``), created once and reused."""

    __tablename__ = "registry_contacts"
    __table_args__ = (sa.UniqueConstraint("registrar", "fingerprint"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    registrar: Mapped[str] = mapped_column(sa.String(32))
    fingerprint: Mapped[str] = mapped_column(sa.String(64))
    contact_id: Mapped[str | None] = mapped_column(sa.String(64))
    claimed_by: Mapped[str | None] = mapped_column(sa.String(200))
    claimed_until: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class RenewalScanRow(Base):
    """One run of the renewal scan (beat or ``regq renewals run-now``): its counts, start and end."""

    __tablename__ = "renewal_scans"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    trigger: Mapped[str] = mapped_column(sa.String(16))
    owner: Mapped[str] = mapped_column(sa.String(200))
    window_days: Mapped[int]
    horizon: Mapped[date]
    status: Mapped[str] = mapped_column(sa.String(16))
    scanned: Mapped[int] = mapped_column(default=0)
    submitted: Mapped[int] = mapped_column(default=0)
    already_queued: Mapped[int] = mapped_column(default=0)
    invalid: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(sa.Text)
    started_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    finished_at: Mapped[datetime | None]


class ReplayRow(Base):
    """One operator replay of a failed job (``regq replay``): what it was, who replayed it, when."""

    __tablename__ = "replays"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    job_key: Mapped[str] = mapped_column(sa.String(200), index=True)
    kind: Mapped[str] = mapped_column(sa.String(16))
    domain: Mapped[str] = mapped_column(sa.String(253))
    previous_status: Mapped[str] = mapped_column(sa.String(16))
    error_code: Mapped[str | None] = mapped_column(sa.String(64))
    attempts: Mapped[int] = mapped_column(default=0)
    phase: Mapped[str | None] = mapped_column(sa.String(32))
    failed_at: Mapped[datetime | None]
    replayed_by: Mapped[str] = mapped_column(sa.String(200))
    reason: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class ApiTokenRow(Base):
    """One HTTP API token (``regq api-token create``): only the SHA-256 of its secret is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(sa.String(64), unique=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    scopes: Mapped[str] = mapped_column(sa.String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]
    # Signs this token's completion webhooks (kept in clear: it must be usable to sign), and the
    # callback used when a job submitted with this token carries none.
    webhook_secret: Mapped[str | None] = mapped_column(sa.String(128))
    callback_url: Mapped[str | None] = mapped_column(sa.String(2048))
    # The producer (tenant) this token acts for: a read token sees the jobs of every token of its owner.
    owner: Mapped[str] = mapped_column(sa.String(64), index=True)
    # From then on the token is refused like an unknown one (None: it never expires).
    expires_at: Mapped[datetime | None]
    # The signing secret a rotation replaced: it still signs (beside the new one) until previous_secret_until.
    previous_webhook_secret: Mapped[str | None] = mapped_column(sa.String(128))
    previous_secret_until: Mapped[datetime | None]


class WebhookDeliveryRow(Base):
    """The completion-webhook outbox: one row per event to deliver, written in the transaction that
    records the job's outcome, delivered at least once by the maintenance task."""

    __tablename__ = "webhook_deliveries"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(sa.String(200), unique=True)
    job_key: Mapped[str] = mapped_column(sa.String(200), index=True)
    event: Mapped[str] = mapped_column(sa.String(32))
    url: Mapped[str] = mapped_column(sa.String(2048))
    token_name: Mapped[str | None] = mapped_column(sa.String(64))
    payload: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(sa.String(16), index=True)
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    next_attempt_at: Mapped[datetime | None] = mapped_column(index=True)
    # No attempt after this (then ``dead``); None: ``created_at`` + REGQ_WEBHOOK_RETRY_HORIZON_SECONDS.
    # A replay sets it to a new horizon from the replay.
    give_up_at: Mapped[datetime | None]
    last_status_code: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[datetime | None]


class WebhookAttemptRow(Base):
    """One attempt to deliver a completion webhook: the answer's status or the error, and how long."""

    __tablename__ = "webhook_attempts"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    delivery_id: Mapped[int] = mapped_column(index=True)
    attempt: Mapped[int]
    status_code: Mapped[int | None]
    error: Mapped[str | None] = mapped_column(sa.Text)
    latency_ms: Mapped[float] = mapped_column(sa.Float)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class HookReceiptRow(Base):
    """One inbound registrar webhook (``POST /v1/hooks/{registrar}``), whatever became of it."""

    __tablename__ = "hook_receipts"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    registrar: Mapped[str] = mapped_column(sa.String(32))
    event_id: Mapped[str | None] = mapped_column(sa.String(200), index=True)
    event_type: Mapped[str | None] = mapped_column(sa.String(64))
    domain: Mapped[str | None] = mapped_column(sa.String(253))
    outcome: Mapped[str] = mapped_column(sa.String(32))
    detail: Mapped[str | None] = mapped_column(sa.Text)
    signed_at: Mapped[datetime | None]
    received_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
