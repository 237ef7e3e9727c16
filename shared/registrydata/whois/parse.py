"""``parse_whois(text, server)``: one WHOIS answer to a :class:`~shared.registrydata.model.DomainAnswer`.

In this order, so that a throttling text can never read as "not found" or as a record:

1. a rate-limit refusal (a short paragraph holding a throttle wording: the rule and the real texts are in
   :mod:`.throttle`) raises RateLimited with its wait, whatever else the answer holds: a "No entries
   found" footer or record lines beside it never win (the words inside a long legal notice are no
   refusal: Nominet's and Donuts' terms speak of query limits in every record and "not found");
2. the text is split into entries (:mod:`.records`) and, when ``domain`` is given, read from the line
   that names that domain (an answer may carry other objects first: IANA's part, Verisign's old
   "Server Name" lookalikes);
3. the fields are taken from the entries by the key names each registry uses (tables below);
4. a record with data (registrar, a date, a name server or the registrant) is ``registered: True``;
   else a known "not found" text gives ``registered: False``; else the answer is unreadable:
   ProtocolError (never a guess either way: SWITCH's "Requests of this client are not permitted" is one).

Only top-level entries (and Nominet's "Relevant dates" section) give dates and statuses: the ``Created``
of an .it contact section or of a .fr/.br contact object is the contact's.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from shared.errors import ProtocolError
from shared.registrydata.model import DomainAnswer, Registration, host_name
from shared.registrydata.whois.dates import parse_date
from shared.registrydata.whois.records import Entry, tokenize
from shared.registrydata.whois.servers import whois_host
from shared.registrydata.whois.throttle import find_throttle, rate_limited

DOMAIN_KEYS = ("domain name", "domain", "[domain name]")
REGISTRAR_KEYS = ("registrar", "sponsoring registrar", "registrar name", "registrar organization")
CREATED_KEYS = (
    "creation date",
    "created on",
    "created",
    "registered on",
    "registration date",
    "registration time",
    "domain registration date",
    "[registered date]",
    "[created on]",
)
EXPIRES_KEYS = (
    "registry expiry date",
    "expiry date",
    "expiration date",
    "expires on",
    "expire date",
    "expires",
    "expiry",
    "paid-till",
    "renewal date",
    "registrar registration expiration date",
    "[expires on]",
)
UPDATED_KEYS = (
    "updated date",
    "last updated on",
    "last updated",
    "last update",
    "last-update",
    "last modified",
    "last-modified",
    "changed",
    "modified",
    "[last update]",
    "[last updated]",
)
STATUS_KEYS = ("domain status", "status", "eppstatus", "state", "[state]", "[status]", "[lock status]")
STATUS_SECTIONS = ("registration status", "domain status", "status")
NS_KEYS = ("name server", "nameserver", "nameservers", "name servers", "nserver", "[name server]")
NS_SECTIONS = ("name servers", "nameservers", "domain nameservers", "domain servers in listed order")
REGISTRANT_KEYS = (
    "registrant name",
    "registrant organization",
    "registrant organisation",
    "registrant",
    "org",
    "owner",
    "holder",
    "[registrant]",
    "[organization]",
)
#: In a "Registrar"/"Registrant" section, the line that names it (.it Organization, .eu Name, .uk line 1).
NAMED_SECTION_KEYS = ("organization", "organisation", "name", "")
#: Sections whose "Key: value" lines count as top level (Nominet groups the dates).
TRANSPARENT_SECTIONS = frozenset({"relevant dates", "important dates", "dates"})
REFERRAL_KEYS = ("registrar whois server", "whois server")

_REDACTED = re.compile(
    r"redacted|not disclosed|withheld|privacy|data protected|non-public|gdpr|statutory masking|"
    r"please query the rdds|contact privacy|not available",
    re.I,
)
_HOST = re.compile(r"^(?=.{1,253}$)(?:[\w-]{1,63}\.)+[\w-]{1,63}$")
_EMAIL = re.compile(r"\s+\S+@\S+\s*$")

#: "Not found" answers (anchored to a line: a legal notice saying "not found" elsewhere must not count).
NOT_FOUND: tuple[re.Pattern[str], ...] = (
    re.compile(r"^\W*No match(?:es)?(?: for|!!|\b)", re.I | re.M),  # Verisign, Nominet, JPRS "No match!!"
    re.compile(r"^\W*(?:%+\s*)?NOT FOUND\b", re.I | re.M),  # AFNIC, many gTLD back-ends
    re.compile(r"^\W*Not found:", re.I | re.M),  # CIRA
    re.compile(r"\bNo (?:entries|data|objects?|records?|information) (?:was )?(?:found|available)", re.I),
    re.compile(r"^\s*Status:\s*(?:free|available)\s*$", re.I | re.M),  # DENIC, EURid, nic.it
    re.compile(r"^\W*(?:The )?(?:domain|object)(?: name)? (?:\S+ )?(?:was )?not found\b", re.I | re.M),
    re.compile(r"^\s*\S+\.\S+ is free\s*$", re.I | re.M),  # SIDN
)


@dataclass
class WhoisRecord:
    """A parsed answer: the domain's answer and the registrar WHOIS server it names (thin registries)."""

    answer: DomainAnswer
    referral: str | None = None


def _top(entries: Iterable[Entry]) -> list[Entry]:
    return [e for e in entries if not e.skip and (e.section is None or e.section in TRANSPARENT_SECTIONS)]


def _first(entries: list[Entry], keys: tuple[str, ...]) -> str | None:
    for key in keys:
        for entry in entries:
            if entry.key == key and entry.value:
                return entry.value
    return None


def _first_date(entries: list[Entry], keys: tuple[str, ...]) -> date | datetime | None:
    for key in keys:
        for entry in entries:
            if entry.key == key and entry.value and (value := parse_date(entry.value)) is not None:
                return value
    return None


def _named_section(entries: list[Entry], section: str) -> str | None:
    items = [e for e in entries if e.section == section and not e.skip]
    for key in NAMED_SECTION_KEYS:
        for entry in items:
            if entry.key == key and entry.value:
                return entry.value
    return None


def _person(value: str | None) -> str | None:
    if value is None:
        return None
    value = _EMAIL.sub("", value).strip()  # old registrar format: "Name    e-mail" on one line
    if not value or _REDACTED.search(value) or value.endswith("!"):
        return None
    return value


def _registrant(entries: list[Entry], top: list[Entry]) -> str | None:
    for key in REGISTRANT_KEYS:
        for entry in top:
            if entry.key == key and (name := _person(entry.value)) is not None:
                return name
    for section in ("registrant", "registrant contact", "holder"):
        if (name := _person(_named_section(entries, section))) is not None:
            return name
    return None


def _status(value: str) -> list[str]:
    value = re.split(r"\s+https?://", value, maxsplit=1)[0]
    value = re.sub(r"\s*\([^)]*\)\s*$", "", value).strip()  # JPRS "Connected (2025/09/30)"
    parts = value.split(",") if "," in value else [value]
    return [p.strip() for p in parts if p.strip()]


def _statuses(entries: list[Entry], top: list[Entry]) -> list[str]:
    found: list[str] = []
    for entry in top:
        if entry.key in STATUS_KEYS and entry.value:
            found.extend(_status(entry.value))
    for entry in entries:
        if not entry.skip and entry.section in STATUS_SECTIONS and entry.key == "" and entry.value:
            found.append(entry.value)
    return list(dict.fromkeys(found))


def _nameserver(value: str) -> str | None:
    token = value.split()[0] if value.split() else ""
    token = host_name(token.strip(",;"))
    return token if _HOST.match(token) and not re.fullmatch(r"[\d.]+", token) else None


def _nameservers(entries: list[Entry]) -> list[str]:
    found: list[str] = []
    for entry in entries:
        if entry.skip or not entry.value:
            continue
        top_level = entry.section is None and entry.key in NS_KEYS
        in_section = entry.section in NS_SECTIONS and entry.key in ("", *NS_KEYS)
        if (top_level or in_section) and (host := _nameserver(entry.value)) is not None:
            found.append(host)
    return list(dict.fromkeys(found))


def _expires(top: list[Entry]) -> date | datetime | None:
    found = _first_date(top, EXPIRES_KEYS)
    if found is None:  # JPRS: "[State] Connected (2025/09/30)" carries the end of the term
        for entry in top:
            if entry.key == "[state]" and "(" in entry.value:
                return parse_date(entry.value.split("(", 1)[1])
    return found


def _from_domain(entries: list[Entry], domain: str | None) -> list[Entry]:
    """The entries from the one naming ``domain`` (else from the first domain line) on."""
    wanted = domain.lower().rstrip(".") if domain else None
    first: int | None = None
    for index, entry in enumerate(entries):
        named = entry.key in DOMAIN_KEYS or (entry.section in ("domain name", "domain") and entry.key == "")
        if not named:
            continue
        if wanted is None or entry.value.lower().rstrip(".") == wanted:
            return entries[index:]
        if first is None:
            first = index
    return entries[first:] if first is not None and wanted is None else entries


def read_record(text: str, server: str, domain: str | None = None) -> WhoisRecord:
    """Parse ``text`` (see the module doc); raises RateLimited or ProtocolError."""
    refusal = find_throttle(text)  # first: before any record or "not found" line is read
    if refusal is not None:
        raise rate_limited(server, refusal)
    entries = _from_domain(tokenize(text), domain)
    top = _top(entries)
    registrar = _first(top, REGISTRAR_KEYS) or _named_section(entries, "registrar")
    registration = Registration(
        source="whois",
        server=server,
        registrar=registrar,
        created=_first_date(top, CREATED_KEYS),
        expires=_expires(top),
        updated=_first_date(top, UPDATED_KEYS),
        statuses=_statuses(entries, top),
        nameservers=_nameservers(entries),
        registrant=_registrant(entries, top),
    )
    referral = _first(top, REFERRAL_KEYS)
    has_data = any(
        (
            registration.registrar,
            registration.created,
            registration.expires,
            registration.nameservers,
            registration.registrant,  # a registrar's answer may hold only that (shazow.net.txt)
        )
    )
    if has_data:
        return WhoisRecord(DomainAnswer(True, registration), whois_host(referral))
    if any(p.search(text) for p in NOT_FOUND):
        return WhoisRecord(DomainAnswer(False))
    raise ProtocolError(
        f"unreadable WHOIS answer ({len(text)} characters): no record, no 'not found' text", provider=server
    )


def parse_whois(text: str, server: str, domain: str | None = None) -> DomainAnswer:
    """One WHOIS answer from ``server`` to a DomainAnswer (``domain``: the name asked, when known)."""
    return read_record(text, server, domain).answer
