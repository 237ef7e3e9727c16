"""The owner change at both registrars (issue 20) against the sandbox's stand-ins, over real HTTP: Gandi's
changeowner and ROTLD's domain-trade / trade-info / trade-confirm. What no public source settles is played
both ways by a sandbox switch (Gandi: how a failure is reported and whether the record stays; ROTLD:
whether the trade completes in the call)."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
import requests

from sandbox.stack import Sandbox
from sandbox.testing import wait_for
from shared.audit import MemoryAudit
from shared.contact import Contact
from shared.errors import NotFound, RegistryRefused, ValidationRejected
from shared.gateways import gateway_for
from shared.gateways.day2 import Secret, TransferState
from shared.gateways.gandi import GandiGateway
from shared.gateways.owner_change import OwnerChangeOperations, OwnerChangeStatus, OwnerChangeTicket
from shared.settings import load_settings
from shared.store import Store
from shared.upstream import CallPolicy
from tests.test_gateway_rotld import PERSON
from tests.test_gateway_rotld import Env as RotldEnv
from tests.test_gateway_rotld import effects as rotld_effects
from tests.test_gateway_rotld import ops as rotld_ops

TOKEN = "sandbox-token"
NEW_OWNER = {
    "given": "Ioana",
    "family": "Ionescu",
    "email": "ioana.private@example.org",
    "phone": "+33.123456789",
    "streetaddr": "2 rue du Bac",
    "city": "Paris",
    "zip": "75007",
    "country": "FR",
}
KEY = "BPKerUnZM7vhy2A"
CTX = CallPolicy(job_key="job-oc", attempt=1)


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    config = {"visibility_delay": 0, "changeowner_delay": 0.3}
    with Sandbox(gandi_token=TOKEN, gandi_config=config) as sb:
        yield sb


@pytest.fixture
def gandi(sb: Sandbox) -> Iterator[tuple[GandiGateway, MemoryAudit]]:
    audit = MemoryAudit()
    settings = load_settings(
        gandi_api_url=sb.gandi_url, gandi_token=TOKEN, outbound_allow_private=True, read_timeout_seconds=2.0
    )
    gw = gateway_for("gandi", settings, audit)
    assert isinstance(gw, GandiGateway)
    yield gw, audit
    gw.close()


@pytest.fixture
def rotld(sb: Sandbox, sqlite_store: Store) -> Iterator[RotldEnv]:
    e = RotldEnv(sb, sqlite_store)
    yield e
    e.gw.close()


def gandi_ops(sb: Sandbox) -> dict[str, int]:
    return {k: v for k, v in sb.stats("gandi")["by_operation"].items() if v}


def settled(
    gw: OwnerChangeOperations, domain: str, ticket: OwnerChangeTicket, state: TransferState
) -> OwnerChangeStatus:
    def reached() -> OwnerChangeStatus | None:
        status = gw.owner_change_status(domain, ticket, CTX)
        return status if status is not None and status.state is state else None

    found = wait_for(reached, 5.0, 0.05)
    assert found is not None, f"{domain} never reached {state}"
    return found


# -- Gandi -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("after_done", ["kept", "gone"])
def test_gandi_owner_change_completes_when_the_domain_reads_as_the_new_owner(
    sb: Sandbox, gandi: tuple[GandiGateway, MemoryAudit], after_done: str
) -> None:
    gw, audit = gandi
    sb.configure("gandi", changeowner_record_after_done=after_done)
    sb.seed_domains("gandi", [{"fqdn": "mine.com", "owner": "us"}])
    ticket = OwnerChangeTicket(Contact(**NEW_OWNER))
    assert gw.owner_change_prepare("mine.com", ticket.owner, CTX) is None
    assert gw.owner_change_status("mine.com", ticket, CTX) is None  # nothing started, owner not new
    recorded: list[str] = []
    policy = CallPolicy(job_key="job-g", attempt=1)
    policy.on_effect(recorded.append)
    started = gw.owner_change_start("mine.com", ticket, None, 1, policy)
    assert started.state is TransferState.PENDING and started.step == "waiting_foa"
    assert recorded == ["changeowner"]
    done = settled(gw, "mine.com", ticket, TransferState.COMPLETED)
    assert done.domain == "mine.com"
    assert gandi_ops(sb)["changeowner"] == 1
    assert sb.stats("gandi")["effects"]["mine.com"] == {"owner_change": 1}
    assert "changeowner_info" in [c.operation for c in audit.calls]


@pytest.mark.parametrize("report", ["errortype", "step"])
def test_gandi_refused_owner_change_fails_with_the_registrar_words(
    sb: Sandbox, gandi: tuple[GandiGateway, MemoryAudit], report: str
) -> None:
    gw, _ = gandi
    sb.configure("gandi", changeowner_failure_report=report)
    sb.seed_domains("gandi", [{"fqdn": "owner-refused-a.com", "owner": "us"}])
    ticket = OwnerChangeTicket(Contact(**NEW_OWNER))
    gw.owner_change_start("owner-refused-a.com", ticket, None, 1, CTX)
    failed = settled(gw, "owner-refused-a.com", ticket, TransferState.FAILED)
    assert failed.detail in ("The current owner refused the owner change", "owner_refused")


def test_gandi_unanswered_confirmations_stay_pending(
    sb: Sandbox, gandi: tuple[GandiGateway, MemoryAudit]
) -> None:
    gw, _ = gandi
    sb.configure("gandi", changeowner_delay=0)  # an answered change completes at once...
    sb.seed_domains("gandi", [{"fqdn": "owner-nofoa-a.com", "owner": "us"}, {"fqdn": "quick.com"}])
    ticket = OwnerChangeTicket(Contact(**NEW_OWNER))
    assert gw.owner_change_start("quick.com", ticket, None, 1, CTX).state is TransferState.COMPLETED
    gw.owner_change_start("owner-nofoa-a.com", ticket, None, 1, CTX)
    status = gw.owner_change_status("owner-nofoa-a.com", ticket, CTX)  # ...an unanswered one never does
    assert status is not None and (status.state, status.step) == (TransferState.PENDING, "waiting_foa")


def test_gandi_sandbox_refuses_a_bad_owner_and_a_domain_not_ours(
    sb: Sandbox, gandi: tuple[GandiGateway, MemoryAudit]
) -> None:
    gw, _ = gandi
    sb.seed_domains("gandi", [{"fqdn": "theirs.com", "owner": "other"}, {"fqdn": "mine.com", "owner": "us"}])
    bad = Contact(**{**NEW_OWNER, "country": "FR"}).model_copy(update={"email": "not-an-address"})
    with pytest.raises(ValidationRejected) as refused:
        gw.owner_change_start("mine.com", OwnerChangeTicket(bad), None, 1, CTX)
    assert "owner.email" in refused.value.fields
    with pytest.raises(NotFound):
        gw.owner_change_start("theirs.com", OwnerChangeTicket(Contact(**NEW_OWNER)), None, 1, CTX)
    assert "owner_change" not in str(sb.stats("gandi")["effects"])


# -- ROTLD -----------------------------------------------------------------------------------------------
def seed_ours(sb: Sandbox, domain: str, **config: object) -> None:
    sb.seed_domains("rotld", [{"fqdn": domain, "owner": "us", "expires": "2030-01-01"}])
    sb.configure("rotld", transfer_keys={domain: KEY}, **config)


def test_rotld_synchronous_trade_completes_with_the_new_registrant(
    sb: Sandbox, rotld: RotldEnv, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    seed_ours(sb, "vand.ro", trade_mode="sync")
    gw = rotld.gw
    assert isinstance(gw, OwnerChangeOperations)
    owner = Contact(**PERSON)
    cid = gw.owner_change_prepare("vand.ro", owner, CTX)
    assert cid and gw.owner_change_prepare("vand.ro", owner, CTX) == cid  # created once (the directory)
    recorded: list[str] = []
    policy = CallPolicy(job_key="job-r", attempt=1)
    policy.on_effect(recorded.append)
    status = gw.owner_change_start("vand.ro", OwnerChangeTicket(owner, cid), Secret(KEY), 2, policy)
    assert status.state is TransferState.COMPLETED and status.reference == "7001"
    assert recorded == ["domain-trade"]
    assert rotld_ops(sb)["domain-trade"] == 1 and rotld_ops(sb)["contact-create"] == 1
    assert rotld_effects(sb, "vand.ro") == {"trade": 1}
    assert KEY not in caplog.text


def test_rotld_pending_trade_waits_for_our_confirmation_then_completes(sb: Sandbox, rotld: RotldEnv) -> None:
    seed_ours(sb, "astept.ro", trade_mode="pending", trade_pending_seconds=0.3)
    gw = rotld.gw
    assert isinstance(gw, OwnerChangeOperations)
    owner = Contact(**PERSON)
    cid = gw.owner_change_prepare("astept.ro", owner, CTX)
    status = gw.owner_change_start("astept.ro", OwnerChangeTicket(owner, cid), Secret(KEY), 1, CTX)
    assert (status.state, status.step, status.needs_confirmation) == (TransferState.PENDING, "pending", True)
    ticket = OwnerChangeTicket(owner, cid, status.reference)
    gw.owner_change_confirm("astept.ro", ticket, CTX)
    after = gw.owner_change_status("astept.ro", ticket, CTX)
    assert after is not None and (after.step, after.needs_confirmation) == ("confirmed", False)
    settled(gw, "astept.ro", ticket, TransferState.COMPLETED)
    with pytest.raises(RegistryRefused):  # a second confirmation is refused by the stand-in
        gw.owner_change_confirm("astept.ro", ticket, CTX)
    assert rotld_ops(sb)["domain-trade"] == 1


@pytest.mark.parametrize("mode", ["sync", "pending"])
def test_rotld_refused_trade_fails_with_the_registry_reason(sb: Sandbox, rotld: RotldEnv, mode: str) -> None:
    seed_ours(sb, "trade-refused-x.ro", trade_mode=mode, trade_pending_seconds=0.1)
    gw = rotld.gw
    assert isinstance(gw, OwnerChangeOperations)
    owner = Contact(**PERSON)
    cid = gw.owner_change_prepare("trade-refused-x.ro", owner, CTX)
    status = gw.owner_change_start("trade-refused-x.ro", OwnerChangeTicket(owner, cid), Secret(KEY), 1, CTX)
    ticket = OwnerChangeTicket(owner, cid, status.reference)
    if mode == "pending":
        gw.owner_change_confirm("trade-refused-x.ro", ticket, CTX)
    failed = settled(gw, "trade-refused-x.ro", ticket, TransferState.FAILED)
    assert failed.detail == "The registrant refused the trade"


def test_rotld_wrong_key_and_no_trade_id(sb: Sandbox, rotld: RotldEnv) -> None:
    seed_ours(sb, "cheie.ro")
    gw = rotld.gw
    assert isinstance(gw, OwnerChangeOperations)
    owner = Contact(**PERSON)
    cid = gw.owner_change_prepare("cheie.ro", owner, CTX)
    with pytest.raises(RegistryRefused) as refused:
        gw.owner_change_start("cheie.ro", OwnerChangeTicket(owner, cid), Secret("WrongKey123"), 1, CTX)
    assert "WrongKey123" not in str(refused.value)
    assert gw.owner_change_status("cheie.ro", OwnerChangeTicket(owner, cid), CTX) is None
    with pytest.raises(ValidationRejected):
        gw.owner_change_start("cheie.ro", OwnerChangeTicket(owner, cid), Secret("  "), 1, CTX)
    assert rotld_ops(sb).get("domain-trade") == 1


# -- Gandi transfer-in with admin / bill / tech (issue 20, part 2) ------------------------------------
def gandi_contacts(sb: Sandbox, domain: str) -> dict[str, dict[str, str]]:
    answer = requests.get(
        f"{sb.gandi_url}/domain/domains/{domain}/contacts",
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=5,
    )
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


def test_gandi_transfer_sends_admin_bill_tech_and_the_sandbox_checks_them(
    sb: Sandbox, gandi: tuple[GandiGateway, MemoryAudit]
) -> None:
    gw, _ = gandi
    sb.configure("gandi", transfer_delay=0, pending_transfer_delay=0)
    owner = Contact(**NEW_OWNER)
    admin = Contact(**{**NEW_OWNER, "email": "admin.role@example.org"})
    tech = Contact(**{**NEW_OWNER, "email": "tech.role@example.org"})
    gw.transfer_start(
        "moving.com", Secret("Gd7-code"), owner, 1, CTX, contacts={"admin": admin, "tech": tech}
    )
    shown = wait_for(lambda: gandi_contacts(sb, "moving.com") if gw.domain_state("moving.com", CTX) else None)
    assert shown["admin"]["email"] == "admin.role@example.org"
    assert shown["tech"]["email"] == "tech.role@example.org"
    assert shown["bill"]["email"] == NEW_OWNER["email"]  # a role not given takes the owner, as a create
    bad = Contact(**NEW_OWNER).model_copy(update={"phone": "0612"})
    with pytest.raises(ValidationRejected) as refused:
        gw.transfer_start("other.com", Secret("Gd7-code"), owner, 1, CTX, contacts={"bill": bad})
    assert "bill.phone" in refused.value.fields
    with pytest.raises(ValidationRejected):  # not a role: refused before anything is sent
        gw.transfer_start("other.com", Secret("Gd7-code"), owner, 1, CTX, contacts={"owner": admin})
    assert gandi_ops(sb)["transfer_start"] == 2
