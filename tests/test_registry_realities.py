"""Issue 8: the ways a real registry tripped the gateways on day one, each against the sandbox.

Where the sandbox shares a guess with the gateway (a result code no public source gives), the test
changes the sandbox's answer (its config) to show the gateway does not depend on the guess.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from sandbox.stack import Sandbox
from shared.audit import MemoryAudit
from shared.errors import AwaitingRegistry, NeedsOperator, ProtocolError, Throttled
from shared.execution import Defer, Done
from shared.gateways import gateway_for
from shared.gateways.dates import add_years
from shared.gateways.rotld import registry_day
from shared.gateways.rotld_commands import envelope_data
from shared.http import HttpResponse
from shared.http.digest import DigestState
from shared.jobs import JobStatus, RenewJob
from shared.settings import load_settings
from shared.upstream import CallPolicy, LimiterGuard
from testkit.factories import register
from tests.test_runner import Rig, build_rig

ROTLD = "rotld"


class ScriptedGuard:
    """The real limiter guard, plus: throttle the next ``n`` requests of chosen operations."""

    def __init__(self, inner: LimiterGuard) -> None:
        self.inner = inner
        self.pending: dict[str, int] = {}
        self.seen: list[str] = []

    def throttle(self, operation: str, times: int = 1) -> None:
        self.pending[operation] = self.pending.get(operation, 0) + times

    def before_request(self, provider: str, operation: str) -> None:
        self.seen.append(operation)
        if self.pending.get(operation, 0) > 0:
            self.pending[operation] -= 1
            raise Throttled(provider, 0.05, f"scripted throttle of {operation}")
        self.inner.before_request(provider, operation)

    def after_response(self, provider: str, status: int | None, retry_after: float | None) -> None:
        self.inner.after_response(provider, status, retry_after)


@pytest.fixture
def scripted(sandbox: Sandbox, tmp_path: Path) -> Iterator[tuple[Rig, ScriptedGuard]]:
    guards: list[ScriptedGuard] = []

    def wrap(inner: LimiterGuard) -> ScriptedGuard:
        guards.append(ScriptedGuard(inner))
        return guards[0]

    options = {ROTLD: {"digest_state": DigestState(), "readback_seconds": 0.3}}
    with build_rig(sandbox, tmp_path, wrap, options) as rig:
        yield rig, guards[0]


def ops(sb: Sandbox) -> dict[str, int]:
    return {k: v for k, v in sb.stats(ROTLD)["by_operation"].items() if v}


def deliveries(rig: Rig, key: str, limit: int = 12) -> list[Defer | Done]:
    steps: list[Defer | Done] = []
    for n in range(limit):
        steps.append(rig.deliver(key, n))
        if isinstance(steps[-1], Done):
            return steps
    raise AssertionError(f"{key} not final after {limit} deliveries: {steps}")


# --- 0. a Digest challenge is not a send; a reconcile that finds nothing means "not created" -----------
def test_a_throttled_challenge_resend_records_no_phase_and_keeps_the_nonce(
    scripted: tuple[Rig, ScriptedGuard],
) -> None:
    rig, guard = scripted
    guard.throttle("digest-challenge")  # the first request of the process is challenged; its resend waits
    key = rig.submit(register("primul-pas.ro"))
    first = rig.deliver(key)
    assert isinstance(first, Defer) and not first.counted
    record = rig.store.jobs.require(key)
    assert record.phase is None  # the credential-less request earned a 401 and changed nothing
    outcome = rig.until_final(key)
    assert outcome.status is JobStatus.SUCCEEDED, outcome
    stats = rig.sandbox.stats(ROTLD)
    assert stats["unauthorized"] == 1  # the challenge was kept across the throttle: no second one
    assert stats["effects"]["primul-pas.ro"] == {"create": 1}
    assert "domain-info" not in guard.seen[: guard.seen.index("domain-register")]  # nothing reconciled


def test_a_register_whose_send_never_created_anything_is_not_rejected(
    scripted: tuple[Rig, ScriptedGuard],
) -> None:
    """A delivery died with ``sending`` recorded, but the create never reached the registry: the next
    delivery's domain-info answers 50002 (what the registry says for an unknown domain)."""
    rig, _guard = scripted
    key = rig.submit(register("niciodata.ro"))
    rig.store.jobs.claim(key, "dead-worker", 0.01)
    assert rig.store.jobs.set_phase(key, "dead-worker", "sending", {"sent_on": date.today().isoformat()})
    outcome = rig.until_final(key)
    assert outcome.status is JobStatus.SUCCEEDED, outcome
    assert outcome.result is not None and outcome.result["reconciled"] is False
    assert rig.sandbox.stats(ROTLD)["effects"]["niciodata.ro"] == {"create": 1}


@pytest.mark.parametrize("code", ["50002", "50301", "10002"])
def test_not_found_codes_read_as_not_created_and_10002_as_ambiguous(sandbox: Sandbox, code: str) -> None:
    """10002 is read two ways by public code ("unknown command", "no longer ours"): a reconciliation that
    took it for "not created" would send a second create, so it waits for an operator instead."""
    sandbox.reset()
    sandbox.configure(ROTLD, not_ours_code=code)
    settings = load_settings(
        rotld_api_url=sandbox.rotld_url,
        rotld_user="sandbox-user",
        rotld_password="sandbox-pass",
        outbound_allow_private=True,
    )
    gw = gateway_for(ROTLD, settings, MemoryAudit())
    try:
        if code == "10002":
            with pytest.raises(NeedsOperator, match="10002"):
                gw.find("nu-exista.ro", CallPolicy())
        else:
            assert gw.find("nu-exista.ro", CallPolicy()) is None
    finally:
        gw.close()


def test_contact_create_does_not_arm_sending_and_a_throttled_create_reads_nothing(
    scripted: tuple[Rig, ScriptedGuard],
) -> None:
    rig, guard = scripted
    guard.throttle("domain-register", times=3)
    key = rig.submit(register("contact-intai.ro"))
    steps = deliveries(rig, key)
    assert [type(s).__name__ for s in steps] == ["Defer", "Defer", "Defer", "Done"]
    final = steps[-1]
    assert isinstance(final, Done) and final.outcome is not None
    assert final.outcome.status is JobStatus.SUCCEEDED and final.outcome.attempts == 1
    # The contact was created once and reused; the throttled creates left no phase to reconcile.
    assert ops(rig.sandbox)["contact-create"] == 1
    assert ops(rig.sandbox)["domain-info"] == 1  # the read-back after the create, no reconciliation


def test_a_reconciled_send_is_read_once_not_once_per_throttle(scripted: tuple[Rig, ScriptedGuard]) -> None:
    rig, guard = scripted
    key = rig.submit(register("citit-o-data.ro"))
    rig.store.jobs.claim(key, "dead-worker", 0.01)
    rig.store.jobs.set_phase(key, "dead-worker", "sending", {"sent_on": date.today().isoformat()})
    guard.throttle("domain-register", times=4)
    outcome = rig.until_final(key, deliveries=10)
    assert outcome.status is JobStatus.SUCCEEDED
    assert ops(rig.sandbox)["domain-info"] == 2  # one reconciliation + the read-back after the create


# --- 1. an in-zone nameserver: glue first; a failure after the create is a warning ----------------------
def test_an_in_zone_nameserver_with_glue_registers(scripted: tuple[Rig, ScriptedGuard]) -> None:
    rig, _guard = scripted
    job = register("zona.ro", nameservers=["ns1.zona.ro", "ns.extern.net"], glue={"ns1.zona.ro": ["8.8.8.8"]})
    outcome = rig.until_final(rig.submit(job))
    assert outcome.status is JobStatus.SUCCEEDED, outcome
    assert outcome.result is not None and outcome.result["warnings"] == []
    assert rig.sandbox.domains(ROTLD)[0]["nameservers"] == ["ns1.zona.ro", "ns.extern.net"]
    assert ops(rig.sandbox)["nameserver-create"] == 1


def test_a_failed_nameserver_step_still_succeeds_with_a_warning_and_a_follow_up(
    scripted: tuple[Rig, ScriptedGuard],
) -> None:
    rig, _guard = scripted
    rig.sandbox.set_faults(ROTLD, [{"operation": "domain-reset-ns", "kind": "status", "status": 500}])
    job = register("ns-esuat.ro", nameservers=["ns1.extern.net", "ns2.extern.net"])
    outcome = rig.until_final(rig.submit(job))
    assert outcome.status is JobStatus.SUCCEEDED, outcome
    result = outcome.result or {}
    assert result["nameservers_pending"] is True and "nameservers" in result["warnings"][0]
    follow = rig.store.jobs.require(result["follow_up"])
    assert follow.kind == "nameservers" and follow.status is JobStatus.QUEUED
    # each of the step's 500s was reported as it happened: three in a row open this rig's breaker
    assert rig.breaker.state(ROTLD).state == "open"
    rig.sandbox.set_faults(ROTLD, [])
    rig.breaker.reset(ROTLD, "test: the registry is back")
    done = rig.until_final(follow.key)
    assert done.status is JobStatus.SUCCEEDED and (done.result or {})["changed"] is True
    assert rig.sandbox.domains(ROTLD)[0]["nameservers"] == ["ns1.extern.net", "ns2.extern.net"]
    assert rig.sandbox.stats(ROTLD)["effects"]["ns-esuat.ro"]["create"] == 1


def test_a_reconciliation_finishes_the_nameserver_step(scripted: tuple[Rig, ScriptedGuard]) -> None:
    """The create happened (an earlier delivery died after it), the nameservers were never set."""
    rig, _guard = scripted
    job = register("pe-jumatate.ro", nameservers=["ns1.extern.net"])
    key = rig.submit(job)
    rig.sandbox.seed_domains(ROTLD, [{"fqdn": "pe-jumatate.ro", "owner": "us"}])
    rig.store.jobs.claim(key, "dead-worker", 0.01)
    rig.store.jobs.set_phase(key, "dead-worker", "sending", {"sent_on": date.today().isoformat()})
    outcome = rig.until_final(key)
    assert outcome.status is JobStatus.SUCCEEDED and (outcome.result or {})["reconciled"] is True
    assert rig.sandbox.domains(ROTLD)[0]["nameservers"] == ["ns1.extern.net"]
    assert "domain-register" not in ops(rig.sandbox)


# --- 2. unknown codes are final business errors; "taken" comes from check-availability ------------------
def test_an_unknown_code_fails_the_job_once_without_opening_the_breaker(
    scripted: tuple[Rig, ScriptedGuard],
) -> None:
    rig, _guard = scripted
    rig.sandbox.configure(ROTLD, command_errors={"domain-register": ["50400", "Insufficient balance"]})
    outcomes = [rig.until_final(rig.submit(register(f"fara-bani-{n}.ro"))) for n in range(4)]
    assert {o.status for o in outcomes} == {JobStatus.FAILED}
    assert {o.error_code for o in outcomes} == {"registry_error"}
    assert all(o.attempts == 1 for o in outcomes)  # not retried
    assert "50400" in (outcomes[0].error_message or "") and "balance" in (outcomes[0].error_message or "")
    assert rig.breaker.state(ROTLD).state == "closed"  # 4 > the breaker's 3 failures: none counted


def test_a_taken_name_is_unavailable_whatever_code_a_register_would_give(
    scripted: tuple[Rig, ScriptedGuard],
) -> None:
    rig, _guard = scripted
    rig.sandbox.configure(ROTLD, register_taken_code="59999")  # a code no table of ours knows
    rig.sandbox.seed_domains(ROTLD, [{"fqdn": "ocupat.ro", "owner": "other"}])
    outcome = rig.until_final(rig.submit(register("ocupat.ro")))
    assert outcome.status is JobStatus.FAILED and outcome.error_code == "domain_unavailable"
    assert "domain-register" not in ops(rig.sandbox)


# --- 3. an ambiguous reconciliation waits for a human instead of re-sending -----------------------------
def test_an_ambiguous_domain_info_leaves_the_job_waiting_for_an_operator(
    scripted: tuple[Rig, ScriptedGuard],
) -> None:
    rig, _guard = scripted
    key = rig.submit(register("ambiguu.ro"))
    rig.store.jobs.claim(key, "dead-worker", 0.01)
    rig.store.jobs.set_phase(key, "dead-worker", "sending", {"sent_on": date.today().isoformat()})
    rig.sandbox.configure(ROTLD, command_errors={"domain-info": ["40001", "Registry maintenance"]})
    deadline = time.monotonic() + 10
    step = rig.deliver(key)
    while isinstance(step, Defer) and "another delivery holds the lease" in step.reason:  # the dead lease
        assert time.monotonic() < deadline
        time.sleep(0.05)
        step = rig.deliver(key)
    assert isinstance(step, Defer) and not step.counted and step.countdown >= 60
    record = rig.store.jobs.require(key)
    assert record.status is JobStatus.WAITING and "needs an operator" in (record.wait_reason or "")
    assert "40001" in (record.wait_reason or "")
    assert "domain-register" not in ops(rig.sandbox)
    rig.sandbox.configure(ROTLD, command_errors={})  # the registry answers plainly again
    assert rig.until_final(key).status is JobStatus.SUCCEEDED


# --- 5. a renew's read-back waits for the new expiry ----------------------------------------------------
def _wait_until(condition: Any, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def test_a_lagging_registry_never_records_the_old_expiry_nor_renews_twice(
    scripted: tuple[Rig, ScriptedGuard],
) -> None:
    rig, _guard = scripted
    rig.sandbox.seed_domains(ROTLD, [{"fqdn": "intarziat.ro", "owner": "us", "expires": "2031-06-01"}])
    rig.sandbox.configure(ROTLD, renew_lag_seconds=2.0)
    key = rig.submit({"kind": "renew", "domain": "intarziat.ro", "current_expiry": "2031-06-01"})
    for n in range(3):
        step = rig.deliver(key, n)
        assert isinstance(step, Defer) and not step.counted, step
        record = rig.store.jobs.require(key)
        assert record.phase == "answered" and "still shows 2031-06-01" in (record.wait_reason or "")
    assert rig.sandbox.stats(ROTLD)["effects"]["intarziat.ro"] == {"renew": 1}
    _wait_until(lambda: rig.sandbox.domains(ROTLD) and _shown_expiry(rig) == "2032-06-01", 10)
    outcome = rig.until_final(key)
    assert outcome.status is JobStatus.SUCCEEDED and (outcome.result or {})["expires_at"] == "2032-06-01"
    assert rig.sandbox.stats(ROTLD)["effects"]["intarziat.ro"] == {"renew": 1}


def _shown_expiry(rig: Rig) -> str | None:
    settings = load_settings(
        rotld_api_url=rig.sandbox.rotld_url,
        rotld_user="sandbox-user",
        rotld_password="sandbox-pass",
        outbound_allow_private=True,
    )
    with gateway_for(ROTLD, settings, MemoryAudit()) as gw:
        expires = gw.info("intarziat.ro", CallPolicy()).expires_at
    return expires.isoformat() if expires else None


def test_the_gandi_renew_read_back_waits_for_the_expected_expiry(sandbox: Sandbox) -> None:
    sandbox.reset()
    sandbox.seed_domains("gandi", [{"fqdn": "lent.com", "owner": "us", "expires": "2031-06-01"}])
    settings = load_settings(
        gandi_api_url=sandbox.gandi_url,
        gandi_token="sandbox-token",
        outbound_allow_private=True,
        gandi_visibility_wait_seconds=0.3,
    )
    with gateway_for("gandi", settings, MemoryAudit()) as gw:
        job = RenewJob(domain="lent.com", years=1)
        with pytest.raises(AwaitingRegistry, match="2033-06-01"):  # the sandbox shows 2032: not that
            gw.renew(job, CallPolicy(), expected=add_years(date(2031, 6, 1), 2))
        renewed = gw.renew(job, CallPolicy(), expected=date(2033, 6, 1))
    assert renewed.expires_at == date(2033, 6, 1)  # the second renewal's own read-back


# --- also: result codes as numbers, the date formats ROTLD sends ----------------------------------------
def _envelope(body: bytes) -> HttpResponse:
    return HttpResponse(ROTLD, 200, {"Content-Type": "application/json"}, body, "/")


def test_a_numeric_result_code_is_read_like_the_string() -> None:
    assert envelope_data(_envelope(b'{"error": 0, "result_code": 200, "data": {"x": 1}}')) == {"x": 1}
    assert envelope_data(_envelope(b'{"error": "0", "result_code": "00200", "data": {}}')) == {}


@pytest.mark.parametrize(
    ("raw", "day"),
    [
        ("2027-05-01", date(2027, 5, 1)),
        ("2027-05-01 10:00:00", date(2027, 5, 1)),
        ("2027-05-01T23:30:00+00:00", date(2027, 5, 1)),
        ("2027-05-01T01:30:00+03:00", date(2027, 4, 30)),
    ],
)
def test_expiration_dates_in_the_formats_rotld_sends(raw: str, day: date) -> None:
    assert registry_day({"expiration_date": raw}, "expiration_date") == day


@pytest.mark.parametrize("raw", ["01.05.2027", "May 1 2027", "20270501x"])
def test_any_other_expiration_date_fails_loudly(raw: str) -> None:
    with pytest.raises(ProtocolError, match="not an ISO date"):
        registry_day({"expiration_date": raw}, "expiration_date")


def test_a_gandi_in_zone_nameserver_gets_its_glue_record_first(scripted: tuple[Rig, ScriptedGuard]) -> None:
    rig, _guard = scripted
    job = register("zona-gandi.com", nameservers=["ns1.zona-gandi.com", "ns.extern.net"])
    job["glue"] = {"ns1.zona-gandi.com": ["8.8.8.8", "2001:4860:4860::8888"]}
    outcome = rig.until_final(rig.submit(job))
    assert outcome.status is JobStatus.SUCCEEDED and (outcome.result or {})["warnings"] == [], outcome
    stats = rig.sandbox.stats("gandi")
    assert stats["by_operation"]["hosts"] == 1 and stats["effects"]["zona-gandi.com"]["create"] == 1
    domain = next(d for d in rig.sandbox.domains("gandi") if d["fqdn"] == "zona-gandi.com")
    assert domain["nameservers"] == ["ns1.zona-gandi.com", "ns.extern.net"]


def test_a_contact_id_the_registry_forgot_is_created_again(scripted: tuple[Rig, ScriptedGuard]) -> None:
    """A kept contact id the registry no longer knows (50006): created again, the register still once."""
    rig, _guard = scripted
    first = rig.until_final(rig.submit(register("intai.ro")))
    assert first.status is JobStatus.SUCCEEDED
    rig.sandbox.reset()  # the registry forgets its contacts (and domains); our directory still has the id
    second = rig.until_final(rig.submit(register("al-doilea.ro")))
    assert second.status is JobStatus.SUCCEEDED, second
    assert ops(rig.sandbox)["contact-create"] == 1 and ops(rig.sandbox)["domain-register"] == 2
    assert rig.sandbox.stats(ROTLD)["effects"]["al-doilea.ro"] == {"create": 1}
