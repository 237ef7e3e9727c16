"""Registrar webhooks in one process: the signature scheme, event parsing, and ``receive`` over the real
store (SQLite and Postgres) with in-process replay memory. The same path through a real ``regq api``
process is tests/test_hooks_api.py."""

from __future__ import annotations

import json
import time
from datetime import date

import pytest

from sandbox import gandi_events
from shared.jobs import SyncJob
from shared.locks import MemoryDomainLock
from shared.settings import load_settings
from shared.store import Store
from shared.store.inventory import ACTIVE, EXPIRED, MISSING
from shared.webhooks.inbound.events import check_signature, parse_event
from shared.webhooks.inbound.receive import HookAnswer, receive
from shared.webhooks.signature import signature_header

SECRET = "whsec-test-4f1c2a9b7e"
NOW = 1_796_000_000.0
TOLERANCE = 300.0


def _verify(header: str | None, body: bytes, now: float = NOW) -> tuple[str | None, str]:
    verdict = check_signature(body, header, SECRET, now=now, tolerance=TOLERANCE)
    return verdict.outcome, verdict.detail


# --- the signature scheme ---------------------------------------------------------------------------------
def test_the_sandbox_sender_and_the_verifier_agree_and_tampering_is_caught() -> None:
    body = gandi_events.encode(gandi_events.renewed_elsewhere("example.com", date(2028, 3, 1)))
    header = gandi_events.sign(SECRET, body, int(NOW))
    assert header == signature_header([SECRET], body, int(NOW))  # two implementations, one scheme
    assert _verify(header, body) == (None, "signature verified")
    assert _verify(header, body + b" ")[0] == "bad_signature"  # one byte more
    assert _verify(header, body.replace(b"2028", b"2029"))[0] == "bad_signature"
    assert _verify(gandi_events.sign("other-secret", body, int(NOW)), body)[0] == "bad_signature"
    # the timestamp is signed too: moving it breaks the signature
    moved = header.replace(f"t={int(NOW)}", f"t={int(NOW) + 1}")
    assert _verify(moved, body)[0] == "bad_signature"


@pytest.mark.parametrize(
    "header",
    [None, "", "v1=" + "0" * 64, f"t={int(NOW)}", f"t=abc,v1={'0' * 64}", f"t={int(NOW)},v1=XYZ", "garbage"],
)
def test_a_missing_or_malformed_header_is_a_bad_signature(header: str | None) -> None:
    assert _verify(header, b"{}")[0] == "bad_signature"


def test_a_rotated_secret_may_send_two_signatures_and_one_must_match() -> None:
    body = b'{"id":"evt_1","type":"domain.renewed"}'
    good = signature_header([SECRET], body, int(NOW)).split(",")[1]
    assert _verify(f"t={int(NOW)},v1={'a' * 64},{good}", body)[0] is None
    assert _verify(f"t={int(NOW)},v1={'a' * 64},v1={'b' * 64}", body)[0] == "bad_signature"


def test_timestamps_beyond_the_tolerance_either_way_are_stale() -> None:
    body = b"{}"
    for offset, fresh in ((0, True), (-TOLERANCE, True), (TOLERANCE, True), (-TOLERANCE - 2, False)):
        header = signature_header([SECRET], body, int(NOW + offset))
        assert (_verify(header, body)[0] is None) is fresh, offset
    future = signature_header([SECRET], body, int(NOW + TOLERANCE + 2))
    outcome, detail = _verify(future, body)
    assert outcome == "stale" and "in the future" in detail
    # a wrong signature on a stale request is a bad signature: stale is only said of authentic requests
    assert _verify(f"t={int(NOW - 9999)},v1={'0' * 64}", body)[0] == "bad_signature"


def test_event_parsing_names_the_field() -> None:
    event = parse_event(gandi_events.encode(gandi_events.expiry_changed("BÜCHER.com", date(2027, 5, 1))))
    assert (event.type, event.domain, event.expires_at) == (
        "domain.expiry_changed",
        "xn--bcher-kva.com",
        date(2027, 5, 1),
    )
    moved = gandi_events.event("domain.renewed", "example.com")
    moved["data"]["dates"] = {"registry_ends_at": "2028-02-29T23:30:00-02:00"}  # UTC: 1 March
    assert parse_event(gandi_events.encode(moved)).expires_at == date(2028, 3, 1)
    assert parse_event(gandi_events.encode(gandi_events.transferred_away("example.com"))).expires_at is None
    unknown = parse_event(b'{"id": "evt_9", "type": "domain.nameservers_changed"}')
    assert (unknown.known, unknown.domain) == (False, None)
    bad = {
        b"not json": "body",
        b"[1]": "body",
        b'{"type": "domain.renewed"}': "id",
        b'{"id": "evt 1", "type": "domain.renewed"}': "id",
        b'{"id": "evt_1\\n", "type": "domain.renewed"}': "id",
        b'{"id": "evt_1"}': "type",
        b'{"id": "evt_1", "type": "domain.renewed"}': "data",
        b'{"id": "e", "type": "domain.renewed", "data": {"fqdn": "www.example.com"}}': "data.fqdn",
        b'{"id": "e", "type": "domain.renewed", "data": {"fqdn": "example.com"}}': "data.dates",
        b'{"id": "e", "type": "domain.renewed", "data": {"fqdn": "example.com", "dates": '
        b'{"registry_ends_at": "soon"}}}': "data.dates.registry_ends_at",
    }
    for body, field in bad.items():
        with pytest.raises(ValueError, match=f"^{field}:"):
            parse_event(body)


# --- receive(): verification, replay memory and effects over the real store ---------------------------
class Desk:
    """``receive`` with fixed settings, one replay memory and a recording sync submitter."""

    def __init__(self, store: Store, memory: MemoryDomainLock | None = None) -> None:
        self.store = store
        self.memory = memory or MemoryDomainLock()
        self.settings = load_settings(gandi_webhook_secret=SECRET, rotld_webhook_secret=None)
        self.synced: list[SyncJob] = []
        self.broker_down = False

    def submit_sync(self, job: SyncJob) -> str:
        if self.broker_down:
            raise ConnectionError("broker down")
        self.synced.append(job)
        return str(job.idempotency_key)

    def post(
        self,
        body: bytes,
        *,
        registrar: str = "gandi",
        signed_at: float | None = None,
        header: str | None = None,
    ) -> HookAnswer:
        if header is None:
            header = gandi_events.sign(SECRET, body, int(time.time() if signed_at is None else signed_at))
        return receive(
            registrar,
            {"Gandi-Signature": header},
            body,
            settings=self.settings,
            store=self.store,
            memory=self.memory,
            submit_sync=self.submit_sync,
        )


def test_receive_verifies_remembers_and_applies(store: Store) -> None:
    desk = Desk(store)
    store.inventory.upsert("hook-renewed.com", "gandi", date(2027, 1, 10))
    store.inventory.upsert("hook-gone.com", "gandi", date(2027, 1, 10))
    store.inventory.upsert("hook-lapsed.com", "gandi", date(2027, 1, 10))
    first = store.hook_receipts.last_id()

    renewed = gandi_events.encode(gandi_events.renewed_elsewhere("hook-renewed.com", date(2028, 1, 10)))
    # bad signature: 401, nothing changed, a receipt that records nothing the body claimed
    forged = desk.post(renewed, header=gandi_events.sign("guessed", renewed, int(time.time())))
    assert (forged.status, forged.outcome) == (401, "bad_signature")
    assert store.inventory.get("hook-renewed.com").expires_at == date(2027, 1, 10)  # type: ignore[union-attr]
    # stale: refused, nothing changed, and the event id is not consumed by it
    stale = desk.post(renewed, signed_at=time.time() - 301)
    assert (stale.status, stale.outcome) == (401, "stale")
    assert store.inventory.get("hook-renewed.com").expires_at == date(2027, 1, 10)  # type: ignore[union-attr]

    good = desk.post(renewed)
    assert (good.status, good.outcome, good.action) == (200, "accepted", "expiry_updated")
    record = store.inventory.get("hook-renewed.com")
    assert record is not None and (record.expires_at, record.status) == (date(2028, 1, 10), ACTIVE)
    # the same event again (same body, fresh signature): refused by the replay memory, no second effect
    store.inventory.upsert("hook-renewed.com", "gandi", date(2029, 1, 10))
    again = desk.post(renewed)
    assert (again.status, again.outcome) == (200, "replayed")
    assert store.inventory.get("hook-renewed.com").expires_at == date(2029, 1, 10)  # type: ignore[union-attr]
    # a fleet whose Redis forgot the id: the recorded receipt still refuses it
    assert Desk(store, MemoryDomainLock()).post(renewed).outcome == "replayed"

    past = gandi_events.expiry_changed("hook-lapsed.com", date(2020, 1, 1))
    assert desk.post(gandi_events.encode(past)).action == "expiry_updated"
    assert store.inventory.get("hook-lapsed.com").status == EXPIRED  # type: ignore[union-attr]

    gone = desk.post(gandi_events.encode(gandi_events.transferred_away("hook-gone.com")))
    assert (gone.outcome, gone.action) == ("accepted", "marked_missing")
    assert store.inventory.get("hook-gone.com").status == MISSING  # type: ignore[union-attr]
    due = {r.domain for r in store.inventory.expiring(date(2030, 1, 1))}
    assert "hook-gone.com" not in due and "hook-renewed.com" in due  # no more renewals for it

    unknown = gandi_events.renewed_elsewhere("hook-unknown.com", date(2028, 1, 1), event_id="evt_unknown_1")
    synced = desk.post(gandi_events.encode(unknown))
    assert (synced.outcome, synced.action) == ("accepted", "sync_submitted")
    assert [(j.domain, j.idempotency_key) for j in desk.synced] == [
        ("hook-unknown.com", "hook:gandi:evt_unknown_1")
    ]
    assert store.inventory.get("hook-unknown.com") is None  # the sync job reads the truth, not the hook

    ignored = [
        gandi_events.encode(gandi_events.transferred_away("hook-never-held.com")),
        gandi_events.encode(gandi_events.renewed_elsewhere("hook-elsewhere.ro", date(2028, 1, 1))),
        b'{"id": "evt_ns_1", "type": "domain.nameservers_changed", "data": {}}',
    ]
    assert [desk.post(b).outcome for b in ignored] == ["ignored"] * 3
    assert len(desk.synced) == 1

    malformed = desk.post(b'{"id": "evt_m", "type": "domain.renewed", "data": {"fqdn": "hook-renewed.com"}}')
    assert (malformed.status, malformed.outcome) == (400, "malformed")

    receipts = store.hook_receipts.recent(after_id=first)
    outcomes = [r.outcome for r in receipts]
    assert outcomes == [
        "bad_signature",
        "stale",
        "accepted",
        "replayed",
        "replayed",
        "accepted",
        "accepted",
    ] + [
        "accepted",
        "ignored",
        "ignored",
        "ignored",
        "malformed",
    ]
    assert receipts[0].event_id is None and receipts[0].domain is None  # unproven: nothing recorded
    assert receipts[1].event_id == receipts[2].event_id and receipts[1].signed_at is not None
    assert all(r.received_at.tzinfo is not None for r in receipts)
    for r in receipts:
        assert SECRET not in " ".join(str(v) for v in vars(r).values())
        assert "v1=" not in (r.detail or "")


def test_unknown_and_unconfigured_registrars_are_refused_and_recorded(store: Store) -> None:
    desk = Desk(store)
    body = gandi_events.encode(gandi_events.transferred_away("hook-x.ro"))
    unknown = desk.post(body, registrar="godaddy")
    off = desk.post(body, registrar="rotld")  # REGQ_ROTLD_WEBHOOK_SECRET unset: never accept unsigned events
    assert (unknown.status, unknown.outcome) == (404, "unknown_registrar")
    assert (off.status, off.outcome) == (503, "unknown_registrar")
    assert "REGQ_ROTLD_WEBHOOK_SECRET is not set" in off.detail
    receipts = store.hook_receipts.recent(limit=10, after_id=unknown.receipt - 1)
    assert [(r.registrar, r.outcome) for r in receipts] == [
        ("godaddy", "unknown_registrar"),
        ("rotld", "unknown_registrar"),
    ]


def test_a_failure_while_applying_forgets_the_event_id_so_the_retry_is_applied(store: Store) -> None:
    desk = Desk(store)
    desk.broker_down = True
    body = gandi_events.encode(gandi_events.renewed_elsewhere("hook-retry.com", date(2028, 1, 1)))
    with pytest.raises(ConnectionError):
        desk.post(body)
    assert store.hook_receipts.for_event("gandi", json.loads(body)["id"]) == []  # nothing was handled
    desk.broker_down = False
    retry = desk.post(body)
    assert (retry.outcome, retry.action) == ("accepted", "sync_submitted")
    assert len(desk.synced) == 1
