"""The domain inventory: what we hold, at which registrar, until when."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from shared.store.database import Database
from shared.store.schema import DomainRow, utcnow


@dataclass(frozen=True)
class DomainRecord:
    domain: str
    registrar: str
    expires_at: date | None
    auto_renew: bool
    status: str


class Inventory:
    def __init__(self, db: Database) -> None:
        self.db = db

    def upsert(self, domain: str, registrar: str, expires_at: date | None, status: str = "active") -> None:
        values = dict(registrar=registrar, expires_at=expires_at, status=status, updated_at=utcnow())
        with self.db.session() as session:
            updated = session.execute(sa.update(DomainRow).where(DomainRow.domain == domain).values(**values))
            if updated.rowcount:
                return
        try:
            with self.db.session() as session:
                session.add(DomainRow(domain=domain, **values))
        except IntegrityError:  # a concurrent insert won: update instead
            with self.db.session() as session:
                session.execute(sa.update(DomainRow).where(DomainRow.domain == domain).values(**values))

    def get(self, domain: str) -> DomainRecord | None:
        with self.db.session() as session:
            row = session.scalars(sa.select(DomainRow).where(DomainRow.domain == domain)).one_or_none()
            return _record(row) if row else None

    def expiring(self, before: date, limit: int = 1000) -> list[DomainRecord]:
        query = (
            sa.select(DomainRow)
            .where(
                DomainRow.expires_at <= before, DomainRow.auto_renew.is_(True), DomainRow.status == "active"
            )
            .order_by(DomainRow.expires_at)
            .limit(limit)
        )
        with self.db.session() as session:
            return [_record(r) for r in session.scalars(query)]


def _record(row: DomainRow) -> DomainRecord:
    return DomainRecord(row.domain, row.registrar, row.expires_at, row.auto_renew, row.status)
