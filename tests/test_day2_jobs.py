"""Day-2 jobs (issue 20) through the runner with real gateways against the sandbox over HTTP: lock,
contacts, glue (each reads first and changes only what differs), and a queued renew of a domain that left
our account (cancelled, never sent)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from sandbox.stack import Sandbox
from shared.jobs import JobStatus
from shared.store.inventory import MISSING
from testkit.factories import person
from tests.test_runner import Rig, build_rig

PUBLIC_A, PUBLIC_B, PUBLIC_V6 = "8.8.8.8", "1.1.1.1", "2606:4700:4700::1111"


@pytest.fixture
def rig(sandbox: Sandbox, tmp_path: Path) -> Iterator[Rig]:
    with build_rig(sandbox, tmp_path) as built:
        yield built


def ops(rig: Rig, provider: str) -> dict[str, int]:
    return {k: v for k, v in rig.sandbox.stats(provider)["by_operation"].items() if v}


def ours(rig: Rig, fqdn: str, **extra: Any) -> None:
    provider = "rotld" if fqdn.endswith(".ro") else "gandi"
    rig.sandbox.seed_domains(provider, [{"fqdn": fqdn, "owner": "us", **extra}])
    rig.store.inventory.upsert(fqdn, provider, date.today() + timedelta(days=200))


def run(rig: Rig, job: dict[str, Any]) -> Any:
    return rig.until_final(rig.submit(job))


# --- lock -----------------------------------------------------------------------------------------------
def test_lock_off_then_on_and_already_in_state_sends_no_patch(rig: Rig) -> None:
    ours(rig, "mine.com")  # the sandbox's domains start locked
    same = run(rig, {"kind": "lock", "domain": "mine.com", "locked": True})
    assert same.status is JobStatus.SUCCEEDED and same.result == {"locked": True, "changed": False}
    assert "lock" not in ops(rig, "gandi")
    off = run(rig, {"kind": "lock", "domain": "mine.com", "locked": False})
    assert off.status is JobStatus.SUCCEEDED and off.result == {"locked": False, "changed": True}
    again = run(rig, {"kind": "lock", "domain": "mine.com", "locked": False})
    assert again.result == {"locked": False, "changed": False}
    on = run(rig, {"kind": "lock", "domain": "mine.com", "locked": True})
    assert on.result == {"locked": True, "changed": True}
    assert ops(rig, "gandi")["lock"] == 2  # one PATCH per change, none when already so


def test_lock_on_rotld_is_rejected_naming_rotld_before_any_request(rig: Rig) -> None:
    ours(rig, "mine.ro")
    before = rig.requests("rotld")
    outcome = run(rig, {"kind": "lock", "domain": "mine.ro", "locked": True})
    assert outcome.status is JobStatus.REJECTED
    assert "rotld" in outcome.error_message and "transfer lock" in outcome.error_message
    assert rig.requests("rotld") == before


def test_lock_where_the_gandi_tld_has_none_is_rejected(rig: Rig) -> None:
    rig.sandbox.configure("gandi", no_lock_tlds=["org"])
    ours(rig, "mine.org")
    outcome = run(rig, {"kind": "lock", "domain": "mine.org", "locked": True})
    assert outcome.status is JobStatus.REJECTED and "gandi" in outcome.error_message
    assert "lock" not in ops(rig, "gandi")


# --- contacts -------------------------------------------------------------------------------------------
def test_contacts_update_gandi_admin(rig: Rig) -> None:
    ours(rig, "mine.com")
    admin = person(email="admin@example.org")
    outcome = run(rig, {"kind": "contacts", "domain": "mine.com", "admin": admin})
    assert outcome.status is JobStatus.SUCCEEDED
    assert outcome.result == {"updated": ["admin"], "notes": []}
    shown = requests.get(
        f"{rig.sandbox.gandi_url}/domain/domains/mine.com/contacts",
        headers={"Authorization": "Bearer sandbox-token"},
        timeout=5,
    ).json()
    assert shown["admin"]["email"] == "admin@example.org"
    assert ops(rig, "gandi")["contacts"] == 1
    assert "admin@example.org" not in repr(outcome.result)


def test_contacts_update_rotld_owner_says_the_contact_is_shared(rig: Rig) -> None:
    registered = run(rig, {"kind": "register", "domain": "unu.ro", "years": 1, "owner": person("RO")})
    assert registered.status is JobStatus.SUCCEEDED
    moved = person("RO", streetaddr="Bd. Nou 7", city="Cluj-Napoca", state="Cluj")
    outcome = run(rig, {"kind": "contacts", "domain": "unu.ro", "owner": moved})
    assert outcome.status is JobStatus.SUCCEEDED and outcome.result["updated"] == ["owner"]
    [cid] = {d["registrant_id"] for d in rig.sandbox.domains("rotld")}
    assert outcome.result["notes"][0] == f"contact {cid} is shared: every domain using it changes"
    assert ops(rig, "rotld")["contact-update"] == 1
    assert moved["email"] not in repr(outcome.result) and moved["phone"] not in repr(outcome.result)


# --- glue -----------------------------------------------------------------------------------------------
def test_glue_create_unchanged_change_and_delete_on_gandi(rig: Rig) -> None:
    ours(rig, "mine.com")
    made = run(rig, {"kind": "glue", "domain": "mine.com", "hosts": {"ns1.mine.com": [PUBLIC_A]}})
    assert made.status is JobStatus.SUCCEEDED
    assert made.result == {"hosts": {"ns1.mine.com": [PUBLIC_A]}, "deleted": []}
    assert ops(rig, "gandi")["hosts"] == 1
    again = {
        "kind": "glue",
        "domain": "mine.com",
        "hosts": {"ns1.mine.com": [PUBLIC_A]},
        "idempotency_key": "g2",
    }
    same = run(rig, again)  # a new job (its own key) asking for what is already there
    assert same.status is JobStatus.SUCCEEDED and same.result == made.result
    assert ops(rig, "gandi")["hosts"] == 1 and "host_update" not in ops(rig, "gandi")  # nothing sent
    changed = run(
        rig, {"kind": "glue", "domain": "mine.com", "hosts": {"ns1.mine.com": [PUBLIC_B, PUBLIC_V6]}}
    )
    assert changed.result["hosts"] == {"ns1.mine.com": sorted([PUBLIC_B, PUBLIC_V6])}
    assert ops(rig, "gandi")["host_update"] == 1
    gone = run(rig, {"kind": "glue", "domain": "mine.com", "delete": ["ns1.mine.com"]})
    assert gone.status is JobStatus.SUCCEEDED and gone.result["deleted"] == ["ns1.mine.com"]
    assert ops(rig, "gandi")["host_delete"] == 1
    listed = requests.get(
        f"{rig.sandbox.gandi_url}/domain/domains/mine.com/hosts",
        headers={"Authorization": "Bearer sandbox-token"},
        timeout=5,
    ).json()
    assert listed == []


def test_glue_create_and_change_on_rotld(rig: Rig) -> None:
    ours(rig, "zona.ro")
    made = run(rig, {"kind": "glue", "domain": "zona.ro", "hosts": {"ns1.zona.ro": [PUBLIC_A]}})
    assert made.status is JobStatus.SUCCEEDED and made.result["hosts"] == {"ns1.zona.ro": [PUBLIC_A]}
    again = {
        "kind": "glue",
        "domain": "zona.ro",
        "hosts": {"ns1.zona.ro": [PUBLIC_A]},
        "idempotency_key": "r2",
    }
    same = run(rig, again)
    assert same.status is JobStatus.SUCCEEDED and same.result == made.result
    assert ops(rig, "rotld")["nameserver-create"] == 1 and "nameserver-update" not in ops(rig, "rotld")
    changed = run(rig, {"kind": "glue", "domain": "zona.ro", "hosts": {"ns1.zona.ro": [PUBLIC_B]}})
    assert changed.result["hosts"] == {"ns1.zona.ro": [PUBLIC_B]}
    assert ops(rig, "rotld")["nameserver-create"] == 1 and ops(rig, "rotld")["nameserver-update"] == 1
    gone = run(rig, {"kind": "glue", "domain": "zona.ro", "delete": ["ns1.zona.ro"]})
    assert gone.status is JobStatus.SUCCEEDED and ops(rig, "rotld")["nameserver-delete"] == 1


# --- a renew of a domain that left -------------------------------------------------------------------------
def test_a_queued_renew_of_a_domain_transferred_away_is_cancelled_unsent(rig: Rig) -> None:
    expires = date.today() + timedelta(days=20)
    rig.sandbox.seed_domains("gandi", [{"fqdn": "left.com", "owner": "us", "expires": expires.isoformat()}])
    rig.store.inventory.upsert("left.com", "gandi", expires)
    key = rig.submit({"kind": "renew", "domain": "left.com", "current_expiry": expires.isoformat()})
    rig.store.inventory.set_status("left.com", MISSING)  # a sync found it gone before the renew ran
    before = rig.requests("gandi")
    outcome = rig.until_final(key)
    assert outcome.status is JobStatus.REJECTED and outcome.error_code == "transferred_away"
    assert outcome.error_message == "left.com left our account (transferred away): renew cancelled"
    assert rig.requests("gandi") == before and rig.effects("gandi", "left.com").get("renew", 0) == 0
