"""The domain inventory: what we hold, at which registrar, until when."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import cast

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from shared.store.database import Database, affected
from shared.store.schema import DomainRow, utcnow
from shared.timestamps import rfc3339_or_none

#: Inventory statuses. ``active``: ours and current (the only status the renewal scan renews);
#: ``expired``: past its expiry at the registrar; ``pending_delete``: in redemption or pending delete at
#: the registry; ``missing``: the registrar does not have it in our account. Set by imports (``active``,
#: for a new domain), successful registers and renews (``active``) and ``sync`` jobs.
ACTIVE, EXPIRED, PENDING_DELETE, MISSING = "active", "expired", "pending_delete", "missing"


@dataclass(frozen=True)
class DomainRecord:
    domain: str
    registrar: str
    expires_at: date | None
    auto_renew: bool
    status: str
    updated_at: datetime | None = None
    #: the registrar's own auto-renew: True/False once regq set or read it, None when unknown
    registrar_autorenew: bool | None = None

    def to_dict(self, today: date | None = None) -> dict[str, object]:
        """JSON-ready, with ``days_left`` until expiry (negative once past, None when unknown)."""
        today = today or utcnow().date()
        return {
            "domain": self.domain,
            "registrar": self.registrar,
            "expires_at": self.expires_at.isoformat() if self.expires_at else None,
            "days_left": (self.expires_at - today).days if self.expires_at else None,
            "auto_renew": self.auto_renew,
            "status": self.status,
            "updated_at": rfc3339_or_none(self.updated_at),
        }


@dataclass(frozen=True)
class DomainImport:
    """One validated row of an inventory import (``regq domains import``)."""

    domain: str
    registrar: str
    expires_at: date | None
    auto_renew: bool


class Inventory:
    def __init__(self, db: Database) -> None:
        self.db = db

    def note_expiry(self, domain: str, expires_at: date) -> bool:
        """A lookup saw ``domain`` expire on ``expires_at``: if we hold it and our date differs, keep the
        new one (registrar and status untouched). One UPDATE; True when a row changed."""
        with self.db.session() as session:
            updated = session.execute(
                sa.update(DomainRow)
                .where(DomainRow.domain == domain, DomainRow.expires_at.is_distinct_from(expires_at))
                .values(expires_at=expires_at, updated_at=utcnow())
            )
            return bool(affected(updated))

    def upsert(self, domain: str, registrar: str, expires_at: date | None, status: str = "active") -> None:
        values = dict(registrar=registrar, expires_at=expires_at, status=status, updated_at=utcnow())
        with self.db.session() as session:
            updated = session.execute(sa.update(DomainRow).where(DomainRow.domain == domain).values(**values))
            if affected(updated):
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

    # --- operators: import, list, status ---------------------------------------------------------------
    def import_many(self, rows: Sequence[DomainImport]) -> tuple[int, int]:
        """Insert new domains and update held ones (a re-import): one SELECT of those already held, then
        ONE ``INSERT ... ON CONFLICT (domain) DO UPDATE`` for all rows (registrar, expiry and auto-renew
        as given; a held domain keeps its status). ``rows`` must not repeat a domain. (inserted, updated)."""
        if not rows:
            return 0, 0
        now = utcnow()
        table = cast(sa.Table, DomainRow.__table__)
        insert = postgresql.insert(table) if self.db.dialect == "postgresql" else sqlite.insert(table)
        statement = insert.on_conflict_do_update(
            index_elements=[table.c.domain],
            set_={
                "registrar": insert.excluded.registrar,
                "expires_at": insert.excluded.expires_at,
                "auto_renew": insert.excluded.auto_renew,
                "updated_at": insert.excluded.updated_at,
            },
        ).execution_options(insertmanyvalues_page_size=len(rows))
        values = [
            dict(
                domain=r.domain,
                registrar=r.registrar,
                expires_at=r.expires_at,
                auto_renew=r.auto_renew,
                status=ACTIVE,
                created_at=now,
                updated_at=now,
            )
            for r in rows
        ]
        with self.db.session() as session:
            held = session.scalar(
                sa.select(sa.func.count()).where(DomainRow.domain.in_([r.domain for r in rows]))
            )
            session.execute(statement, values)
        updated = int(held or 0)
        return len(rows) - updated, updated

    def page(
        self,
        after: str | tuple[date, str] | None = None,
        limit: int = 500,
        *,
        registrar: str | None = None,
        expiring_before: date | None = None,
    ) -> list[DomainRecord]:
        """One keyset page, one indexed query however deep: by name, after the name ``after``; or, with
        ``expiring_before``, the domains (any status, auto-renew or not) expiring on or before that day
        by (expiry, name), after the ``(expires_at, domain)`` pair ``after``."""
        query = sa.select(DomainRow)
        if registrar is not None:
            query = query.where(DomainRow.registrar == registrar)
        if expiring_before is None:
            if after is not None:
                query = query.where(DomainRow.domain > after)
            query = query.order_by(DomainRow.domain)
        else:
            query = query.where(DomainRow.expires_at <= expiring_before)
            if after is not None:
                assert isinstance(after, tuple)
                query = query.where(
                    DomainRow.expires_at >= after[0],
                    sa.tuple_(DomainRow.expires_at, DomainRow.domain) > sa.tuple_(*after),
                )
            query = query.order_by(DomainRow.expires_at, DomainRow.domain)
        with self.db.session() as session:
            return [_record(r) for r in session.scalars(query.limit(limit))]

    def pages(
        self, page_size: int = 500, *, registrar: str | None = None, expiring_before: date | None = None
    ) -> Iterator[list[DomainRecord]]:
        """Every domain :meth:`page` selects, page by page (memory: one page)."""
        after: str | tuple[date, str] | None = None
        while True:
            page = self.page(after, page_size, registrar=registrar, expiring_before=expiring_before)
            if page:
                yield page
            if len(page) < page_size:
                return
            last = page[-1]
            if expiring_before is None:
                after = last.domain
            else:
                assert last.expires_at is not None  # expires_at <= before excludes NULL
                after = (last.expires_at, last.domain)

    def count(self, registrar: str | None = None) -> int:
        query = sa.select(sa.func.count()).select_from(DomainRow)
        if registrar is not None:
            query = query.where(DomainRow.registrar == registrar)
        with self.db.session() as session:
            return int(session.scalar(query) or 0)

    def touch(self, domain: str) -> bool:
        """Only ``updated_at`` moves (an owner change: expiry and status stay); False when not held."""
        with self.db.session() as session:
            result = session.execute(
                sa.update(DomainRow).where(DomainRow.domain == domain).values(updated_at=utcnow())
            )
            return bool(affected(result))

    def set_registrar_autorenew(
        self, domain: str, enabled: bool | None, registrar: str | None = None
    ) -> bool:
        """Remember whether the registrar's own auto-renew is on (None: unknown). One UPDATE, only when the
        value differs (``updated_at`` moves with it); True when a row changed. With ``registrar``, a domain
        not held yet gets its row (a register's step runs before the runner records the expiry, which the
        runner's :meth:`upsert` then fills in, keeping this flag)."""
        with self.db.session() as session:
            result = session.execute(
                sa.update(DomainRow)
                .where(DomainRow.domain == domain, DomainRow.registrar_autorenew.is_distinct_from(enabled))
                .values(registrar_autorenew=enabled, updated_at=utcnow())
            )
            if affected(result) or registrar is None:
                return bool(affected(result))
        try:
            with self.db.session() as session:
                row = DomainRow(
                    domain=domain, registrar=registrar, expires_at=None, registrar_autorenew=enabled
                )
                session.add(row)
        except IntegrityError:  # held already, with this value
            return False
        return True

    def set_status(self, domain: str, status: str) -> bool:
        """Change a held domain's status only (False when it is not held)."""
        with self.db.session() as session:
            result = session.execute(
                sa.update(DomainRow)
                .where(DomainRow.domain == domain)
                .values(status=status, updated_at=utcnow())
            )
            return bool(affected(result))


def _record(row: DomainRow) -> DomainRecord:
    return DomainRecord(
        row.domain,
        row.registrar,
        row.expires_at,
        row.auto_renew,
        row.status,
        row.updated_at,
        row.registrar_autorenew,
    )
