"""The breaker_events table: every breaker transition (implements shared.breaker.BreakerJournal)."""

from __future__ import annotations

import sqlalchemy as sa

from shared.breaker.base import Transition
from shared.store.database import Database
from shared.store.schema import BreakerEventRow


class BreakerEvents:
    def __init__(self, db: Database) -> None:
        self.db = db

    def record_transition(
        self,
        provider: str,
        from_state: str,
        to_state: str,
        reason: str,
        opened_until: float | None,
        failures: int,
    ) -> None:
        with self.db.session() as session:
            session.add(
                BreakerEventRow(
                    provider=provider,
                    from_state=from_state,
                    to_state=to_state,
                    reason=reason[:2000],
                    opened_until=opened_until,
                    failures=failures,
                )
            )

    def last_transition(self, provider: str) -> Transition | None:
        query = (
            sa.select(BreakerEventRow)
            .where(BreakerEventRow.provider == provider)
            .order_by(BreakerEventRow.id.desc())
            .limit(1)
        )
        with self.db.session() as session:
            row = session.scalars(query).one_or_none()
            return _transition(row) if row else None

    def history(self, provider: str | None = None, limit: int = 100) -> list[Transition]:
        query = sa.select(BreakerEventRow).order_by(BreakerEventRow.id.desc()).limit(limit)
        if provider is not None:
            query = query.where(BreakerEventRow.provider == provider)
        with self.db.session() as session:
            return [_transition(r) for r in session.scalars(query)]


def _transition(row: BreakerEventRow) -> Transition:
    return Transition(
        to_state=row.to_state,
        opened_until=row.opened_until,
        failures=row.failures,
        at=row.created_at.timestamp(),
        from_state=row.from_state,
        reason=row.reason,
        provider=row.provider,
    )
