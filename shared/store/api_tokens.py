"""HTTP API tokens (``regq api-token``): a name, scopes, and only the SHA-256 of the secret.

The secret is ``regq_`` plus 32 random bytes (URL-safe base64): shown once by :meth:`ApiTokens.create`,
never stored. A high-entropy secret needs no slow password hash; the lookup is by the hash (an indexed
equality), so the secret is never compared byte by byte. A revoked token keeps its row (who had access
and until when); its name is not reused.

Each token acts for an ``owner`` (a producer, a tenant; the token's name unless given; several tokens may
share one): a ``read`` token sees the jobs submitted by any token of its owner and the domains those jobs
name, nothing else. ``admin`` (never a default) reads everything.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from shared.jobs import check_callback_url
from shared.store.database import Database, affected
from shared.store.schema import ApiTokenRow, utcnow
from shared.store.webhooks import new_secret

SCOPES = ("submit", "read", "admin")
#: What ``create`` gives when no scopes are named: never ``admin``.
DEFAULT_SCOPES = ("submit", "read")
TOKEN_PREFIX = "regq_"
_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")


class TokenNameTaken(ValueError):
    def __init__(self, name: str) -> None:
        super().__init__(f"an API token named {name!r} exists (or existed): choose another name")
        self.name = name


def check_name(name: str) -> str:
    """A token name: 1-64 of a-z 0-9 _ . - (it is also the rate-limit key ``api:<name>``)."""
    if not _NAME.match(name):
        raise ValueError("a token name is 1-64 characters of a-z, 0-9, '_', '.', '-', starting alphanumeric")
    return name


def check_owner(owner: str) -> str:
    """An owner (producer) name: the same rule as a token name."""
    if not _NAME.match(owner):
        raise ValueError("an owner is 1-64 characters of a-z, 0-9, '_', '.', '-', starting alphanumeric")
    return owner


def check_scopes(scopes: Iterable[str]) -> tuple[str, ...]:
    wanted = tuple(dict.fromkeys(s.strip() for s in scopes if s.strip()))
    unknown = [s for s in wanted if s not in SCOPES]
    if unknown or not wanted:
        raise ValueError(f"scopes are one or more of {', '.join(SCOPES)}; got {', '.join(unknown) or 'none'}")
    return wanted


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class ApiToken:
    name: str
    scopes: tuple[str, ...]
    created_at: datetime
    revoked_at: datetime | None
    #: the default completion webhook of jobs submitted with this token (a job's own callback wins)
    callback_url: str | None = None
    #: the producer this token acts for: reads see only its jobs and domains (unless ``admin``)
    owner: str = ""

    @property
    def admin(self) -> bool:
        return "admin" in self.scopes

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    @classmethod
    def from_row(cls, row: ApiTokenRow) -> ApiToken:
        return cls(
            name=row.name,
            scopes=tuple(s for s in row.scopes.split(",") if s),
            created_at=row.created_at,
            revoked_at=row.revoked_at,
            callback_url=row.callback_url,
            owner=row.owner,
        )


class ApiTokens:
    def __init__(self, db: Database) -> None:
        self.db = db

    def create(
        self,
        name: str,
        scopes: Iterable[str] = DEFAULT_SCOPES,
        callback_url: str | None = None,
        owner: str | None = None,
    ) -> tuple[ApiToken, str]:
        """A new token: its record and its secret (shown once). Raises TokenNameTaken or ValueError.

        It also gets its own webhook signing secret (:meth:`webhook_secret`; ``regq api-token create``
        shows it once) and, given ``callback_url``, the default callback of the jobs it submits."""
        check_name(name)
        owner = check_owner(owner if owner is not None else name)
        wanted = check_scopes(scopes)
        if callback_url is not None:
            try:
                check_callback_url(callback_url)
            except ValueError as exc:
                raise ValueError(f"callback URL: {exc}") from None
        secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
        row = ApiTokenRow(
            name=name,
            token_hash=hash_secret(secret),
            scopes=",".join(wanted),
            webhook_secret=new_secret(),
            callback_url=callback_url,
            owner=owner,
        )
        try:
            with self.db.session() as session:
                session.add(row)
        except IntegrityError:
            raise TokenNameTaken(name) from None
        return ApiToken.from_row(row), secret

    def verify(self, secret: str) -> ApiToken | None:
        """The active token whose secret this is, else None."""
        if not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
            return None
        query = sa.select(ApiTokenRow).where(
            ApiTokenRow.token_hash == hash_secret(secret), ApiTokenRow.revoked_at.is_(None)
        )
        with self.db.session() as session:
            row = session.scalars(query).one_or_none()
            return ApiToken.from_row(row) if row else None

    def webhook_secret(self, name: str) -> str | None:
        """The secret signing the webhooks of jobs token ``name`` submitted (revoked tokens too: their
        jobs still finish); None for an unknown token or one made before webhooks existed."""
        query = sa.select(ApiTokenRow.webhook_secret).where(ApiTokenRow.name == name)
        with self.db.session() as session:
            return session.scalars(query).one_or_none()

    def all(self) -> list[ApiToken]:
        with self.db.session() as session:
            return [
                ApiToken.from_row(r) for r in session.scalars(sa.select(ApiTokenRow).order_by(ApiTokenRow.id))
            ]

    def revoke(self, name: str) -> bool:
        """Revoke the active token ``name``; False when there is none."""
        with self.db.session() as session:
            result = session.execute(
                sa.update(ApiTokenRow)
                .where(ApiTokenRow.name == name, ApiTokenRow.revoked_at.is_(None))
                .values(revoked_at=utcnow())
            )
            return affected(result) == 1
