"""Hook receipts: one row per inbound registrar webhook (``POST /v1/hooks/{registrar}``), whatever became
of it: accepted, ignored, or refused (bad signature, stale, replayed, malformed, unknown registrar).

A row holds what the event said (id, type, domain, when it was signed), the outcome and a short detail;
never the secret, the signature header or the body. A refused request records only what it proved: a
bad signature leaves event id, type and domain empty (an unsigned body is anyone's words).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from shared.store.database import Database, affected
from shared.store.schema import HookReceiptRow, utcnow

#: Receipt outcomes. ``accepted``: signed, fresh, first time, and acted on (or handed to a sync job);
#: ``ignored``: signed and fresh but nothing for regq to do (an event type or domain it does not handle).
ACCEPTED, IGNORED = "accepted", "ignored"
BAD_SIGNATURE, STALE, REPLAYED, MALFORMED, UNKNOWN_REGISTRAR = (
    "bad_signature",
    "stale",
    "replayed",
    "malformed",
    "unknown_registrar",
)
OUTCOMES = (ACCEPTED, IGNORED, BAD_SIGNATURE, STALE, REPLAYED, MALFORMED, UNKNOWN_REGISTRAR)
#: Outcomes that consumed the event id: a later delivery of the same id is a replay.
HANDLED = (ACCEPTED, IGNORED)


@dataclass(frozen=True)
class HookReceipt:
    id: int
    registrar: str
    event_id: str | None
    event_type: str | None
    domain: str | None
    outcome: str
    detail: str | None
    signed_at: datetime | None
    received_at: datetime

    @classmethod
    def from_row(cls, row: HookReceiptRow) -> HookReceipt:
        return cls(
            id=row.id,
            registrar=row.registrar,
            event_id=row.event_id,
            event_type=row.event_type,
            domain=row.domain,
            outcome=row.outcome,
            detail=row.detail,
            signed_at=row.signed_at,
            received_at=row.received_at,
        )


class HookReceipts:
    def __init__(self, db: Database) -> None:
        self.db = db

    def record(
        self,
        registrar: str,
        outcome: str,
        *,
        event_id: str | None = None,
        event_type: str | None = None,
        domain: str | None = None,
        detail: str | None = None,
        signed_at: datetime | None = None,
    ) -> int:
        """Write one receipt; its id. Over-long values are cut to the columns' widths."""
        if outcome not in OUTCOMES:
            raise ValueError(f"unknown hook receipt outcome {outcome!r}")
        row = HookReceiptRow(
            registrar=registrar[:32],
            event_id=event_id[:200] if event_id else None,
            event_type=event_type[:64] if event_type else None,
            domain=domain[:253] if domain else None,
            outcome=outcome,
            detail=detail[:500] if detail else None,
            signed_at=signed_at,
            received_at=utcnow(),
        )
        with self.db.session() as session:
            session.add(row)
            session.flush()
            return row.id

    def handled(self, registrar: str, event_id: str) -> bool:
        """Whether an event with this id from this registrar was already accepted or ignored (indexed)."""
        query = sa.select(HookReceiptRow.id).where(
            HookReceiptRow.event_id == event_id,
            HookReceiptRow.registrar == registrar,
            HookReceiptRow.outcome.in_(HANDLED),
        )
        with self.db.session() as session:
            return session.scalars(query.limit(1)).first() is not None

    def for_event(self, registrar: str, event_id: str) -> list[HookReceipt]:
        """Every receipt of one event id, oldest first."""
        query = (
            sa.select(HookReceiptRow)
            .where(HookReceiptRow.event_id == event_id, HookReceiptRow.registrar == registrar)
            .order_by(HookReceiptRow.id)
        )
        with self.db.session() as session:
            return [HookReceipt.from_row(r) for r in session.scalars(query)]

    def recent(self, limit: int = 100, *, after_id: int = 0) -> list[HookReceipt]:
        """Receipts with an id above ``after_id``, oldest first, at most ``limit``."""
        query = (
            sa.select(HookReceiptRow)
            .where(HookReceiptRow.id > after_id)
            .order_by(HookReceiptRow.id)
            .limit(limit)
        )
        with self.db.session() as session:
            return [HookReceipt.from_row(r) for r in session.scalars(query)]

    def last_id(self) -> int:
        with self.db.session() as session:
            return int(session.scalar(sa.select(sa.func.max(HookReceiptRow.id))) or 0)

    def purge(self, received_before: datetime) -> int:
        """Delete receipts received before ``received_before`` (the retention, with the jobs' purge);
        how many. The replay guard needs a receipt only while its event is fresh (minutes)."""
        with self.db.session() as session:
            query = sa.delete(HookReceiptRow).where(HookReceiptRow.received_at < received_before)
            return affected(session.execute(query))
