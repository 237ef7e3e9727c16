"""What a lookup answers. The JSON shape (``DomainLookup.to_dict()``) is an interface: producers, the
``regq lookup`` command and the lookup job's ``result`` all use it::

    {"domain", "apex", "registered": true|false|null,
     "registration": null | {"source": "rdap"|"whois", "server", "registrar", "created", "expires",
                             "updated", "statuses": [], "nameservers": [], "registrant"},
     "nameservers": [{"host", "ips": []}], "ip_registrants": {"<ip>": "<name>"},
     "partial": false, "reason": null, "retry_after": null}

Dates are RFC 3339 (``YYYY-MM-DD`` when the source gives a day, else the UTC instant as
``shared.timestamps.rfc3339`` writes it: ``2026-12-08T00:13:04.000Z``), host names lower
case without a trailing dot, unknown values ``None``.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any, Literal

from shared.timestamps import day_or_instant

Source = Literal["rdap", "whois"]


def _iso(value: date | datetime | None) -> str | None:
    return day_or_instant(value)


def host_name(raw: str) -> str:
    """A host name as regq shows it: lower case, no trailing dot, A-label kept as given."""
    return raw.strip().rstrip(".").lower()


#: What a second view of a domain may fill in (source and server stay the first view's).
MERGED_FIELDS = ("registrar", "created", "expires", "updated", "statuses", "nameservers", "registrant")


@dataclass(frozen=True)
class Registration:
    """One registry's (or registrar's) view of a domain, from RDAP or WHOIS."""

    source: Source
    server: str  # the RDAP base URL or WHOIS host that answered
    registrar: str | None = None
    created: date | datetime | None = None
    expires: date | datetime | None = None
    updated: date | datetime | None = None
    statuses: list[str] = field(default_factory=list)
    nameservers: list[str] = field(default_factory=list)
    registrant: str | None = None

    def completed_by(self, other: Registration, *, theirs_first: Collection[str] = ()) -> Registration:
        """This view (a registry's) with what it lacks taken from ``other`` (the registrar's, for a thin
        registry); for the fields in ``theirs_first`` the other view wins where it has a value."""
        values = {
            name: (getattr(other, name) or getattr(self, name))
            if name in theirs_first
            else (getattr(self, name) or getattr(other, name))
            for name in MERGED_FIELDS
        }
        return replace(self, **values)

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "server": self.server,
            "registrar": self.registrar,
            "created": _iso(self.created),
            "expires": _iso(self.expires),
            "updated": _iso(self.updated),
            "statuses": list(self.statuses),
            "nameservers": list(self.nameservers),
            "registrant": self.registrant,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Registration:
        def day(value: Any) -> date | datetime | None:
            if not value:
                return None
            return date.fromisoformat(value) if len(value) == 10 else datetime.fromisoformat(value)

        return cls(
            source=data["source"],
            server=data["server"],
            registrar=data.get("registrar"),
            created=day(data.get("created")),
            expires=day(data.get("expires")),
            updated=day(data.get("updated")),
            statuses=list(data.get("statuses") or []),
            nameservers=list(data.get("nameservers") or []),
            registrant=data.get("registrant"),
        )


@dataclass(frozen=True)
class MissingPart:
    """A part of a domain's registration data a source could not fetch now, though it knows where: the
    registrar's view behind a thin registry's referral, when that registrar's WHOIS or RDAP server
    throttled us (or our limiter held the request back). ``server`` is where to ask: the registrar's
    WHOIS host, or the RDAP ``related`` URL; after ``retry_after`` seconds only that request is sent
    (:meth:`shared.registrydata.whois.WhoisClient.complete`,
    :meth:`shared.registrydata.rdap.RdapClient.complete`, by the answer's ``registration.source``)."""

    part: Literal["registrar"]
    server: str
    reason: str
    retry_after: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "part": self.part,
            "server": self.server,
            "reason": self.reason,
            "retry_after": self.retry_after,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MissingPart:
        return cls("registrar", str(data["server"]), str(data["reason"]), float(data["retry_after"]))


@dataclass(frozen=True)
class DomainAnswer:
    """What a registration-data source says of one domain: registered with its data, or not registered.

    ``registered`` is None only when the source could not tell (then ``registration`` is None too).
    ``missing``: a part the source could not fetch now (the answer is then partial: see MissingPart)."""

    registered: bool | None
    registration: Registration | None = None
    missing: MissingPart | None = None


@dataclass(frozen=True)
class NameserverAddresses:
    host: str
    ips: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"host": self.host, "ips": list(self.ips)}


@dataclass
class DomainLookup:
    domain: str
    apex: str
    registered: bool | None = None
    registration: Registration | None = None
    nameservers: list[NameserverAddresses] = field(default_factory=list)
    ip_registrants: dict[str, str | None] = field(default_factory=dict)
    partial: bool = False
    reason: str | None = None
    retry_after: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "domain": self.domain,
            "apex": self.apex,
            "registered": self.registered,
            "registration": self.registration.to_dict() if self.registration else None,
            "nameservers": [n.to_dict() for n in self.nameservers],
            "ip_registrants": dict(self.ip_registrants),
            "partial": self.partial,
            "reason": self.reason,
            "retry_after": self.retry_after,
        }
