"""Registry contacts (ROTLD ``cid``): one per distinct registrant, created once even under concurrency.

A job first *claims* the registrant's fingerprint (a row with no contact id and a short claim); only the
claimant creates the contact at the registry and saves its id. Others see ``busy`` and retry later, or
take over once the claim expired (the claimant died).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from shared.store.database import Database, affected
from shared.store.schema import RegistryContactRow, utcnow


@dataclass(frozen=True)
class ContactClaim:
    contact_id: str | None  # set: reuse it
    claimed: bool  # True: this caller must create the contact, then save() or release()


class RegistryContacts:
    def __init__(self, db: Database) -> None:
        self.db = db

    def claim(self, registrar: str, fingerprint: str, owner: str, seconds: float = 60) -> ContactClaim:
        now = utcnow()
        until = now + timedelta(seconds=seconds)
        try:
            with self.db.session() as session:
                session.add(
                    RegistryContactRow(
                        registrar=registrar, fingerprint=fingerprint, claimed_by=owner, claimed_until=until
                    )
                )
            return ContactClaim(None, True)
        except IntegrityError:
            pass
        where = sa.and_(
            RegistryContactRow.registrar == registrar, RegistryContactRow.fingerprint == fingerprint
        )
        with self.db.session() as session:
            taken = session.execute(
                sa.update(RegistryContactRow)
                .where(
                    where,
                    RegistryContactRow.contact_id.is_(None),
                    sa.or_(RegistryContactRow.claimed_until < now, RegistryContactRow.claimed_by == owner),
                )
                .values(claimed_by=owner, claimed_until=until)
            )
            if affected(taken) == 1:
                return ContactClaim(None, True)
            row = session.scalars(sa.select(RegistryContactRow).where(where)).one()
            return ContactClaim(row.contact_id, False)

    def save(self, registrar: str, fingerprint: str, contact_id: str) -> None:
        with self.db.session() as session:
            session.execute(
                sa.update(RegistryContactRow)
                .where(
                    RegistryContactRow.registrar == registrar, RegistryContactRow.fingerprint == fingerprint
                )
                .values(contact_id=contact_id, claimed_by=None, claimed_until=None)
            )

    def release(self, registrar: str, fingerprint: str, owner: str) -> None:
        with self.db.session() as session:
            session.execute(
                sa.update(RegistryContactRow)
                .where(
                    RegistryContactRow.registrar == registrar,
                    RegistryContactRow.fingerprint == fingerprint,
                    RegistryContactRow.claimed_by == owner,
                    RegistryContactRow.contact_id.is_(None),
                )
                .values(claimed_until=utcnow())
            )

    def forget(self, registrar: str, fingerprint: str, contact_id: str) -> None:
        """The registry no longer knows ``contact_id`` (ROTLD 50006): drop it, so the next claim creates
        the contact again. Only that id is dropped (another job may already have saved a new one)."""
        with self.db.session() as session:
            session.execute(
                sa.update(RegistryContactRow)
                .where(
                    RegistryContactRow.registrar == registrar,
                    RegistryContactRow.fingerprint == fingerprint,
                    RegistryContactRow.contact_id == contact_id,
                )
                .values(contact_id=None, claimed_by=None, claimed_until=utcnow())  # claimable at once
            )

    def get(self, registrar: str, fingerprint: str) -> str | None:
        with self.db.session() as session:
            return session.scalars(
                sa.select(RegistryContactRow.contact_id).where(
                    RegistryContactRow.registrar == registrar, RegistryContactRow.fingerprint == fingerprint
                )
            ).one_or_none()
