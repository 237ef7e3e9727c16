"""HTTP API tokens (``regq api-token``): a name, scopes, and only the SHA-256 of the secret.

The secret is ``regq_`` plus 32 random bytes (URL-safe base64): shown once by :meth:`ApiTokens.create`,
never stored. A high-entropy secret needs no slow password hash; the lookup is by the hash (an indexed
equality), so the secret is never compared byte by byte. A revoked token keeps its row (who had access
and until when); its name is not reused.

Each token acts for an ``owner`` (a producer, a tenant; the token's name unless given; several tokens may
share one): a ``read`` token sees the jobs submitted by any token of its owner and the domains those jobs
name, nothing else. ``admin`` (never a default) reads everything.

A token may expire (``expires_at``, ``regq api-token create --expires-in 30d``): from then
:meth:`ApiTokens.verify` no longer finds it, so the API answers 401 exactly as for an unknown token;
``regq api-token list`` says ``expired``. Its row, and the signing secret of the jobs it submitted, stay.

Each token signs its jobs' completion webhooks with its own secret (``whsec_``).
:meth:`ApiTokens.rotate_secret` makes a new one and keeps the old one for a window: until
``previous_secret_until`` :meth:`ApiTokens.signing_secrets` gives both (newest first) and every webhook
carries a ``v1`` by each (``shared/webhooks/signature.py``), so a receiver can switch to the new secret at
any time inside the window; after it, only the new one signs. One rotation at a time: rotating again
inside the window drops the secret the first one replaced.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

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
    #: from then on the token is refused like an unknown one; None: it never expires
    expires_at: datetime | None = None
    #: while a signing secret is rotated: until when the replaced one still signs
    previous_secret_until: datetime | None = None

    @property
    def admin(self) -> bool:
        return "admin" in self.scopes

    def expired(self, now: datetime | None = None) -> bool:
        return self.expires_at is not None and self.expires_at <= (now or utcnow())

    @property
    def active(self) -> bool:
        """Neither revoked nor expired: the API accepts it."""
        return self.revoked_at is None and not self.expired()

    @classmethod
    def from_row(cls, row: ApiTokenRow | sa.Row[Any]) -> ApiToken:
        """From an ORM row or a Core row of the whole table (same names)."""
        return cls(
            name=row.name,
            scopes=tuple(s for s in row.scopes.split(",") if s),
            created_at=row.created_at,
            revoked_at=row.revoked_at,
            callback_url=row.callback_url,
            owner=row.owner,
            expires_at=row.expires_at,
            previous_secret_until=row.previous_secret_until,
        )


#: The whole row (as columns: no ORM session, no identity map) of the active token whose hash is
#: ``:token_hash`` at ``:now``. Built once: SQLAlchemy then finds its compiled form by the statement.
_ACTIVE_BY_HASH = (
    sa.select(ApiTokenRow.__table__)
    .where(ApiTokenRow.token_hash == sa.bindparam("token_hash"), ApiTokenRow.revoked_at.is_(None))
    .where(sa.or_(ApiTokenRow.expires_at.is_(None), ApiTokenRow.expires_at > sa.bindparam("now")))
)  # not expired


class ApiTokens:
    def __init__(self, db: Database) -> None:
        self.db = db

    def create(
        self,
        name: str,
        scopes: Iterable[str] = DEFAULT_SCOPES,
        callback_url: str | None = None,
        owner: str | None = None,
        expires_in: timedelta | None = None,
    ) -> tuple[ApiToken, str]:
        """A new token: its record and its secret (shown once). Raises TokenNameTaken or ValueError.

        It also gets its own webhook signing secret (:meth:`webhook_secret`; ``regq api-token create``
        shows it once), given ``callback_url`` the default callback of the jobs it submits, and given
        ``expires_in`` an expiry that long from now."""
        check_name(name)
        if expires_in is not None and expires_in <= timedelta(0):
            raise ValueError("expires in: must be a positive duration")
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
            expires_at=utcnow() + expires_in if expires_in is not None else None,
        )
        try:
            with self.db.session() as session:
                session.add(row)
        except IntegrityError:
            raise TokenNameTaken(name) from None
        return ApiToken.from_row(row), secret

    def verify(self, secret: str) -> ApiToken | None:
        """The active token whose secret this is, else None.

        ONE round trip (every API request pays it): a Core SELECT of the whole row by its indexed hash,
        in autocommit (no BEGIN, no ROLLBACK on return), retried once on a dropped connection. Not cached:
        a revocation or an expiry holds from the next request on, in every API process."""
        if not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
            return None
        values = {"token_hash": hash_secret(secret), "now": utcnow()}
        row = self.db.autocommit(lambda conn: conn.execute(_ACTIVE_BY_HASH, values).one_or_none())
        return ApiToken.from_row(row) if row else None

    def webhook_secret(self, name: str) -> str | None:
        """The secret signing the webhooks of jobs token ``name`` submitted (revoked tokens too: their
        jobs still finish); None for an unknown token or one made before webhooks existed."""
        query = sa.select(ApiTokenRow.webhook_secret).where(ApiTokenRow.name == name)
        with self.db.session() as session:
            return session.scalars(query).one_or_none()

    def signing_secrets(self, name: str, now: datetime | None = None) -> list[str]:
        """The secrets that sign token ``name``'s webhooks now: its current one, then the one a rotation
        replaced while its window lasts; [] for an unknown token or one without a secret."""
        query = sa.select(
            ApiTokenRow.webhook_secret, ApiTokenRow.previous_webhook_secret, ApiTokenRow.previous_secret_until
        ).where(ApiTokenRow.name == name)
        with self.db.session() as session:
            row = session.execute(query).one_or_none()
        if row is None or not row.webhook_secret:
            return []
        keys = [row.webhook_secret]
        until = row.previous_secret_until
        if row.previous_webhook_secret and until is not None and (now or utcnow()) < until:
            keys.append(row.previous_webhook_secret)
        return keys

    def rotate_secret(self, name: str, window: timedelta) -> tuple[ApiToken, str] | None:
        """A new signing secret for token ``name`` (revoked or expired too: its jobs' webhooks are still
        signed); the current one keeps signing beside it for ``window`` (0: it stops now). The token and
        the new secret (shown once); None for an unknown token. One UPDATE: its right-hand sides read
        the row as it was, so the secret moved to ``previous`` is exactly the one replaced."""
        if window < timedelta(0):
            raise ValueError("window: must not be negative")
        fresh = new_secret()
        with self.db.session() as session:
            row = session.scalars(
                sa.update(ApiTokenRow)
                .where(ApiTokenRow.name == name)
                .values(
                    previous_webhook_secret=ApiTokenRow.webhook_secret,
                    previous_secret_until=utcnow() + window,
                    webhook_secret=fresh,
                )
                .returning(ApiTokenRow)
            ).one_or_none()
            return (ApiToken.from_row(row), fresh) if row is not None else None

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
