"""Transfer-in jobs through the runner, against the sandbox over HTTP (issue 20): check first, start once,
follow to the end; the auth code leaves jobs.params once sent and never reaches outcomes, audit or logs.

Built like tests/test_runner.py: ``runner.run(key, owner)`` is one delivery; a Defer is the task re-scheduled,
the next call the next delivery (what a redelivery after a crash looks like too).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from sandbox.stack import Sandbox
from shared.execution import Defer, Done
from shared.execution.follow import age_text
from shared.jobs import JobOutcome, JobStatus
from shared.store import Store
from shared.store.schema import JobRow
from testkit.factories import person
from tests.test_runner import Rig, build_rig

CODE = "Gd7-transfer-CODE-x1"  # the auth code: must never show anywhere but jobs.params before the start
ROTLD_KEY = "BPKerUnZM7vhy2A"
GANDI = {"visibility_delay": 0, "transfer_delay": 0.3, "pending_transfer_delay": 0.3}


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(gandi_config=GANDI) as sb:
        yield sb


@pytest.fixture
def rig(sandbox: Sandbox, tmp_path: Path) -> Iterator[Rig]:
    with build_rig(sandbox, tmp_path, transfer_follow_seconds=0.1, gandi_visibility_wait_seconds=0.3) as r:
        sandbox.configure("gandi", **GANDI)
        yield r


def transfer(domain: str, code: str = CODE, **extra: Any) -> dict[str, Any]:
    job: dict[str, Any] = {"kind": "transfer", "domain": domain, "auth_code": code, **extra}
    if not domain.endswith(".ro") and "owner" not in job:
        job["owner"] = person()
    return job


def follow(rig: Rig, key: str, seconds: float = 8.0) -> tuple[JobOutcome, list[str]]:
    """Deliver until final, sleeping (shortly) through each wait; the outcome and every wait's reason."""
    reasons: list[str] = []
    deadline = time.monotonic() + seconds
    n = 0
    while time.monotonic() < deadline:
        step = rig.deliver(key, n)
        n += 1
        if isinstance(step, Done):
            assert step.outcome is not None
            return step.outcome, reasons
        assert isinstance(step, Defer)
        reasons.append(step.reason)
        time.sleep(min(step.countdown, 0.1))
    raise AssertionError(f"{key} not final after {seconds} s: {reasons[-3:]}")


def ops(rig: Rig, provider: str) -> dict[str, int]:
    return {k: v for k, v in rig.sandbox.stats(provider)["by_operation"].items() if v}


def stored(store: Store) -> str:
    """Every row of every table, as text (jobs, audit rows, webhook deliveries, inventory...)."""
    out = []
    with store.db.engine.connect() as conn:
        for table in JobRow.metadata.sorted_tables:
            out.extend(repr(tuple(row)) for row in conn.execute(sa.select(table)))
    return "\n".join(out)


def assert_code_gone(rig: Rig, key: str, caplog: pytest.LogCaptureFixture, code: str = CODE) -> None:
    record = rig.store.jobs.require(key)
    assert record.params["auth_code"] == "***"
    assert code not in repr(record.outcome()) and code not in stored(rig.store)
    assert code not in caplog.text


# -- gandi ------------------------------------------------------------------------------------------------
def test_a_gandi_transfer_is_followed_to_completion(rig: Rig, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    rig.sandbox.seed_domains("gandi", [{"fqdn": "moving.com", "owner": "other", "expires": "2027-03-01"}])
    key = rig.submit(transfer("moving.com", years=2, callback_url="https://hooks.example.org/regq"))
    assert rig.store.jobs.require(key).params["auth_code"] == CODE  # kept until the registry has it
    first = rig.deliver(key)
    assert isinstance(first, Defer) and not first.counted
    assert first.reason.startswith("gandi: transfer pending at gandi: step ")
    waiting = rig.store.jobs.require(key)
    assert waiting.status is JobStatus.WAITING and waiting.phase == "started"
    assert waiting.wait_reason is not None and "transfer pending at gandi" in waiting.wait_reason
    assert waiting.params["auth_code"] == "***"  # scrubbed once the start was sent

    outcome, reasons = follow(rig, key)
    assert outcome.status is JobStatus.SUCCEEDED, outcome
    [listed] = rig.sandbox.domains("gandi")
    assert listed["expires"] == "2029-03-01"  # the registry's (old expiry + 2 years), set by the sandbox
    assert outcome.result == {
        "domain": "moving.com",
        "expires_at": "2029-03-01",
        "registrar": "gandi",
        "autorenew_at_registrar": False,
        "warnings": [],
        "notes": [],
    }
    assert rig.store.inventory.get("moving.com").expires_at == date(2029, 3, 1)
    counted = ops(rig, "gandi")
    assert counted["transfer_check"] == 1 and counted["transfer_start"] == 1 and counted["autorenew"] == 1
    assert counted["transfer_info"] == len(reasons) + 2  # the start's read-back, then one per delivery
    assert rig.sandbox.stats("gandi")["effects"] == {"moving.com": {"transfer": 1}}
    assert all(r.startswith("gandi: transfer pending at gandi: step ") for r in reasons)
    assert_code_gone(rig, key, caplog)


@pytest.mark.parametrize(("domain", "words"), [("xfer-refused-a.com", "refused"), ("xfer-timeout-a.com", "")])
def test_a_refused_transfer_fails_with_the_registrar_reason(
    rig: Rig, caplog: pytest.LogCaptureFixture, domain: str, words: str
) -> None:
    key = rig.submit(transfer(domain))
    outcome, _ = follow(rig, key)
    assert outcome.status is JobStatus.FAILED and outcome.error_code == "transfer_failed"
    message = str(outcome.error_message)
    assert f"the transfer of {domain} failed at gandi" in message and words in message
    assert ops(rig, "gandi")["transfer_start"] == 1 and "autorenew" not in ops(rig, "gandi")
    assert rig.store.inventory.get(domain) is None
    assert_code_gone(rig, key, caplog)


def test_a_domain_that_cannot_move_is_rejected_before_any_start(rig: Rig) -> None:
    key = rig.submit(transfer("xfer-locked-b.com"))
    outcome, _ = follow(rig, key)
    assert outcome.status is JobStatus.REJECTED and outcome.error_code == "not_transferable"
    assert outcome.error_message is not None and "clientTransferProhibited" in outcome.error_message
    assert ops(rig, "gandi") == {"transfer_check": 1}  # nothing started, nothing paid
    assert rig.store.jobs.require(key).phase is None


def test_a_wrong_code_is_rejected_by_the_check(rig: Rig, caplog: pytest.LogCaptureFixture) -> None:
    key = rig.submit(transfer("wrongcode.com", code="bad-code-42"))
    outcome, _ = follow(rig, key)
    assert outcome.status is JobStatus.REJECTED
    assert "authorization code is not valid" in str(outcome.error_message)
    assert "transfer_start" not in ops(rig, "gandi") and "bad-code-42" not in caplog.text


def test_a_lost_start_answer_is_reconciled_and_never_started_twice(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    rig.sandbox.set_faults("gandi", [{"operation": "transfer_start", "kind": "commit_drop", "count": 1}])
    key = rig.submit(transfer("dropped.com"))
    first = rig.deliver(key)
    assert isinstance(first, Defer) and not first.counted  # a wait: the next delivery reads first
    record = rig.store.jobs.require(key)
    assert record.phase == "sending" and record.params["auth_code"] == CODE
    outcome, _ = follow(rig, key)
    assert outcome.status is JobStatus.SUCCEEDED and outcome.result["expires_at"]
    assert ops(rig, "gandi")["transfer_start"] == 1
    assert rig.sandbox.stats("gandi")["effects"] == {"dropped.com": {"transfer": 1}}
    assert_code_gone(rig, key, caplog)


@pytest.fixture
def one_try(sandbox: Sandbox, tmp_path: Path) -> Iterator[Rig]:
    options = dict(transfer_follow_seconds=0.1, gandi_visibility_wait_seconds=0.3, http_tries=1)
    with build_rig(sandbox, tmp_path, **options) as r:
        sandbox.configure("gandi", **GANDI)
        yield r


def test_a_start_that_never_arrived_waits_for_an_operator(one_try: Rig) -> None:
    # The start is reset before Gandi applies it: nothing started, but the client cannot be sure.
    rig = one_try
    rig.sandbox.set_faults("gandi", [{"operation": "transfer_start", "kind": "reset_before", "count": 1}])
    key = rig.submit(transfer("lost.com"))
    reasons = []
    for n in range(6):
        step = rig.deliver(key, n)
        assert isinstance(step, Defer)
        reasons.append(step.reason)
        if "needs an operator" in step.reason:
            break
        time.sleep(min(step.countdown, 0.35))
    assert "needs an operator" in reasons[-1] and "never starts a transfer twice" in reasons[-1]
    assert any("shows no transfer yet" in r for r in reasons)  # read once more after the wait
    assert rig.store.jobs.require(key).phase == "sending"
    started = ops(rig, "gandi").get("transfer_start", 0)
    rig.sandbox.clear_faults("gandi")
    rig.deliver(key, 9)  # a later re-read: still nothing known, still no second start
    assert ops(rig, "gandi").get("transfer_start", 0) == started
    assert rig.sandbox.stats("gandi")["effects"] == {}


def test_a_transfer_pending_too_long_fails_without_an_answer(sandbox: Sandbox, tmp_path: Path) -> None:
    with build_rig(sandbox, tmp_path, transfer_follow_seconds=0.1, transfer_max_days=0.4 / 86400) as rig:
        sandbox.configure("gandi", **GANDI)
        key = rig.submit(transfer("xfer-nofoa-c.com"))  # the FOA e-mail is never answered
        outcome, reasons = follow(rig, key)
    assert outcome.status is JobStatus.FAILED and outcome.error_code == "transfer_timeout"
    assert "no answer from the registry" in str(outcome.error_message)
    assert "step waiting_foa" in reasons[0]


# -- rotld ------------------------------------------------------------------------------------------------
def seed_rotld(rig: Rig, domain: str, **config: Any) -> None:
    rig.sandbox.seed_domains("rotld", [{"fqdn": domain, "owner": "other", "expires": "2031-04-05"}])
    rig.sandbox.configure("rotld", transfer_keys={domain: ROTLD_KEY}, **config)


def test_a_synchronous_rotld_transfer_succeeds_at_once(rig: Rig, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    seed_rotld(rig, "muta.ro", transfer_mode="sync")
    key = rig.submit(transfer("muta.ro", code=ROTLD_KEY))
    outcome = rig.until_final(key)
    assert outcome.status is JobStatus.SUCCEEDED
    assert outcome.result["expires_at"] == "2031-04-05" and outcome.result["autorenew_at_registrar"] is None
    assert outcome.result["notes"] and "auto-renew" in outcome.result["notes"][0]
    assert rig.store.inventory.get("muta.ro").expires_at == date(2031, 4, 5)
    assert ops(rig, "rotld")["domain-transfer"] == 1
    assert_code_gone(rig, key, caplog, ROTLD_KEY)


def test_a_pending_rotld_transfer_is_followed(rig: Rig) -> None:
    seed_rotld(rig, "incet.ro", transfer_mode="pending", transfer_pending_seconds=0.4)
    key = rig.submit(transfer("incet.ro", code=ROTLD_KEY))
    outcome, reasons = follow(rig, key)
    assert outcome.status is JobStatus.SUCCEEDED and outcome.result["expires_at"] == "2031-04-05"
    assert reasons and all("transfer pending at rotld" in r for r in reasons)
    assert ops(rig, "rotld")["domain-transfer"] == 1


def test_a_refused_rotld_key_fails_with_the_registry_words(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    seed_rotld(rig, "cheie.ro")
    key = rig.submit(transfer("cheie.ro", code="WrongKey123"))
    outcome = rig.until_final(key)
    assert outcome.status is JobStatus.FAILED and "Invalid authorization key" in str(outcome.error_message)
    assert ops(rig, "rotld")["domain-transfer"] == 1
    assert_code_gone(rig, key, caplog, "WrongKey123")


def test_an_unregistered_ro_domain_is_rejected(rig: Rig) -> None:
    key = rig.submit(transfer("liber.ro", code=ROTLD_KEY))
    outcome = rig.until_final(key)
    assert outcome.status is JobStatus.REJECTED and "not registered" in str(outcome.error_message)
    assert "domain-transfer" not in ops(rig, "rotld")


# -- register parity ----------------------------------------------------------------------------------------
def test_a_register_switches_the_registrar_auto_renew_off(rig: Rig) -> None:
    from testkit.factories import register

    outcome = rig.until_final(rig.submit(register("fresh.com")))
    assert outcome.status is JobStatus.SUCCEEDED and outcome.result["autorenew_at_registrar"] is False
    assert ops(rig, "gandi")["autorenew"] == 1


def test_age_text() -> None:
    assert [age_text(s) for s in (5, 600, 7300, 200000)] == ["5 s", "10 min", "2 h", "2 d 7 h"]
