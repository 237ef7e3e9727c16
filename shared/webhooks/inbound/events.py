"""What a registrar sends: the header its signature comes in, that signature's check, and the event.

Where the scheme comes from: neither registrar documents one. Gandi's API v5 documentation describes no
signed webhook for domain events (its legacy XML-RPC "Notification API" only manages notification
settings), and ROTLD's REST API 2.0 has ``poll-fetch`` / ``poll-ack`` instead of callbacks. So the scheme
is an ASSUMPTION, Stripe's, the common one for HMAC-signed webhooks:

* header ``<Registrar>-Signature: t=<unix seconds>,v1=<hex>`` (``Gandi-Signature``, ``Rotld-Signature``);
  several ``v1=`` entries may be given (a sender rotating its secret signs with both);
* ``v1`` is HMAC-SHA256, keyed with the registrar's secret (``REGQ_<REGISTRAR>_WEBHOOK_SECRET``), over
  the bytes ``<t>.<raw body>`` exactly as received (nothing is parsed before it is checked), compared in
  constant time: the scheme regq signs its own completion webhooks with, one implementation for both
  (:mod:`shared.webhooks.signature`);
* ``t`` further than ``REGQ_HOOK_TOLERANCE_SECONDS`` (300) from our clock, either way, is stale: a
  captured request cannot be replayed later, and within the window the event id is remembered.

The event (JSON object, assumed; the field names inside ``data`` are Gandi v5's domain object's)::

    {"id": "evt_...", "type": "domain.renewed" | "domain.expiry_changed" | "domain.transferred_out",
     "created_at": "2026-12-03T06:00:00Z",
     "data": {"fqdn": "example.com", "dates": {"registry_ends_at": "2028-03-01T10:00:00Z"}}}

``id`` (1-180 of ``A-Za-z0-9_.:-``) and ``type`` are required for every event; ``data.fqdn`` for the
three types regq acts on, ``data.dates.registry_ends_at`` for the two that move the expiry. Other types
are accepted as signed and recorded as ignored. ``sandbox/gandi_events.py`` is a sender of this scheme.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from shared.names import parse_domain
from shared.tlds import registrar_for
from shared.webhooks import signature

#: The registrars that may call ``POST /v1/hooks/{registrar}``, and the header each signs in.
SIGNATURE_HEADERS = {"gandi": "Gandi-Signature", "rotld": "Rotld-Signature"}
RENEWED, EXPIRY_CHANGED, TRANSFERRED_OUT = "domain.renewed", "domain.expiry_changed", "domain.transferred_out"
#: Event types that carry a new expiry (renewed at the registrar without us, or corrected there).
EXPIRY_EVENTS = frozenset({RENEWED, EXPIRY_CHANGED})
#: Event types regq acts on; any other signed type is recorded as ignored.
KNOWN_EVENTS = EXPIRY_EVENTS | {TRANSFERRED_OUT}
MAX_EVENT_ID = 180  # the sync job keyed ``hook:<registrar>:<id>`` must fit the 200-character key
_EVENT_ID = re.compile(rf"[A-Za-z0-9_.:-]{{1,{MAX_EVENT_ID}}}")
_EVENT_TYPE = re.compile(r"[a-z0-9_.-]{1,64}")
_LATEST_TIMESTAMP = 253402300799  # 9999-12-31T23:59:59Z: a later ``t`` is recorded as that


@dataclass(frozen=True)
class Verdict:
    """What the signature check found: ``outcome`` is ``None`` when the request is authentic and fresh,
    else ``bad_signature`` or ``stale``; ``signed_at`` is the header's time when it had one."""

    outcome: str | None
    detail: str
    signed_at: datetime | None = None
    timestamp: int | None = None

    @property
    def ok(self) -> bool:
        return self.outcome is None


def check_signature(body: bytes, header: str | None, secret: str, *, now: float, tolerance: float) -> Verdict:
    """Check ``header`` (the ``<Registrar>-Signature`` value) against the raw ``body``: the signature
    first, then the timestamp's distance from ``now`` (either way): :func:`signature.check`."""
    found = signature.check(body, header, secret, tolerance, now)
    signed_at = (
        datetime.fromtimestamp(min(found.timestamp, _LATEST_TIMESTAMP), UTC)
        if found.timestamp is not None
        else None
    )
    if found.ok:
        return Verdict(None, "signature verified", signed_at, found.timestamp)
    assert found.problem is not None
    outcome = "stale" if found.stale else "bad_signature"
    return Verdict(outcome, found.problem, signed_at, found.timestamp)


@dataclass(frozen=True)
class RegistrarEvent:
    """A verified event: its id and type, the domain (A-label) and new expiry when it names them."""

    id: str
    type: str
    domain: str | None = None
    expires_at: date | None = None

    @property
    def known(self) -> bool:
        return self.type in KNOWN_EVENTS


def _expiry(value: Any) -> date:
    if not isinstance(value, str) or not value:
        raise ValueError("data.dates.registry_ends_at: must be an ISO 8601 date or date-time")
    text = value.strip()
    try:
        if len(text) == 10:
            return date.fromisoformat(text)
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError("data.dates.registry_ends_at: must be an ISO 8601 date or date-time") from None
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.date()


def _domain(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("data.fqdn: must be a domain name")
    try:
        name = parse_domain(value)
    except ValueError as exc:
        raise ValueError(f"data.fqdn: {exc}") from None
    if not name.is_registrable:
        raise ValueError(f"data.fqdn: {name.ascii} is not a registrable name")
    return name.ascii


def handled_by(domain: str) -> str | None:
    """The registrar regq uses for ``domain``'s TLD (None: a TLD regq does not register)."""
    try:
        return registrar_for(parse_domain(domain)).value
    except ValueError:
        return None


def parse_event(body: bytes) -> RegistrarEvent:
    """The event in a verified ``body``; ValueError naming the field when it is not one."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise ValueError("body: not valid JSON") from None
    if not isinstance(data, dict):
        raise ValueError("body: must be a JSON object")
    event_id, event_type = data.get("id"), data.get("type")
    if not isinstance(event_id, str) or not _EVENT_ID.fullmatch(event_id):
        raise ValueError(f"id: must be 1-{MAX_EVENT_ID} characters of A-Z a-z 0-9 _ . : -")
    if not isinstance(event_type, str) or not _EVENT_TYPE.fullmatch(event_type):
        raise ValueError("type: must be 1-64 characters of a-z 0-9 _ . -")
    if event_type not in KNOWN_EVENTS:
        return RegistrarEvent(event_id, event_type)
    payload = data.get("data")
    if not isinstance(payload, dict):
        raise ValueError("data: must be a JSON object")
    domain = _domain(payload.get("fqdn"))
    if event_type not in EXPIRY_EVENTS:
        return RegistrarEvent(event_id, event_type, domain)
    dates = payload.get("dates")
    if not isinstance(dates, dict):
        raise ValueError("data.dates: must be a JSON object with registry_ends_at")
    return RegistrarEvent(event_id, event_type, domain, _expiry(dates.get("registry_ends_at")))
