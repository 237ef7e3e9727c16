"""What a registrar's webhook means for regq, and the whole receipt of one (``POST /v1/hooks/{registrar}``).

::

    registrar not gandi/rotld ───────────────────────────────> 404 unknown_registrar
    no REGQ_<REGISTRAR>_WEBHOOK_SECRET ──────────────────────> 503 unknown_registrar (the hook is off;
                                                                   the registrar's retries come back later)
    signature missing / wrong (raw body, constant time) ─────> 401 bad_signature   nothing else happens
    timestamp beyond the tolerance, either way ──────────────> 401 stale
    body not an event (JSON, id, type, fields) ──────────────> 400 malformed
    event id seen within the window (Redis key, then store) ─> 200 replayed        no effect
    domain.renewed / domain.expiry_changed
        held here ────> expiry written, status active (expired if the date is past)    200 accepted
        not held ─────> a ``sync`` job keyed hook:<registrar>:<id> (reads the truth)   200 accepted
        held at the other registrar, or a TLD this registrar does not serve ─────────> 200 ignored
    domain.transferred_out
        held here ────> status ``missing``: no longer ours, the renewal scan skips it  200 accepted
        not held / held elsewhere ───────────────────────────────────────────────────> 200 ignored
    any other event type ────────────────────────────────────────────────────────────> 200 ignored

Every request leaves one ``hook_receipts`` row (outcome, event id/type/domain once the signature proved
them, a short detail; never the secret, the signature or the body). Ignored events answer 200 so the
registrar stops resending them; a replay answers 200 as well (a registrar resends when our answer was
lost, and must stop), with ``outcome: replayed`` and no effect.

Replays: the event id is remembered fleet-wide as a key of the domain-lock family named
``hook:<registrar>:<id>`` with a fresh owner token, never released once handled, lapsing when the event's
timestamp itself turns stale (``t + tolerance``: a later copy is refused as stale anyway). The store's
receipts are checked too, so a lost Redis does not re-open the window. A failure while applying the event
releases the key, so the registrar's retry is applied.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from shared.jobs import SyncJob, parse_job
from shared.locks import DomainLock
from shared.settings import ENV_PREFIX, Settings
from shared.store import Store
from shared.store.hook_receipts import (
    ACCEPTED,
    BAD_SIGNATURE,
    IGNORED,
    MALFORMED,
    REPLAYED,
    STALE,
    UNKNOWN_REGISTRAR,
)
from shared.store.inventory import ACTIVE, EXPIRED, MISSING
from shared.store.schema import utcnow
from shared.webhooks.inbound.events import (
    EXPIRY_EVENTS,
    SIGNATURE_HEADERS,
    TRANSFERRED_OUT,
    RegistrarEvent,
    check_signature,
    handled_by,
    parse_event,
)

#: HTTP status per outcome (``unknown_registrar`` is 404 or 503, see the module doc).
STATUS = {ACCEPTED: 200, IGNORED: 200, REPLAYED: 200, BAD_SIGNATURE: 401, STALE: 401, MALFORMED: 400}

SubmitSync = Callable[[SyncJob], str]
"""Submits a sync job (``tasks.publish.submit`` in the API) and answers its key."""


@dataclass(frozen=True)
class HookAnswer:
    """The HTTP answer to one webhook and the receipt it left."""

    status: int
    outcome: str
    detail: str
    receipt: int
    action: str | None = None
    event_id: str | None = None

    def body(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome,
            "detail": self.detail,
            "action": self.action,
            "event_id": self.event_id,
            "receipt": self.receipt,
        }


@dataclass(frozen=True)
class Effect:
    """What applying an event did: ``accepted`` with an action, or ``ignored`` with the reason."""

    outcome: str
    action: str | None
    detail: str


def secret_variable(registrar: str) -> str:
    return f"{ENV_PREFIX}{registrar.upper()}_WEBHOOK_SECRET"


def replay_key(registrar: str, event_id: str) -> str:
    """The name under which an event id is remembered (a key of the domain-lock family)."""
    return f"hook:{registrar}:{event_id}"


def refuse_oversized(store: Store, registrar: str, cap: int) -> HookAnswer:
    """Record a body past the cap (refused before it is read further): 413."""
    detail = f"body larger than {cap} bytes"
    receipt = store.hook_receipts.record(registrar, MALFORMED, detail=detail)
    return HookAnswer(413, MALFORMED, detail, receipt)


def receive(
    registrar: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    settings: Settings,
    store: Store,
    memory: DomainLock,
    submit_sync: SubmitSync,
    now: float | None = None,
) -> HookAnswer:
    """Verify, de-duplicate and apply one webhook; record its receipt; answer what HTTP should say."""
    receipts = store.hook_receipts
    header_name = SIGNATURE_HEADERS.get(registrar)
    if header_name is None:
        detail = f"no webhooks from {registrar[:32]!r}: known registrars are {', '.join(SIGNATURE_HEADERS)}"
        return HookAnswer(
            404, UNKNOWN_REGISTRAR, detail, receipts.record(registrar, UNKNOWN_REGISTRAR, detail=detail)
        )
    secret = getattr(settings, f"{registrar}_webhook_secret", None)
    if secret is None or not secret.get_secret_value():
        detail = f"webhooks from {registrar} are off: {secret_variable(registrar)} is not set"
        return HookAnswer(
            503, UNKNOWN_REGISTRAR, detail, receipts.record(registrar, UNKNOWN_REGISTRAR, detail=detail)
        )

    clock = time.time() if now is None else now
    tolerance = settings.hook_tolerance_seconds
    verdict = check_signature(
        body, headers.get(header_name), secret.get_secret_value(), now=clock, tolerance=tolerance
    )
    if verdict.outcome == BAD_SIGNATURE:  # an unsigned body proves nothing: none of it is recorded
        receipt = receipts.record(
            registrar, BAD_SIGNATURE, detail=verdict.detail, signed_at=verdict.signed_at
        )
        return HookAnswer(401, BAD_SIGNATURE, verdict.detail, receipt)
    try:
        event = parse_event(body)
    except ValueError as exc:
        outcome = verdict.outcome or MALFORMED
        detail = verdict.detail if verdict.outcome else str(exc)
        receipt = receipts.record(registrar, outcome, detail=detail, signed_at=verdict.signed_at)
        return HookAnswer(STATUS[outcome], outcome, detail, receipt)

    def answer(outcome: str, detail: str, action: str | None = None) -> HookAnswer:
        receipt = receipts.record(
            registrar,
            outcome,
            event_id=event.id,
            event_type=event.type,
            domain=event.domain,
            detail=detail,
            signed_at=verdict.signed_at,
        )
        return HookAnswer(STATUS[outcome], outcome, detail, receipt, action, event.id)

    if verdict.outcome == STALE:
        return answer(STALE, verdict.detail)
    assert verdict.timestamp is not None
    name, owner = replay_key(registrar, event.id), uuid.uuid4().hex
    remember = max(1.0, verdict.timestamp + tolerance - clock + 1)
    if not memory.acquire(name, owner, remember):
        return answer(REPLAYED, "event id already received within the tolerance window")
    try:
        if receipts.handled(registrar, event.id):
            return answer(REPLAYED, "event id already handled (recorded receipt)")
        effect = apply_event(store, registrar, event, submit_sync)
        return answer(effect.outcome, effect.detail, effect.action)
    except BaseException:
        memory.release(name, owner)  # not handled: the registrar's retry must get through
        raise


def apply_event(store: Store, registrar: str, event: RegistrarEvent, submit_sync: SubmitSync) -> Effect:
    """Turn a verified, first-seen event into an inventory update or a sync job (or nothing)."""
    if not event.known or event.domain is None:
        return Effect(IGNORED, None, f"event type {event.type!r} is not one regq acts on")
    domain = event.domain
    served_by = handled_by(domain)
    if served_by != registrar:
        return Effect(
            IGNORED, None, f"{domain} is not a {registrar} domain for regq ({served_by or 'unsupported TLD'})"
        )
    held = store.inventory.get(domain)
    if held is not None and held.registrar != registrar:
        return Effect(IGNORED, None, f"{domain} is held at {held.registrar}, not {registrar}")
    if event.type in EXPIRY_EVENTS:
        assert event.expires_at is not None
        if held is None:
            job = parse_job(
                {
                    "kind": "sync",
                    "domain": domain,
                    "registrar": registrar,
                    "idempotency_key": replay_key(registrar, event.id),
                }
            )
            assert isinstance(job, SyncJob)
            key = submit_sync(job)
            return Effect(ACCEPTED, "sync_submitted", f"{domain} is not in the inventory: sync job {key}")
        status = _status_for(event.expires_at, utcnow().date())
        store.inventory.upsert(domain, registrar, event.expires_at, status)
        before = held.expires_at.isoformat() if held.expires_at else "unknown"
        detail = f"expiry {before} -> {event.expires_at.isoformat()}, status {held.status} -> {status}"
        return Effect(ACCEPTED, "expiry_updated", detail)
    assert event.type == TRANSFERRED_OUT
    if held is None:
        return Effect(IGNORED, None, f"{domain} is not in the inventory")
    store.inventory.set_status(domain, MISSING)
    return Effect(ACCEPTED, "marked_missing", f"status {held.status} -> {MISSING}: no more renewals")


def _status_for(expires_at: date, today: date) -> str:
    return EXPIRED if expires_at < today else ACTIVE
