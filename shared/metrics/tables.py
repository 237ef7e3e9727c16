"""What the exporter reads from the store on each scrape: a handful of bounded aggregate queries.

Each query is one GROUP BY or MIN over an indexed column (jobs.status, jobs.due_at, domains.expires_at,
webhook_deliveries.status, breaker_events.provider); none returns rows per job, domain or delivery.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa

from shared.breaker.base import CLOSED, HALF_OPEN, OPEN
from shared.jobs import FINAL_STATUSES, JobKind, JobStatus
from shared.metrics.catalogue import RENEWAL_HORIZONS, Families
from shared.store import Store
from shared.store.schema import BreakerEventRow, DomainRow, JobRow, ReplayRow, WebhookDeliveryRow
from shared.store.webhooks import DeliveryStatus
from shared.wait_reasons import WaitReason, label

#: The open statuses whose oldest job's age is exported.
OPEN_STATUSES = (JobStatus.QUEUED, JobStatus.WAITING, JobStatus.PARTIAL)


def read_jobs(store: Store, families: Families, now: datetime) -> None:
    counts = {(k.value, s.value): 0 for k in JobKind for s in JobStatus}
    query = sa.select(JobRow.kind, JobRow.status, sa.func.count()).group_by(JobRow.kind, JobRow.status)
    oldest = (
        sa.select(JobRow.status, sa.func.min(JobRow.created_at))
        .where(JobRow.status.in_([s.value for s in OPEN_STATUSES]))
        .group_by(JobRow.status)
    )
    open_due = sa.select(sa.func.min(JobRow.due_at)).where(
        JobRow.status.in_([s.value for s in OPEN_STATUSES]), JobRow.due_at < now
    )
    waiting = (
        sa.select(JobRow.wait_code, sa.func.count())
        .where(JobRow.status == JobStatus.WAITING.value)
        .group_by(JobRow.wait_code)
    )
    reasons = {reason.value: 0 for reason in WaitReason}
    with store.db.session() as session:
        for kind, status, n in session.execute(query):
            counts[(kind, status)] = int(n)
        for code, n in session.execute(waiting):
            reasons[label(code)] += int(n)
        firsts = {status: first for status, first in session.execute(oldest)}
        due = session.scalar(open_due)
        replays = int(session.scalar(sa.select(sa.func.count()).select_from(ReplayRow)) or 0)
    for (kind, status), n in sorted(counts.items()):
        families["regq_jobs"].add_metric([kind, status], n)
    for status in OPEN_STATUSES:
        first = _utc(firsts.get(status.value))
        age = max(0.0, (now - first).total_seconds()) if first else 0.0
        families["regq_jobs_oldest_age_seconds"].add_metric([status.value], age)
    due_at = _utc(due)
    overdue = max(0.0, (now - due_at).total_seconds()) if due_at else 0.0
    families["regq_jobs_max_overdue_seconds"].add_metric([], overdue)
    families["regq_replays"].add_metric([], replays)
    transfer, final = JobKind.TRANSFER.value, {s.value for s in FINAL_STATUSES}
    pending = sum(n for (kind, status), n in counts.items() if kind == transfer and status not in final)
    families["regq_transfers_pending"].add_metric([], pending)
    for reason, n in reasons.items():
        families["regq_jobs_waiting"].add_metric([reason], n)


def read_webhooks(store: Store, families: Families, now: datetime) -> None:
    """Deliveries by status (every row kept: delivered and dead ones until the retention purge) and the
    age of the oldest one still to deliver (pending, or sending on a claim)."""
    open_statuses = (DeliveryStatus.PENDING.value, DeliveryStatus.SENDING.value)
    by_status = sa.select(WebhookDeliveryRow.status, sa.func.count()).group_by(WebhookDeliveryRow.status)
    oldest = sa.select(sa.func.min(WebhookDeliveryRow.created_at)).where(
        WebhookDeliveryRow.status.in_(open_statuses)
    )
    counts = {status.value: 0 for status in DeliveryStatus}
    with store.db.session() as session:
        for status, n in session.execute(by_status):
            counts[status] = int(n)
        first = _utc(session.scalar(oldest))
    for status, n in counts.items():
        families["regq_webhook_deliveries"].add_metric([status], n)
    age = max(0.0, (now - first).total_seconds()) if first else 0.0
    families["regq_webhook_oldest_pending_seconds"].add_metric([], age)


_TO_STATES = (OPEN, HALF_OPEN, CLOSED)


def read_breaker_journal(store: Store, families: Families, registrars: Iterable[str] = ()) -> None:
    """Transitions per registrar and state entered: a count of the journal's rows, which are never
    purged, so the value only grows (a counter). Known registrars start at 0 so ``increase()`` sees the
    first transition too."""
    query = sa.select(BreakerEventRow.provider, BreakerEventRow.to_state, sa.func.count()).group_by(
        BreakerEventRow.provider, BreakerEventRow.to_state
    )
    counts = {(name, state): 0 for name in registrars for state in _TO_STATES}
    with store.db.session() as session:
        for provider, to_state, n in session.execute(query):
            counts[(provider, to_state)] = int(n)
    for (provider, to_state), n in sorted(counts.items()):
        families["regq_breaker_transitions"].add_metric([provider, to_state], n)


def read_renewals(store: Store, families: Families, today: date) -> None:
    held = sa.and_(DomainRow.auto_renew.is_(True), DomainRow.status == "active")
    due = {
        days: sa.select(sa.func.count())
        .select_from(DomainRow)
        .where(held, DomainRow.expires_at >= today, DomainRow.expires_at <= today + timedelta(days=days))
        for days in RENEWAL_HORIZONS
    }
    overdue = sa.select(sa.func.count()).select_from(DomainRow).where(held, DomainRow.expires_at < today)
    failed = sa.and_(JobRow.kind == JobKind.RENEW.value, JobRow.status == JobStatus.FAILED.value)
    failed_count = sa.select(sa.func.count()).select_from(JobRow).where(failed)
    soonest = (
        sa.select(sa.func.min(DomainRow.expires_at))
        .select_from(JobRow)
        .join(DomainRow, DomainRow.domain == JobRow.domain)
        .where(failed)
    )
    with store.db.session() as session:
        counts = {days: int(session.scalar(q) or 0) for days, q in due.items()}
        late = int(session.scalar(overdue) or 0)
        failures = int(session.scalar(failed_count) or 0)
        first = session.scalar(soonest)
    for days, n in counts.items():
        families["regq_renewals_due"].add_metric([str(days)], n)
    families["regq_renewals_overdue"].add_metric([], late)
    families["regq_renewals_failed"].add_metric([], failures)
    if first is not None:
        families["regq_renewals_failed_min_days_left"].add_metric([], (first - today).days)


def _utc(value: datetime | None) -> datetime | None:
    """Aggregates bypass the column type on some drivers: SQLite hands MIN() back naive or as text."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
