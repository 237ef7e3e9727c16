"""The Gandi gateway's day-2 operations (issue 20) against the sandbox's Gandi v5 stand-in, over real HTTP.

Each point the public sources leave open is played both ways by a sandbox config switch."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
import requests

from sandbox.stack import Sandbox
from sandbox.testing import wait_for
from shared.audit import MemoryAudit
from shared.contact import Contact
from shared.errors import AmbiguousError, DomainUnavailable, Unsupported, ValidationRejected
from shared.gateways import gateway_for
from shared.gateways.day2 import GlueHost, Secret, TransferState, TransferStatus
from shared.gateways.gandi import GandiGateway
from shared.settings import load_settings
from shared.upstream import CallPolicy

TOKEN = "sandbox-token"
OWNER = {
    "given": "Ana",
    "family": "Popescu",
    "email": "ana.secret@example.org",
    "phone": "+33.123456789",
    "streetaddr": "1 rue de la Paix",
    "city": "Paris",
    "zip": "75002",
    "country": "FR",
}
CTX = CallPolicy(job_key="job-1", attempt=1)
GOOD, BAD = Secret("Gd7-transfer-CODE"), Secret("bad-transfer-CODE")


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    config = {"visibility_delay": 0, "transfer_delay": 0.3, "pending_transfer_delay": 1.0}
    with Sandbox(gandi_token=TOKEN, gandi_config=config) as sb:
        yield sb


class Env:
    def __init__(self, sb: Sandbox, wait: float = 3.0) -> None:
        self.audit = MemoryAudit()
        settings = load_settings(
            gandi_api_url=sb.gandi_url,
            gandi_token=TOKEN,
            outbound_allow_private=True,
            read_timeout_seconds=2.0,
            gandi_visibility_wait_seconds=wait,
        )
        gw = gateway_for("gandi", settings, self.audit, sleep=lambda s: time.sleep(min(s, 0.05)))
        assert isinstance(gw, GandiGateway)
        self.gw = gw

    def operations(self) -> list[str]:
        return [c.operation for c in self.audit.calls]


@pytest.fixture
def env(sb: Sandbox) -> Iterator[Env]:
    e = Env(sb)
    yield e
    e.gw.close()


def ops(sb: Sandbox) -> dict[str, int]:
    return {k: v for k, v in sb.stats("gandi")["by_operation"].items() if v}


def ours(sb: Sandbox, fqdn: str, **extra: Any) -> None:
    sb.seed_domains("gandi", [{"fqdn": fqdn, "owner": "us", **extra}])


def settled(env: Env, domain: str, state: TransferState, timeout: float = 5.0) -> TransferStatus:
    def reached() -> TransferStatus | None:
        status = env.gw.transfer_status(domain, CTX)
        return status if status is not None and status.state is state else None

    found = wait_for(reached, timeout, 0.05)
    assert found is not None
    return found


# -- transfer-in ----------------------------------------------------------------------------------------
def test_transferability_with_and_without_reasons(sb: Sandbox, env: Env) -> None:
    yes = env.gw.transfer_check("Moving.COM", None, CTX)
    assert (yes.domain, yes.available, yes.reason, yes.durations) == (
        "moving.com",
        True,
        None,
        tuple(range(1, 11)),
    )
    locked = env.gw.transfer_check("xfer-locked-a.com", GOOD, CTX)
    assert not locked.available and "locked at its current registrar" in (locked.reason or "")
    wrong = env.gw.transfer_check("moving.com", BAD, CTX)
    assert not wrong.available and "authorization code" in (wrong.reason or "")
    assert ops(sb) == {"transfer_check": 3} and env.operations() == ["transfer_check"] * 3


@pytest.mark.parametrize("after_done", ["kept", "gone"])
def test_a_transfer_completes_only_once_pending_transfer_clears(
    sb: Sandbox, env: Env, after_done: str
) -> None:
    sb.configure("gandi", transfer_record_after_done=after_done)
    sb.seed_domains("gandi", [{"fqdn": "moving.com", "owner": "other", "expires": "2027-03-01"}])
    recorded: list[str] = []
    policy = CallPolicy(job_key="job-x", attempt=1)
    policy.on_effect(recorded.append)
    started = env.gw.transfer_start("moving.com", GOOD, Contact(**OWNER), 2, policy)
    assert started.state is TransferState.PENDING and started.expires_at is None
    assert recorded == ["transfer_start"]  # the one request that makes the effect

    def in_account() -> list[str] | None:  # after transfer_delay, still pendingTransfer for a second
        found = env.gw.find("moving.com", CTX)
        return None if found is None else found.statuses

    assert wait_for(in_account, 3.0, 0.05) == ["pendingTransfer"]
    middle = env.gw.transfer_status("moving.com", CTX)
    assert middle is not None and middle.state is TransferState.PENDING and middle.expires_at is None
    done = settled(env, "moving.com", TransferState.COMPLETED)
    [listed] = sb.domains("gandi")
    assert done.expires_at == date.fromisoformat(listed["expires"]) == date(2029, 3, 1)  # the registry's
    # the first completed read may still carry the step read a moment before the domain changed; once
    # complete, the record says "done" (kept) or is gone
    again = env.gw.transfer_status("moving.com", CTX)
    assert again is not None and again.state is TransferState.COMPLETED
    assert again.step == ("done" if after_done == "kept" else None)
    assert ops(sb)["transfer_start"] == 1 and sb.stats("gandi")["effects"] == {"moving.com": {"transfer": 1}}


@pytest.mark.parametrize("report", ["errortype", "step"])
@pytest.mark.parametrize(
    ("domain", "label", "word"),
    [
        ("xfer-refused-a.com", "The current registrar refused the transfer", "refused"),
        ("xfer-timeout-a.com", "The transfer was not confirmed in time", "cancelled"),
    ],
)
def test_a_failed_transfer_says_why(
    sb: Sandbox, env: Env, report: str, domain: str, label: str, word: str
) -> None:
    sb.configure("gandi", transfer_failure_report=report)
    assert env.gw.transfer_start(domain, GOOD, Contact(**OWNER), 1, CTX).state is TransferState.PENDING
    failed = settled(env, domain, TransferState.FAILED)
    if report == "errortype":
        assert (failed.step, failed.detail) == ("waiting_registry", label)
    else:  # no errortype: the step's own word says it
        assert failed.step == word and failed.detail
    assert env.gw.find(domain, CTX) is None


def test_a_bad_auth_code_fails_until_replaced(sb: Sandbox, env: Env) -> None:
    failed = env.gw.transfer_start("moving.com", BAD, Contact(**OWNER), 1, CTX)
    assert failed.state is TransferState.FAILED and "authorization code" in (failed.detail or "")
    env.gw.transfer_replace_auth_code("moving.com", GOOD, CTX)
    status = env.gw.transfer_status("moving.com", CTX)
    assert status is not None and status.state is TransferState.PENDING
    assert settled(env, "moving.com", TransferState.COMPLETED).expires_at is not None
    assert ops(sb)["transfer_start"] == 1 and ops(sb)["transfer_authinfo"] == 1


def test_an_unanswered_foa_stays_pending_and_can_be_sent_again(sb: Sandbox, env: Env) -> None:
    env.gw.transfer_start("xfer-nofoa-a.com", GOOD, Contact(**OWNER), 1, CTX)
    time.sleep(0.4)  # past transfer_delay: still waiting for the e-mail's answer
    status = env.gw.transfer_status("xfer-nofoa-a.com", CTX)
    assert status == TransferStatus("xfer-nofoa-a.com", TransferState.PENDING, "waiting_foa")
    env.gw.transfer_resend_confirmation("xfer-nofoa-a.com", CTX)  # the sandbox checks the address
    assert ops(sb)["transfer_foa"] == 1


def test_no_transfer_known_and_refused_starts(sb: Sandbox, env: Env) -> None:
    assert env.gw.transfer_status("nothing.com", CTX) is None
    with pytest.raises(DomainUnavailable):
        env.gw.transfer_start("xfer-locked-a.com", GOOD, Contact(**OWNER), 1, CTX)
    with pytest.raises(ValidationRejected) as caught:
        env.gw.transfer_start("moving.com", GOOD, Contact(**OWNER), 11, CTX)
    assert caught.value.fields == ["duration"] and ops(sb)["transfer_start"] == 1


# -- the domain's settings -------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", ["object", "bool"])
def test_state_lock_and_autorenew(sb: Sandbox, env: Env, shape: str) -> None:
    sb.configure("gandi", autorenew_shape=shape)
    ours(sb, "mine.com", nameservers=["ns1.example.net", "ns2.example.net"])
    state = env.gw.domain_state("mine.com", CTX)
    assert (state.nameservers, state.locked, state.autorenew) == (
        ("ns1.example.net", "ns2.example.net"),
        True,
        False,
    )
    assert env.gw.set_lock("mine.com", False, CTX).locked is False
    assert env.gw.set_lock("mine.com", True, CTX).statuses == ("clientTransferProhibited",)
    env.gw.set_autorenew("mine.com", True, CTX)
    assert env.gw.domain_state("mine.com", CTX).autorenew is True
    assert ops(sb)["lock"] == 2 and ops(sb)["autorenew"] == 1


def test_no_lock_where_the_tld_has_none(sb: Sandbox, env: Env) -> None:
    ours(sb, "mine.ch")
    assert env.gw.domain_state("mine.ch", CTX).locked is None
    with pytest.raises(Unsupported, match=r"a transfer lock for \.ch"):
        env.gw.set_lock("mine.ch", True, CTX)
    assert "lock" not in ops(sb)


@pytest.mark.parametrize("answer", ["message", "authinfo", "empty"])
def test_auth_code_read_and_reset(sb: Sandbox, env: Env, answer: str) -> None:
    sb.configure("gandi", authinfo_reset_answer=answer)
    ours(sb, "mine.com")
    first = env.gw.auth_code("mine.com", CTX)
    assert first.expires_at is None and len(first.code.reveal()) >= 8
    second = env.gw.auth_code("mine.com", CTX, reset=True)
    assert second.code != first.code and second.expires_at is not None
    assert (
        second.code.reveal()
        == requests.get(
            f"{sb.gandi_url}/domain/domains/mine.com", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5
        ).json()["authinfo"]
    )
    assert env.operations() == ["info", "authinfo_reset", "info"]


def test_contacts_update_roles_but_never_the_owner(sb: Sandbox, env: Env) -> None:
    ours(sb, "mine.com")
    admin = Contact(**{**OWNER, "email": "admin@example.org"})
    assert env.gw.update_contacts("mine.com", {"admin": admin, "tech": admin}, CTX) == []
    contacts = requests.get(
        f"{sb.gandi_url}/domain/domains/mine.com/contacts",
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=5,
    ).json()
    assert contacts["admin"]["email"] == contacts["tech"]["email"] == "admin@example.org"
    with pytest.raises(ValidationRejected, match="changeowner") as caught:
        env.gw.update_contacts("mine.com", {"owner": admin}, CTX)
    assert caught.value.fields == ["owner"]
    with pytest.raises(ValidationRejected):
        env.gw.update_contacts("mine.com", {"registrant": admin}, CTX)
    assert ops(sb)["contacts"] == 1


# -- glue hosts -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("delete_status", [204, 202])
def test_glue_set_reads_back_until_it_shows(sb: Sandbox, env: Env, delete_status: int) -> None:
    sb.configure("gandi", host_delay=0.3, host_delete_status=delete_status)
    ours(sb, "mine.com")
    made = env.gw.glue_set("mine.com", GlueHost("ns1.mine.com", ("192.0.2.1", "2001:DB8::1")), CTX)
    assert made == GlueHost("ns1.mine.com", ("192.0.2.1", "2001:db8::1"))
    assert (
        env.operations()[:3] == ["host_info", "hosts", "host_info"]
        and env.operations().count("host_info") >= 3
    )
    changed = env.gw.glue_set("mine.com", GlueHost("ns1", ("192.0.2.9",)), CTX)
    assert changed.addresses == ("192.0.2.9",) and ops(sb)["host_update"] == 1
    assert env.gw.glue_hosts("mine.com", CTX) == [changed]
    env.gw.glue_delete("mine.com", "ns1.mine.com", CTX)
    env.gw.glue_delete("mine.com", "ns1.mine.com", CTX)  # gone already: nothing to do
    assert env.gw.glue_hosts("mine.com", CTX) == [] and ops(sb)["host_delete"] == 2


def test_glue_that_never_shows_is_ambiguous_and_bad_hosts_are_not_sent(sb: Sandbox) -> None:
    sb.configure("gandi", host_delay=30)
    ours(sb, "mine.com")
    e = Env(sb, wait=0.3)
    with pytest.raises(AmbiguousError, match="not shown"):
        e.gw.glue_set("mine.com", GlueHost("ns1.mine.com", ("192.0.2.1",)), CTX)
    assert ops(sb)["hosts"] == 1
    for host in (GlueHost("ns1.other.com", ("192.0.2.1",)), GlueHost("ns2.mine.com", ("not-an-ip",))):
        with pytest.raises(ValidationRejected):
            e.gw.glue_set("mine.com", host, CTX)
    assert ops(sb)["hosts"] == 1


# -- secrets --------------------------------------------------------------------------------------------
def test_auth_codes_never_reach_results_audit_rows_errors_or_logs(
    sb: Sandbox, env: Env, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    ours(sb, "mine.com")
    sb.set_faults("gandi", [{"operation": "transfer_authinfo", "kind": "status", "status": 500, "count": 9}])
    seen: list[Any] = [env.gw.transfer_check("moving.com", GOOD, CTX)]
    seen.append(env.gw.transfer_start("moving.com", BAD, Contact(**OWNER), 1, CTX))
    with pytest.raises(Exception) as caught:
        env.gw.transfer_replace_auth_code("moving.com", GOOD, CTX)
    codes = [env.gw.auth_code("mine.com", CTX), env.gw.auth_code("mine.com", CTX, reset=True)]
    secrets = [GOOD.reveal(), BAD.reveal(), *(c.code.reveal() for c in codes), OWNER["email"], OWNER["phone"]]
    haystack = "\n".join(
        [
            *(repr(r) for r in seen + codes),
            *(str(r.to_dict()) for r in seen),
            repr(env.audit.calls),
            str(caught.value),
            repr(caught.value.__dict__),
            caplog.text,
        ]
    )
    for secret in secrets:
        assert secret not in haystack
    assert "Secret('***')" in repr(codes[0]) and not hasattr(codes[0], "to_dict")
