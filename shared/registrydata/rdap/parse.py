"""RDAP JSON (RFC 9083) -> regq's values. Pure functions over the decoded body, no I/O.

What real servers do that this copes with (each seen in ``tests/data/rdap/``):

* entities nest (the registrar's abuse contact inside the registrar entity, whoisit__domain1.json; ARIN's
  contacts inside the registrant, whoisit__ip_v4_3.json): roles are searched level by level, top level first;
* roles are compared case-insensitively (RFC 9083 5.1 lists them lower case; some servers capitalise);
* entities without a ``vcardArray`` (rdap.nic.cz, RIPE) or without ``roles`` (some AFRINIC answers);
* ``fn`` may be empty (Verisign's redacted abuse entity): an empty name is no name;
* dates (RFC 9083 4.5, RFC 3339) with ``Z`` or an offset, and looser ones seen in the wild: without ``T``
  or without a zone (read as UTC), or a bare day (kept a day);
* host names upper case (Verisign: ``NS1.GOOGLE.COM``) or with a trailing dot: lower case, no dot.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

from shared.registrydata.model import Registration, host_name

RDAP_MEDIA_TYPE = "application/rdap+json"

#: Texts RDAP servers send when they throttle: 403 "Number of allowed queries exceeded" (rdap.nic.biz) and
#: 422 "Your access is too fast" (rdap.zdnsgtld.com), https://github.com/meeb/whoisit/issues/34; LACNIC's
#: "Rate Limit Notice" ``notices`` entry, https://github.com/secynic/ipwhois/issues/99. "subject to rate
#: limiting" in terms of use must not match.
_RATE_LIMIT_TEXT = re.compile(
    r"number of allowed queries exceeded|access is too fast|too many (?:requests|queries)"
    r"|rate limit(?:ed\b| exceeded| reached)|(?:query|queries|request) (?:limit|quota) (?:exceeded|reached)"
    r"|quota (?:exceeded|reached)|queried interval is too short",
    re.IGNORECASE,
)
#: "try again in 60 seconds", "wait 5 minutes", "retry after 30 s": the wait a throttle text states.
_WAIT_TEXT = re.compile(
    r"(?:in|after|wait|for)\s+(\d+(?:\.\d+)?)\s*(seconds?|secs?|s|minutes?|mins?|m|hours?|h)\b",
    re.IGNORECASE,
)
_UNIT_SECONDS = {"s": 1.0, "m": 60.0, "h": 3600.0}


# --- entities -----------------------------------------------------------------------------------------
def _entities(obj: Any) -> list[dict[str, Any]]:
    found = obj.get("entities") if isinstance(obj, dict) else None
    return [e for e in found if isinstance(e, dict)] if isinstance(found, list) else []


def walk_entities(obj: Any) -> Iterator[dict[str, Any]]:
    """Every entity of ``obj``, breadth-first: the top-level ones before the nested ones."""
    level = _entities(obj)
    while level:
        yield from level
        level = [child for entity in level for child in _entities(entity)]


def roles(entity: dict[str, Any]) -> set[str]:
    raw = entity.get("roles")
    if isinstance(raw, str):  # a single role given as a string instead of a list
        raw = [raw]
    return {r.strip().lower() for r in raw if isinstance(r, str)} if isinstance(raw, list) else set()


def entities_with_role(obj: Any, role: str) -> list[dict[str, Any]]:
    return [e for e in walk_entities(obj) if role in roles(e)]


def vcard_property(entity: dict[str, Any], name: str) -> str | None:
    """The first text value of vCard property ``name`` (jCard, RFC 7095), stripped; None when empty."""
    card = entity.get("vcardArray")
    if not (isinstance(card, list) and len(card) >= 2 and isinstance(card[1], list)):
        return None
    for prop in card[1]:
        if isinstance(prop, list) and len(prop) >= 4 and str(prop[0]).lower() == name:
            value = prop[3]
            if isinstance(value, list):  # structured values ("org" with units): the first part
                value = value[0] if value else None
            if isinstance(value, str) and value.strip():
                return value.strip()
    return None


def entity_name(entity: dict[str, Any]) -> str | None:
    """The ``fn`` of the entity's vCard, else its ``org``; None when it has neither (no vCard at all)."""
    return vcard_property(entity, "fn") or vcard_property(entity, "org")


def named_role(obj: Any, role: str) -> str | None:
    """The name of the first entity of ``role`` that has one."""
    for entity in entities_with_role(obj, role):
        name = entity_name(entity)
        if name:
            return name
    return None


def registrar_name(obj: Any) -> str | None:
    """The registrar: ``fn`` of the entity with role ``registrar``; without a vCard (rdap.nic.cz) its
    handle, which names the registrar there (``REG-INTERNET-CZ``)."""
    name = named_role(obj, "registrar")
    if name:
        return name
    for entity in entities_with_role(obj, "registrar"):
        handle = entity.get("handle")
        if isinstance(handle, str) and handle.strip():
            return handle.strip()
    return None


# --- dates, statuses, nameservers --------------------------------------------------------------------
def parse_date(text: Any) -> date | datetime | None:
    """An RDAP event date: a day stays a day; an instant becomes an aware UTC datetime (no zone: UTC)."""
    if not isinstance(text, str) or not text.strip():
        return None
    value = text.strip()
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return date.fromisoformat(value)
    value = re.sub(r"^(\d{4}-\d{2}-\d{2})[ t]", r"\1T", value)
    value = re.sub(r"[zZ]$", "+00:00", value)
    value = re.sub(r"([+-]\d{2})(\d{2})$", r"\1:\2", value)  # +0000 -> +00:00
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def events(obj: Any) -> dict[str, date | datetime]:
    """``eventAction`` (lower case) -> its date; the first of each action wins."""
    found: dict[str, date | datetime] = {}
    raw = obj.get("events") if isinstance(obj, dict) else None
    for event in raw if isinstance(raw, list) else []:
        if not isinstance(event, dict):
            continue
        action = event.get("eventAction")
        when = parse_date(event.get("eventDate"))
        if isinstance(action, str) and when is not None:
            found.setdefault(action.strip().lower(), when)
    return found


def statuses(obj: Any) -> list[str]:
    raw = obj.get("status") if isinstance(obj, dict) else None
    items = [s.strip() for s in raw if isinstance(s, str) and s.strip()] if isinstance(raw, list) else []
    return list(dict.fromkeys(items))


def object_host(obj: Any) -> str | None:
    """The host name of a domain or nameserver object: ``ldhName``, else ``unicodeName`` as an A-label."""
    if not isinstance(obj, dict):
        return None
    ldh = obj.get("ldhName")
    if isinstance(ldh, str) and ldh.strip():
        return host_name(ldh)
    uni = obj.get("unicodeName")
    if isinstance(uni, str) and uni.strip():
        try:
            return host_name(uni.strip().rstrip(".").encode("idna").decode("ascii"))
        except UnicodeError:
            return host_name(uni)
    return None


def nameservers(obj: Any) -> list[str]:
    raw = obj.get("nameservers") if isinstance(obj, dict) else None
    hosts = [object_host(ns) for ns in raw] if isinstance(raw, list) else []
    return list(dict.fromkeys(h for h in hosts if h))


# --- domains ------------------------------------------------------------------------------------------
def parse_domain(obj: dict[str, Any], server: str) -> Registration:
    """A domain object (RFC 9083 5.3) as a :class:`Registration` from ``server`` (its base URL)."""
    when = events(obj)
    return Registration(
        source="rdap",
        server=server,
        registrar=registrar_name(obj),
        created=when.get("registration"),
        expires=when.get("expiration"),
        updated=when.get("last changed"),
        statuses=statuses(obj),
        nameservers=nameservers(obj),
        registrant=named_role(obj, "registrant"),
    )


def merge(registry: Registration, registrar: Registration) -> Registration:
    """The registry's view completed by the registrar's (the ``related`` hop of a thin registry): the
    registry is authoritative for what it holds; the registrar's registrant wins (it holds the contact)."""
    return registry.completed_by(registrar, theirs_first=("registrant",))


def related_links(obj: Any) -> list[str]:
    """``href`` of each ``links`` entry with rel ``related`` and type ``application/rdap+json`` (RFC 9083
    4.2; thin registries point to the registrar's server so: Verisign's answers whoisit__domain1.json and
    whoisit__domain3.json in sandbox/data/rdap/). Other types are skipped: some
    point to HTML pages (APNIC's ``text/html`` link, whoisit__ip_v4.json)."""
    raw = obj.get("links") if isinstance(obj, dict) else None
    found: list[str] = []
    for link in raw if isinstance(raw, list) else []:
        if not isinstance(link, dict) or str(link.get("rel", "")).strip().lower() != "related":
            continue
        kind = str(link.get("type") or "").split(";", 1)[0].strip().lower()
        href = link.get("href")
        if kind == RDAP_MEDIA_TYPE and isinstance(href, str) and href.strip():
            found.append(href.strip())
    return list(dict.fromkeys(found))


# --- errors and throttling ------------------------------------------------------------------------------
def error_body(obj: Any) -> tuple[int | None, str] | None:
    """An RFC 9083 section 6 error body: (``errorCode``, "title: description") or None when not one."""
    if not isinstance(obj, dict) or "objectClassName" in obj:
        return None
    if not any(k in obj for k in ("errorCode", "title", "description")):
        return None
    code = obj.get("errorCode")
    number = code if isinstance(code, int) and not isinstance(code, bool) else None
    if number is None and isinstance(code, str) and code.strip().isdigit():
        number = int(code.strip())
    return number, error_text(obj)


def error_text(obj: Any) -> str:
    """``title`` and ``description`` lines of an error body or notice, joined, at most 300 characters."""
    if not isinstance(obj, dict):
        return ""
    parts: list[str] = []
    title = obj.get("title")
    if isinstance(title, str) and title.strip():
        parts.append(title.strip())
    desc = obj.get("description")
    lines = [desc] if isinstance(desc, str) else desc if isinstance(desc, list) else []
    body = "; ".join(line.strip() for line in lines if isinstance(line, str) and line.strip())
    if body:
        parts.append(body)
    return ": ".join(parts)[:300]


def rate_limit_notice(obj: Any) -> str | None:
    """The text of a ``notices`` (or ``remarks``) entry saying the query was throttled, else None."""
    if not isinstance(obj, dict):
        return None
    for key in ("notices", "remarks"):
        raw = obj.get(key)
        for notice in raw if isinstance(raw, list) else []:
            text = error_text(notice)
            if text and is_rate_limit_text(text):
                return text
    return None


def is_rate_limit_text(text: str) -> bool:
    return bool(_RATE_LIMIT_TEXT.search(text))


def stated_wait(text: str) -> float | None:
    """The wait a throttle text gives ("try again in 60 seconds", "wait 5 minutes"), in seconds."""
    match = _WAIT_TEXT.search(text)
    if not match:
        return None
    return float(match.group(1)) * _UNIT_SECONDS[match.group(2)[0].lower()]
