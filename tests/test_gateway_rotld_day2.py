"""ROTLD day-2 operations (issue 20): the gateway against the sandbox's stand-in, and the stand-in's
switches for what no public source settles (a synchronous or a pending transfer, an empty reset-ns)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
import requests
from requests.auth import HTTPDigestAuth

from sandbox.stack import Sandbox
from sandbox.testing import wait_for
from shared.contact import Contact
from shared.errors import (
    NeedsOperator,
    NotFound,
    RegistryRefused,
    Unsupported,
    ValidationRejected,
)
from shared.gateways.day2 import Day2Operations, GlueHost, Secret, TransferState
from shared.jobs import RegisterJob
from shared.store import Store
from shared.upstream import CallPolicy
from tests.test_gateway_rotld import PASSWORD, PERSON, USER, Env, effects, ops

KEY = "BPKerUnZM7vhy2A"  # the shape of the key in alinchican/rotld-rest-client's domain-transfer.js example
CTX = CallPolicy(job_key="job-d2", attempt=1)


@pytest.fixture
def env(sb: Sandbox, sqlite_store: Store) -> Iterator[Env]:
    e = Env(sb, sqlite_store)
    yield e
    e.gw.close()


def requests_sent(sb: Sandbox) -> int:
    return int(sb.stats("rotld")["requests"])  # Digest challenges included


def seed_other(sb: Sandbox, domain: str, expires: str = "2031-04-05", **keys: Any) -> None:
    sb.seed_domains("rotld", [{"fqdn": domain, "owner": "other", "expires": expires}])
    sb.configure("rotld", transfer_keys={domain: KEY}, **keys)


# -- transfer-in -------------------------------------------------------------------------------------
def test_the_gateway_offers_every_day2_operation(env: Env) -> None:
    assert isinstance(env.gw, Day2Operations)


def test_transfer_check_reads_check_availability(sb: Sandbox, env: Env) -> None:
    sb.seed_domains("rotld", [{"fqdn": "altul.ro", "owner": "other"}])
    taken = env.gw.transfer_check("altul.ro", Secret(KEY), CTX)
    assert (taken.domain, taken.available, taken.reason) == ("altul.ro", True, None)
    free = env.gw.transfer_check("liber.ro", None, CTX)
    assert free.available is False and free.reason and "not registered" in free.reason
    assert ops(sb) == {"check-availability": 2}  # no transfer check command exists: nothing else asked


def test_a_synchronous_transfer_completes_with_the_registry_expiry(sb: Sandbox, env: Env) -> None:
    seed_other(sb, "muta.ro")
    recorded: list[str] = []
    policy = CallPolicy(job_key="job-t", attempt=1)
    policy.on_effect(recorded.append)
    status = env.gw.transfer_start("muta.ro", Secret(KEY), Contact(**PERSON), 1, policy)
    assert (status.state, status.expires_at) == (TransferState.COMPLETED, date(2031, 4, 5))
    assert recorded == ["domain-transfer"]  # the one request that makes the effect
    assert ops(sb) == {"domain-transfer": 1, "domain-info": 1}
    assert effects(sb, "muta.ro") == {"transfer": 1}
    again = env.gw.transfer_status("muta.ro", CTX)
    assert again is not None and (again.state, again.expires_at) == (
        TransferState.COMPLETED,
        date(2031, 4, 5),
    )


def test_a_pending_transfer_completes_later(sb: Sandbox, env: Env) -> None:
    seed_other(sb, "incet.ro", transfer_mode="pending", transfer_pending_seconds=0.4)
    status = env.gw.transfer_start("incet.ro", Secret(KEY), Contact(**PERSON), 1, CTX)
    assert (status.state, status.step, status.expires_at) == (TransferState.PENDING, "accepted", None)
    middle = env.gw.transfer_status("incet.ro", CTX)
    assert middle is not None and middle.state is TransferState.PENDING
    done = wait_for(
        lambda: (s := env.gw.transfer_status("incet.ro", CTX)) and s.state is TransferState.COMPLETED and s
    )
    assert done.expires_at == date(2031, 4, 5)
    assert ops(sb)["domain-transfer"] == 1  # read again, never sent again


def test_transfer_status_without_a_registration_is_none(sb: Sandbox, env: Env) -> None:
    assert env.gw.transfer_status("nimeni.ro", CTX) is None
    sb.seed_domains("rotld", [{"fqdn": "strain.ro", "owner": "other"}])
    foreign = env.gw.transfer_status("strain.ro", CTX)  # ROTLD shows no transfer state for it
    assert foreign is not None and foreign.state is TransferState.PENDING
    assert "domain-transfer" not in ops(sb)


@pytest.mark.parametrize(
    ("config", "code", "words"),
    [
        ({}, "51001", "Invalid authorization key"),  # the stand-in's assumed code
        ({"transfer_bad_key_code": "59999"}, "59999", "Invalid authorization key"),  # whatever it answers
    ],
)
def test_a_bad_key_keeps_the_registry_code_and_message(
    sb: Sandbox, env: Env, config: dict[str, Any], code: str, words: str
) -> None:
    seed_other(sb, "cheie.ro", **config)
    with pytest.raises(RegistryRefused) as caught:
        env.gw.transfer_start("cheie.ro", Secret("WrongKey123"), Contact(**PERSON), 1, CTX)
    assert caught.value.upstream_code == code and words in caught.value.message
    assert ops(sb) == {"domain-transfer": 1}  # no read-back of a refused transfer


def test_an_expired_key_keeps_the_registry_code(sb: Sandbox, env: Env) -> None:
    sb.seed_domains("rotld", [{"fqdn": "vechi.ro", "owner": "other"}])
    sb.configure("rotld", transfer_keys={"vechi.ro": {"key": KEY, "issued": "2020-01-01"}})
    with pytest.raises(RegistryRefused) as caught:
        env.gw.transfer_start("vechi.ro", Secret(KEY), Contact(**PERSON), 1, CTX)
    assert caught.value.upstream_code == "51002" and "expired" in caught.value.message


def test_an_empty_key_is_never_sent(sb: Sandbox, env: Env) -> None:
    with pytest.raises(ValidationRejected) as caught:
        env.gw.transfer_start("gol.ro", Secret("  "), Contact(**PERSON), 1, CTX)
    assert caught.value.fields == ["auth_code"] and requests_sent(sb) == 0


def test_10002_is_ambiguous_never_proof(sb: Sandbox, env: Env) -> None:
    sb.configure("rotld", command_errors={"domain-transfer": ["10002", "Unknown"]})
    seed_other(sb, "doi.ro")
    with pytest.raises(NeedsOperator):
        env.gw.transfer_start("doi.ro", Secret(KEY), Contact(**PERSON), 1, CTX)
    sb.configure("rotld", command_errors={}, not_ours_code="10002")
    with pytest.raises(NeedsOperator):
        env.gw.transfer_status("doi.ro", CTX)


def test_the_key_never_shows(sb: Sandbox, env: Env, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    seed_other(sb, "secret.ro")
    sb.configure("rotld", command_errors={"domain-transfer": ["51001", f"key {KEY} refused"]})
    with pytest.raises(RegistryRefused) as caught:  # a registry echoing the key back
        env.gw.transfer_start("secret.ro", Secret(KEY), Contact(**PERSON), 1, CTX)
    sb.configure("rotld", command_errors={})
    status = env.gw.transfer_start("secret.ro", Secret(KEY), Contact(**PERSON), 1, CTX)
    haystack = "\n".join(
        [str(caught.value), repr(caught.value), repr(status), repr(status.to_dict()), repr(env.audit.calls)]
        + [caplog.text, repr(Secret(KEY)), str(Secret(KEY))]
    )
    assert status.state is TransferState.COMPLETED and KEY not in haystack


# -- the domain's settings ---------------------------------------------------------------------------
def test_domain_state(sb: Sandbox, env: Env) -> None:
    sb.seed_domains("rotld", [{"fqdn": "stare.ro", "nameservers": ["ns1.example.net", "ns2.example.net"]}])
    state = env.gw.domain_state("stare.ro", CTX)
    assert state.nameservers == ("ns1.example.net", "ns2.example.net") and state.statuses == ("OK",)
    assert (state.locked, state.autorenew) == (None, None)  # ROTLD has neither
    with pytest.raises(NotFound):
        env.gw.domain_state("absent.ro", CTX)


@pytest.mark.parametrize("hosts", [[], ["", "  "], [f"ns{i}.example.net" for i in range(7)]])
def test_an_empty_or_long_nameserver_list_is_never_sent(sb: Sandbox, env: Env, hosts: list[str]) -> None:
    sb.seed_domains("rotld", [{"fqdn": "ns-gol.ro"}])
    with pytest.raises(ValidationRejected) as caught:
        env.gw.set_nameservers("ns-gol.ro", hosts, CTX)
    assert caught.value.fields == ["nameservers"] and "not sent" in caught.value.message
    assert requests_sent(sb) == 0 and sb.domains("rotld")[0]["nameservers"]


@pytest.mark.parametrize(
    "call",
    [
        lambda gw: gw.set_lock("x.ro", True, CTX),
        lambda gw: gw.set_autorenew("x.ro", False, CTX),
        lambda gw: gw.auth_code("x.ro", CTX),
        lambda gw: gw.auth_code("x.ro", CTX, reset=True),
        lambda gw: gw.transfer_resend_confirmation("x.ro", CTX),
        lambda gw: gw.transfer_replace_auth_code("x.ro", Secret(KEY), CTX),
        lambda gw: gw.update_contacts("x.ro", {"admin": Contact(**PERSON)}, CTX),
    ],
)
def test_what_rotld_does_not_offer_is_unsupported(sb: Sandbox, env: Env, call: Any) -> None:
    with pytest.raises(Unsupported) as caught:
        call(env.gw)
    assert caught.value.registrar == "rotld" and str(caught.value).startswith("rotld does not offer")
    assert caught.value.final_status == "rejected" and requests_sent(sb) == 0


def test_contact_update_changes_the_shared_contact(sb: Sandbox, env: Env) -> None:
    for domain in ("unu.ro", "doi-ro.ro"):
        env.gw.register(RegisterJob(domain=domain, owner=PERSON), CTX)
    moved = Contact(**{**PERSON, "streetaddr": "Bd. Nou 7", "city": "Cluj-Napoca", "state": "Cluj"})
    notes = env.gw.update_contacts("unu.ro", {"owner": moved}, CTX)
    [cid] = {d["registrant_id"] for d in sb.domains("rotld")}
    assert notes[0] == f"contact {cid} is shared: every domain using it changes"
    assert PERSON["email"] not in repr(notes) and PERSON["phone"] not in repr(notes)
    contact = sb.rotld_server.provider.contacts[cid]  # type: ignore[attr-defined]
    assert (contact["address1"], contact["city"], contact["state_province"]) == (
        "Bd. Nou 7",
        "Cluj-Napoca",
        "Cluj",
    )
    assert contact["name"] == "Ana Popescu" and contact["cnp_fiscal_code"] == PERSON["cnp"]
    assert effects(sb, "unu.ro")["contact"] == effects(sb, "doi-ro.ro")["contact"] == 1
    assert ops(sb)["contact-update"] == 1


# -- glue hosts --------------------------------------------------------------------------------------
def test_glue_create_update_list_and_delete(sb: Sandbox, env: Env) -> None:
    sb.seed_domains("rotld", [{"fqdn": "zona.ro"}])
    made = env.gw.glue_set("zona.ro", GlueHost("NS1.zona.ro.", ("192.0.2.1",)), CTX)
    assert made == GlueHost("ns1.zona.ro", ("192.0.2.1",))
    assert env.gw.glue_set("zona.ro", made, CTX) == made  # same addresses: nothing written
    assert ops(sb)["nameserver-create"] == 1 and "nameserver-update" not in ops(sb)
    changed = env.gw.glue_set("zona.ro", GlueHost("ns1.zona.ro", ("192.0.2.9", "2001:db8::1")), CTX)
    assert changed.addresses == ("192.0.2.9", "2001:db8::1") and ops(sb)["nameserver-update"] == 1
    env.gw.set_nameservers("zona.ro", ["ns1.zona.ro", "ns.example.net"], CTX)
    assert env.gw.glue_hosts("zona.ro", CTX) == [changed]
    with pytest.raises(RegistryRefused) as caught:  # still delegated to: the registry refuses
        env.gw.glue_delete("zona.ro", "ns1.zona.ro", CTX)
    assert caught.value.upstream_code == "50503"
    env.gw.set_nameservers("zona.ro", ["ns.example.net", "ns2.example.net"], CTX)
    env.gw.glue_delete("zona.ro", "ns1.zona.ro", CTX)
    env.gw.glue_delete("zona.ro", "ns1.zona.ro", CTX)  # gone already: nothing to do
    assert env.gw.glue_hosts("zona.ro", CTX) == []


@pytest.mark.parametrize(
    ("host", "field"),
    [
        (GlueHost("ns1.zona.ro", ("192.0.2.1", "192.0.2.2", "192.0.2.3")), "addresses"),
        (GlueHost("ns1.zona.ro", ()), "addresses"),
        (GlueHost("ns1.zona.ro", ("not-an-ip",)), "addresses"),
        (GlueHost("ns1.example.net", ("192.0.2.1",)), "host"),
    ],
)
def test_bad_glue_is_never_sent(sb: Sandbox, env: Env, host: GlueHost, field: str) -> None:
    with pytest.raises(ValidationRejected) as caught:
        env.gw.glue_set("zona.ro", host, CTX)
    assert caught.value.fields == [field] and requests_sent(sb) == 0


# -- the stand-in's switches ---------------------------------------------------------------------------
def _post(sb: Sandbox, **form: str) -> dict[str, Any]:
    body = {"lang": "en", "format": "json", **form}
    r = requests.post(sb.rotld_url, data=body, auth=HTTPDigestAuth(USER, PASSWORD), timeout=5)
    assert r.status_code == 200
    return r.json()


def test_reset_ns_with_an_empty_value_clears_or_is_refused(sb: Sandbox) -> None:
    sb.seed_domains("rotld", [{"fqdn": "gol.ro"}])
    answer = _post(sb, command="domain-reset-ns", domain="gol.ro", nameservers="")
    assert answer["result_code"] == "00200" and sb.domains("rotld")[0]["nameservers"] == []  # documented
    sb.configure("rotld", reset_ns_empty="refuse")
    answer = _post(sb, command="domain-reset-ns", domain="gol.ro", nameservers="")
    assert answer["result_code"] == "10001"
    seven = ",".join(f"ns{i}.example.net" for i in range(7))
    assert _post(sb, command="domain-reset-ns", domain="gol.ro", nameservers=seven)["result_code"] == "10003"


def test_the_stand_in_takes_one_or_two_addresses_per_host(sb: Sandbox) -> None:
    sb.seed_domains("rotld", [{"fqdn": "ip.ro"}])
    three = "192.0.2.1,192.0.2.2,192.0.2.3"
    answer = _post(sb, command="nameserver-create", nameserver="ns.ip.ro", ips=three)
    assert answer["result_code"] == "10003" and answer["data"]["parameter"] == "ips"
    assert _post(sb, command="nameserver-info", nameserver="ns.ip.ro")["result_code"] == "50501"
    assert _post(sb, command="nameserver-update", nameserver="ns.ip.ro", ips="192.0.2.1")["error"] == 1
