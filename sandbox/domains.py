"""Domain records shared by both stand-ins, date helpers and seeding (``POST /_sandbox/domains``)."""

from __future__ import annotations

import re
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

FQDN_RE = re.compile(
    r"^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z](?:[a-z0-9-]{0,61}[a-z0-9])$"
)
OWNERS = ("us", "other")


def utcnow() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def add_years(moment: datetime, years: int) -> datetime:
    try:
        return moment.replace(year=moment.year + years)
    except ValueError:  # 29 February
        return moment.replace(year=moment.year + years, day=28)


def iso_z(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def normalize_fqdn(raw: str) -> str:
    """Lower-case, no trailing dot, IDNA (punycode) for non-ASCII labels; may return an invalid name."""
    name = raw.strip().rstrip(".").lower()
    if not name.isascii():
        try:
            name = name.encode("idna").decode("ascii")
        except UnicodeError:
            return name
    return name


def is_valid_fqdn(name: str) -> bool:
    return bool(FQDN_RE.match(name))


def to_unicode(name: str) -> str:
    try:
        return name.encode("ascii").decode("idna")
    except UnicodeError:
        return name


def new_secret() -> str:
    """A registry-style auth code: upper, lower, digits and a symbol."""
    return secrets.token_urlsafe(12) + "A1a!"


@dataclass
class Domain:
    fqdn: str
    owner: str
    created_at: datetime
    ends_at: datetime
    nameservers: list[str]
    visible_at: float = 0.0
    authinfo: str = field(default_factory=new_secret)
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    contacts: dict[str, Any] = field(default_factory=dict)
    registrant_id: str = ""
    glue: dict[str, list[str]] = field(default_factory=dict)  # in-zone host label -> its addresses
    updated_at: datetime = field(default_factory=utcnow)

    def public(self) -> dict[str, Any]:
        """What ``GET /_sandbox/domains`` shows (no secrets)."""
        return {
            "fqdn": self.fqdn,
            "owner": self.owner,
            "created_at": iso_z(self.created_at),
            "expires": self.ends_at.date().isoformat(),
            "ends_at": iso_z(self.ends_at),
            "nameservers": list(self.nameservers),
            "registrant_id": self.registrant_id,
        }


class DomainStore:
    """All domains of one stand-in, behind ``lock`` (an RLock handlers hold while they read-modify-write)."""

    def __init__(self, default_nameservers: list[str]) -> None:
        self.lock = threading.RLock()
        self.domains: dict[str, Domain] = {}
        self.default_nameservers = default_nameservers

    def clear(self) -> None:
        with self.lock:
            self.domains.clear()

    def get_ours(self, fqdn: str) -> Domain | None:
        """A domain in our account and already visible, else None."""
        with self.lock:
            dom = self.domains.get(fqdn)
        if dom is None or dom.owner != "us" or time.time() < dom.visible_at:
            return None
        return dom

    def listing(self) -> list[dict[str, Any]]:
        with self.lock:
            return [d.public() for d in self.domains.values()]

    def seed(self, entries: Any) -> list[str]:
        """Add ``[{"fqdn", "owner": "us"|"other", "expires": "YYYY-MM-DD", "nameservers"?}]``."""
        if not isinstance(entries, list):
            raise ValueError("expected {'domains': [...]}")
        parsed = [self._parse_seed(e) for e in entries]
        with self.lock:
            for dom in parsed:
                self.domains[dom.fqdn] = dom
        return [d.fqdn for d in parsed]

    def _parse_seed(self, entry: Any) -> Domain:
        if not isinstance(entry, dict) or not isinstance(entry.get("fqdn"), str):
            raise ValueError("each domain needs a string 'fqdn'")
        fqdn = normalize_fqdn(entry["fqdn"])
        if not is_valid_fqdn(fqdn):
            raise ValueError(f"invalid fqdn {entry['fqdn']!r}")
        owner = entry.get("owner", "us")
        if owner not in OWNERS:
            raise ValueError("owner must be 'us' or 'other'")
        now = utcnow()
        expires = entry.get("expires")
        if expires is None:
            ends = add_years(now, 1)
        else:
            try:
                day = date.fromisoformat(str(expires))
            except ValueError as exc:
                raise ValueError(f"expires must be YYYY-MM-DD, got {expires!r}") from exc
            ends = datetime(day.year, day.month, day.day, tzinfo=UTC)
        nameservers = entry.get("nameservers", self.default_nameservers)
        if not isinstance(nameservers, list) or not all(isinstance(n, str) for n in nameservers):
            raise ValueError("nameservers must be a list of strings")
        created = min(add_years(ends, -1), now) - timedelta(days=1)
        return Domain(
            fqdn=fqdn,
            owner=owner,
            created_at=created,
            ends_at=ends,
            nameservers=list(nameservers),
            registrant_id=str(entry.get("registrant", "C000001")),
        )
