"""Owner-change jobs through the runner, against the sandbox over HTTP (issue 20): started once (a lost
answer is reconciled by reading first), followed with waits until done or failed, ROTLD's trade confirmed
once; the auth code leaves jobs.params once sent and never reaches outcomes, audit rows or logs.

Built like tests/test_transfer_job.py: ``rig.deliver`` is one delivery, a Defer the task re-scheduled.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from sandbox.stack import Sandbox
from shared.execution import Defer
from shared.jobs import JobStatus
from testkit.factories import person
from tests.test_runner import Rig, build_rig
from tests.test_transfer_job import assert_code_gone, follow, ops, stored

KEY = "BPKerUnZM7vhy2A"
GANDI = {"visibility_delay": 0, "changeowner_delay": 0.3}


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(gandi_config=GANDI) as sb:
        yield sb


@pytest.fixture
def rig(sandbox: Sandbox, tmp_path: Path) -> Iterator[Rig]:
    with build_rig(sandbox, tmp_path, transfer_follow_seconds=0.1, gandi_visibility_wait_seconds=0.3) as r:
        sandbox.configure("gandi", **GANDI)
        yield r


def owner_change(domain: str, **extra: Any) -> dict[str, Any]:
    ro = domain.endswith(".ro")
    job: dict[str, Any] = {"kind": "owner_change", "domain": domain, "owner": person("RO" if ro else "FR")}
    job["owner"]["email"] = "new.owner.private@example.org"
    if ro:
        job["auth_code"] = KEY
    return {**job, **extra}


def hold(rig: Rig, registrar: str, domain: str) -> None:
    rig.sandbox.seed_domains(registrar, [{"fqdn": domain, "owner": "us", "expires": "2030-06-01"}])
    rig.store.inventory.upsert(domain, registrar, date(2030, 6, 1))


# -- gandi ----------------------------------------------------------------------------------------------
def test_a_gandi_owner_change_is_followed_to_completion(rig: Rig, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    hold(rig, "gandi", "mine.com")
    before = rig.store.inventory.get("mine.com")
    key = rig.submit(owner_change("mine.com", callback_url="https://hooks.example.org/regq"))
    first = rig.deliver(key)
    assert isinstance(first, Defer) and not first.counted
    assert "owner change pending at gandi: step waiting_foa" in first.reason
    assert rig.store.jobs.require(key).phase == "started"
    outcome, reasons = follow(rig, key)
    assert outcome.status is JobStatus.SUCCEEDED, outcome
    assert outcome.result == {"domain": "mine.com", "registrar": "gandi", "owner_changed": True}
    assert ops(rig, "gandi")["changeowner"] == 1
    assert rig.sandbox.stats("gandi")["effects"] == {"mine.com": {"owner_change": 1}}
    after = rig.store.inventory.get("mine.com")
    assert before is not None and after is not None
    assert (after.expires_at, after.status, after.registrar) == (before.expires_at, before.status, "gandi")
    assert after.updated_at is not None and before.updated_at is not None
    assert after.updated_at > before.updated_at
    assert all("owner change pending at gandi" in r for r in reasons)
    # the new owner's personal data stays in jobs.params: not in the outcome, logs or audit rows
    assert "new.owner.private" not in repr(outcome) and "new.owner.private" not in caplog.text
    assert rig.store.audit.calls() and "new.owner.private" not in repr(rig.store.audit.calls())


def test_a_refused_gandi_owner_change_fails_with_the_reason(rig: Rig) -> None:
    hold(rig, "gandi", "owner-refused-b.com")
    key = rig.submit(owner_change("owner-refused-b.com"))
    outcome, _ = follow(rig, key)
    assert outcome.status is JobStatus.FAILED and outcome.error_code == "owner_change_failed"
    assert "refused the owner change" in str(outcome.error_message)
    assert ops(rig, "gandi")["changeowner"] == 1


def test_a_lost_changeowner_answer_is_reconciled_and_never_sent_twice(rig: Rig) -> None:
    hold(rig, "gandi", "dropped.com")
    rig.sandbox.set_faults("gandi", [{"operation": "changeowner", "kind": "commit_drop", "count": 1}])
    key = rig.submit(owner_change("dropped.com"))
    first = rig.deliver(key)
    assert isinstance(first, Defer) and not first.counted
    assert rig.store.jobs.require(key).phase == "sending"
    outcome, _ = follow(rig, key)
    assert outcome.status is JobStatus.SUCCEEDED
    assert ops(rig, "gandi")["changeowner"] == 1
    assert rig.sandbox.stats("gandi")["effects"] == {"dropped.com": {"owner_change": 1}}


def test_an_owner_change_pending_too_long_fails(sandbox: Sandbox, tmp_path: Path) -> None:
    with build_rig(sandbox, tmp_path, transfer_follow_seconds=0.1, transfer_max_days=0.4 / 86400) as rig:
        sandbox.configure("gandi", **GANDI)
        hold(rig, "gandi", "owner-nofoa-b.com")
        key = rig.submit(owner_change("owner-nofoa-b.com"))
        outcome, _ = follow(rig, key)
    assert outcome.status is JobStatus.FAILED and outcome.error_code == "owner_change_timeout"


# -- rotld ----------------------------------------------------------------------------------------------
def trade_ready(rig: Rig, domain: str, **config: Any) -> None:
    hold(rig, "rotld", domain)
    rig.sandbox.configure("rotld", transfer_keys={domain: KEY}, **config)


def test_a_synchronous_rotld_trade_succeeds(rig: Rig, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    trade_ready(rig, "vand.ro", trade_mode="sync")
    key = rig.submit(owner_change("vand.ro", years=2))
    assert rig.store.jobs.require(key).params["auth_code"] == KEY  # kept until the registry has it
    outcome = rig.until_final(key)
    assert outcome.status is JobStatus.SUCCEEDED
    assert outcome.result == {
        "domain": "vand.ro",
        "registrar": "rotld",
        "owner_changed": True,
        "reference": "7001",
    }
    counted = ops(rig, "rotld")
    assert counted["domain-trade"] == 1 and counted["contact-create"] == 1 and "trade-confirm" not in counted
    [listed] = rig.sandbox.domains("rotld")
    assert listed["registrant_id"] == rig.store.jobs.require(key).phase_data["contact_id"]
    assert_code_gone(rig, key, caplog, KEY)


def test_a_pending_rotld_trade_is_confirmed_once_and_followed(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    trade_ready(rig, "astept.ro", trade_mode="pending", trade_pending_seconds=0.3)
    key = rig.submit(owner_change("astept.ro"))
    outcome, reasons = follow(rig, key)
    assert outcome.status is JobStatus.SUCCEEDED, outcome
    counted = ops(rig, "rotld")
    assert counted["domain-trade"] == 1 and counted["trade-confirm"] == 1 and counted["contact-create"] == 1
    assert any("step confirmed" in r for r in reasons)
    assert_code_gone(rig, key, caplog, KEY)


def test_redelivery_after_a_lost_trade_answer_never_trades_twice(rig: Rig) -> None:
    trade_ready(rig, "pierdut.ro", trade_mode="sync")
    rig.sandbox.set_faults("rotld", [{"operation": "domain-trade", "kind": "commit_drop", "count": 1}])
    key = rig.submit(owner_change("pierdut.ro"))
    first = rig.deliver(key)
    assert isinstance(first, Defer) and rig.store.jobs.require(key).phase == "sending"
    outcome = rig.until_final(key)
    assert outcome.status is JobStatus.SUCCEEDED  # the registrant reads as the new contact: done
    assert ops(rig, "rotld")["domain-trade"] == 1 and ops(rig, "rotld")["contact-create"] == 1


def test_a_refused_rotld_trade_fails_and_the_key_never_shows(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    trade_ready(rig, "trade-refused-y.ro", trade_mode="sync")
    key = rig.submit(owner_change("trade-refused-y.ro"))
    outcome = rig.until_final(key)
    assert outcome.status is JobStatus.FAILED and outcome.error_code == "owner_change_failed"
    assert "The registrant refused the trade" in str(outcome.error_message)
    assert_code_gone(rig, key, caplog, KEY)


def test_a_wrong_rotld_key_fails_once(rig: Rig, caplog: pytest.LogCaptureFixture) -> None:
    trade_ready(rig, "cheie.ro")
    key = rig.submit(owner_change("cheie.ro", auth_code="WrongKey123"))
    outcome = rig.until_final(key)
    assert outcome.status is JobStatus.FAILED and "Invalid authorization key" in str(outcome.error_message)
    assert ops(rig, "rotld")["domain-trade"] == 1
    assert "WrongKey123" not in stored(rig.store) and "WrongKey123" not in caplog.text


# -- a transfer's admin / bill / tech reach Gandi (issue 20, part 2) -----------------------------------
def test_a_gandi_transfer_job_sends_its_other_contacts(rig: Rig) -> None:
    import requests

    rig.sandbox.configure("gandi", transfer_delay=0.1, pending_transfer_delay=0.1)
    rig.sandbox.seed_domains("gandi", [{"fqdn": "moving.com", "owner": "other", "expires": "2027-03-01"}])
    job = {
        "kind": "transfer",
        "domain": "moving.com",
        "auth_code": "Gd7-transfer-CODE",
        "owner": person(),
        "admin": person(email="admin.role@example.org"),
        "bill": person(email="bill.role@example.org"),
    }
    outcome, _ = follow(rig, rig.submit(job))
    assert outcome.status is JobStatus.SUCCEEDED, outcome
    shown = requests.get(
        f"{rig.sandbox.gandi_url}/domain/domains/moving.com/contacts",
        headers={"Authorization": "Bearer sandbox-token"},
        timeout=5,
    ).json()
    assert (shown["admin"]["email"], shown["bill"]["email"]) == (
        "admin.role@example.org",
        "bill.role@example.org",
    )
    assert shown["tech"]["email"] == person()["email"]


def test_transfers_list_shows_a_pending_owner_change(rig: Rig) -> None:
    from shared.execution.transfer_admin import pending_transfers
    from shared.jobs import JobKind

    hold(rig, "gandi", "owner-nofoa-c.com")
    key = rig.submit(owner_change("owner-nofoa-c.com"))
    assert isinstance(rig.deliver(key), Defer)
    both = pending_transfers(rig.store, kinds=(JobKind.TRANSFER, JobKind.OWNER_CHANGE))
    assert [(r.key, r.kind, r.phase) for r in both] == [(key, "owner_change", "started")]
    assert "owner change pending at gandi" in str(both[0].wait_reason)
    assert pending_transfers(rig.store) == []  # the default: transfers only (the pending-transfers gauge)
