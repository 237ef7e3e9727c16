"""The domain inventory: what we hold, at which registrar, until when."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
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

    def get_many(self, domains: Iterable[str]) -> dict[str, DomainRecord]:
        """The held domains among ``domains`` (one SELECT), by name."""
        names = sorted(set(domains))
        if not names:
            return {}
        with self.db.session() as session:
            query = sa.select(DomainRow).where(DomainRow.domain.in_(names))
            return {row.domain: _record(row) for row in session.scalars(query)}

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

    def expiring_page(
        self, before: date, after: tuple[date, str] | None = None, limit: int = 500
    ) -> list[DomainRecord]:
        """One keyset page of :meth:`expiring`, ordered by (expiry, name): the first ``limit`` after
        ``after`` (the previous page's last ``(expires_at, domain)``). Each page is one indexed query,
        however deep the scan, and rows changing between pages are neither skipped nor repeated."""
        due = sa.and_(
            DomainRow.expires_at <= before, DomainRow.auto_renew.is_(True), DomainRow.status == "active"
        )
        if after is not None:
            due = sa.and_(
                due,
                DomainRow.expires_at >= after[0],  # lets the planner start the range scan here
                sa.tuple_(DomainRow.expires_at, DomainRow.domain) > sa.tuple_(*after),
            )
        query = sa.select(DomainRow).where(due).order_by(DomainRow.expires_at, DomainRow.domain).limit(limit)
        with self.db.session() as session:
            return [_record(r) for r in session.scalars(query)]

    def expiring_pages(self, before: date, page_size: int = 500) -> Iterator[list[DomainRecord]]:
        """Every domain :meth:`expiring` would give, in keyset pages of at most ``page_size`` (memory
        stays one page, whatever the inventory's size)."""
        after: tuple[date, str] | None = None
        while True:
            page = self.expiring_page(before, after, page_size)
            if not page:
                return
            yield page
            last = page[-1]
            assert last.expires_at is not None  # expires_at <= before excludes NULL
            after = (last.expires_at, last.domain)
            if len(page) < page_size:
                return


def _record(row: DomainRow) -> DomainRecord:
    return DomainRecord(row.domain, row.registrar, row.expires_at, row.auto_renew, row.status)
