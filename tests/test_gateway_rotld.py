"""The ROTLD gateway against the sandbox's ROTLD REST 2.0 stand-in (Digest auth, envelope, faults)."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest

from sandbox.stack import Sandbox
from shared.audit import MemoryAudit
from shared.contact import Contact
from shared.errors import (
    AmbiguousError,
    AuthError,
    ConfigError,
    ContactPending,
    DomainUnavailable,
    NotFound,
    ProtocolError,
    RateLimited,
    RegistryRefused,
    Throttled,
    TransientError,
    ValidationRejected,
)
from shared.gateways import gateway_for
from shared.gateways.rotld import RotldGateway, contact_form, new_domain_password
from shared.http.digest import DigestState
from shared.jobs import RegisterJob, RenewJob
from shared.settings import Settings, load_settings
from shared.store import Store
from shared.upstream import CallPolicy

USER, PASSWORD = "sandbox-user", "sandbox-pass"
CNP = "2970816362385"
PERSON = {
    "given": "Ana",
    "family": "Popescu",
    "email": "ana.secret@example.ro",
    "phone": "+40.727636787",
    "streetaddr": "Str. Exemplu 1",
    "city": "Bucuresti",
    "zip": "010101",
    "country": "RO",
    "cnp": CNP,
}
COMPANY = {
    **{k: v for k, v in PERSON.items() if k != "cnp"},
    "type": "company",
    "orgname": "Exemplu SRL",
    "cui": "RO18547290",
    "registration_number": "J40/1234/2010",
}
CTX = CallPolicy(job_key="job-1", attempt=1)


def settings_for(sb: Sandbox, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "rotld_api_url": sb.rotld_url,
        "rotld_user": USER,
        "rotld_password": PASSWORD,
        "outbound_allow_private": True,
        "read_timeout_seconds": 2.0,
    }
    values.update(overrides)
    return load_settings(**values)


class Env:
    def __init__(self, sb: Sandbox, store: Store | None = None, **overrides: Any) -> None:
        self.audit = MemoryAudit()
        self.sleeps: list[float] = []
        contacts = store.contacts if store is not None else None
        self.gw = gateway_for(
            "rotld",
            settings_for(sb, **overrides),
            self.audit,
            contacts,
            sleep=self.sleeps.append,
            digest_state=DigestState(),  # a process of its own: its first request is challenged
        )


@pytest.fixture
def env(sb: Sandbox, sqlite_store: Store) -> Iterator[Env]:
    e = Env(sb, sqlite_store)
    yield e
    e.gw.close()


def job(domain: str, owner: dict[str, Any] = PERSON, **extra: Any) -> RegisterJob:
    return RegisterJob(domain=domain, owner=owner, **extra)


def ops(sb: Sandbox) -> dict[str, int]:
    return {k: v for k, v in sb.stats("rotld")["by_operation"].items() if v}


def effects(sb: Sandbox, domain: str) -> dict[str, int]:
    return sb.stats("rotld")["effects"].get(domain, {})


# -- check / info -------------------------------------------------------------------------------------
def test_check_available_and_taken(sb: Sandbox, env: Env) -> None:
    sb.seed_domains("rotld", [{"fqdn": "taken.ro", "owner": "other"}])
    free = env.gw.check("liber.ro", CTX)
    assert (free.domain, free.available, free.status, free.price) == ("liber.ro", True, "Available", None)
    taken = env.gw.check("taken.ro", CTX)
    assert (taken.available, taken.status, taken.retriable) == (False, "Not Available", False)


def test_an_invalid_ro_name_is_rejected_by_the_registry(sb: Sandbox, env: Env) -> None:
    with pytest.raises(ValidationRejected) as caught:
        env.gw.check("sub.exemplu.ro", CTX)
    assert caught.value.upstream_code == "50002" and caught.value.fields == ["domain"]
    with pytest.raises(ValidationRejected, match="not sent"):
        env.gw.check("com.ro", CTX)  # a bare public suffix never leaves the process
    assert sb.stats("rotld")["by_operation"]["check-availability"] == 1


def test_info_and_not_found(sb: Sandbox, env: Env) -> None:
    sb.seed_domains("rotld", [{"fqdn": "al-meu.ro", "expires": "2030-03-01", "nameservers": ["ns1.a.ro"]}])
    info = env.gw.info("al-meu.ro", CTX)
    assert (info.expires_at, info.statuses, info.nameservers) == (date(2030, 3, 1), ["OK"], ["ns1.a.ro"])
    sb.seed_domains("rotld", [{"fqdn": "altul.ro", "owner": "other"}])
    for domain in ("altul.ro", "absent.ro"):
        with pytest.raises(NotFound) as caught:
            env.gw.info(domain, CTX)
        assert caught.value.upstream_code == "50002"  # what the registry answers for an unknown domain


# -- register and contacts ----------------------------------------------------------------------------
def test_register_creates_the_contact_once_per_registrant(sb: Sandbox, env: Env, sqlite_store: Store) -> None:
    first = env.gw.register(job("primul.ro", years=2), CTX)
    assert first.created_at is not None and first.expires_at.year == first.created_at.year + 2
    second = env.gw.register(job("al-doilea.ro"), CallPolicy(job_key="job-2", attempt=1))
    assert second.domain == "al-doilea.ro"
    assert ops(sb)["contact-create"] == 1 and ops(sb)["domain-register"] == 2
    owners = {d["fqdn"]: d["registrant_id"] for d in sb.domains("rotld")}
    assert (
        owners["primul.ro"]
        == owners["al-doilea.ro"]
        == sqlite_store.contacts.get("rotld", Contact(**PERSON).fingerprint())
    )


def test_a_company_is_created_with_its_cui_and_registration_number(sb: Sandbox, env: Env) -> None:
    env.gw.register(job("firma.ro", COMPANY), CTX)
    provider = sb.rotld_server.provider
    [contact] = provider.contacts.values()  # type: ignore[attr-defined]
    assert contact["person_type"] == "c" and contact["cnp_fiscal_code"] == "18547290"
    assert contact["registration_number"] == "J40/1234/2010" and contact["name"] == "Exemplu SRL"


def test_contact_form_uses_the_cnp_for_a_person() -> None:
    form = contact_form(Contact(**PERSON))
    assert form["person_type"] == "p" and form["cnp_fiscal_code"] == CNP
    assert form["state_province"] == "Bucuresti" and "registration_number" not in form


def test_a_contact_claimed_by_another_job_is_pending(sb: Sandbox, env: Env, sqlite_store: Store) -> None:
    fingerprint = Contact(**PERSON).fingerprint()
    assert sqlite_store.contacts.claim("rotld", fingerprint, "other-job").claimed
    with pytest.raises(ContactPending) as caught:
        env.gw.register(job("asteapta.ro"), CTX)
    assert isinstance(caught.value, Throttled) and caught.value.retry_after == 5.0
    assert caught.value.provider == "rotld" and "another job" in str(caught.value)
    assert set(ops(sb)) == {"check-availability"}  # no contact-create, no domain-register


def test_a_failed_contact_create_releases_the_claim(sb: Sandbox, env: Env, sqlite_store: Store) -> None:
    sb.set_faults("rotld", [{"operation": "contact-create", "kind": "status", "status": 500, "count": 1}])
    with pytest.raises(TransientError):
        env.gw.register(job("esec.ro"), CTX)
    claim = sqlite_store.contacts.claim("rotld", Contact(**PERSON).fingerprint(), "another-job")
    assert claim.claimed and claim.contact_id is None


def test_registry_validation_of_a_contact_names_the_field(sb: Sandbox, env: Env, sqlite_store: Store) -> None:
    no_cnp = Contact(**{k: v for k, v in PERSON.items() if k != "cnp"})  # a job would refuse it earlier
    with pytest.raises(ValidationRejected) as caught:
        env.gw.registrant_id(no_cnp, CTX)
    assert caught.value.upstream_code == "50137" and caught.value.fields == ["cnp_fiscal_code"]
    assert sqlite_store.contacts.claim("rotld", no_cnp.fingerprint(), "x").claimed  # released


def test_register_a_taken_domain_is_unavailable(sb: Sandbox, env: Env) -> None:
    sb.seed_domains("rotld", [{"fqdn": "ocupat.ro", "owner": "other"}])
    with pytest.raises(DomainUnavailable) as caught:
        env.gw.register(job("ocupat.ro"), CTX)
    assert "Not Available" in str(caught.value)
    assert "domain-register" not in ops(sb) and "contact-create" not in ops(sb)  # asked first, not sent


def test_register_leaves_nameservers_to_their_own_step(sb: Sandbox, env: Env) -> None:
    result = env.gw.register(job("cu-ns.ro", nameservers=["ns1.example.net", "ns2.example.net"]), CTX)
    assert result.domain == "cu-ns.ro" and result.nameservers == [
        "ns1.sandbox.rotld.ro",
        "ns2.sandbox.rotld.ro",
    ]
    assert [c.operation for c in env.audit.calls] == [
        "check-availability",
        "contact-create",
        "domain-register",
        "domain-info",
    ]
    env.gw.set_nameservers("cu-ns.ro", ["ns1.example.net", "ns2.example.net"], CTX)
    assert sb.domains("rotld")[0]["nameservers"] == ["ns1.example.net", "ns2.example.net"]


def test_an_in_zone_nameserver_is_rejected(sb: Sandbox, env: Env) -> None:
    sb.seed_domains("rotld", [{"fqdn": "zona.ro"}])
    with pytest.raises(ValidationRejected) as caught:
        env.gw.set_nameservers("zona.ro", ["ns1.zona.ro"], CTX)
    assert caught.value.upstream_code == "10502" and caught.value.fields == ["nameservers"]


def test_generated_domain_passwords_meet_the_rules() -> None:
    passwords = {new_domain_password() for _ in range(200)}
    assert len(passwords) == 200
    assert all(re.fullmatch(r"(?=.*[a-z])(?=.*[A-Z])(?=.*\d)[A-Za-z\d]{6,40}", p) for p in passwords)


def test_without_a_directory_every_register_creates_a_contact(sb: Sandbox) -> None:
    e = Env(sb, None)
    e.gw.register(job("unu.ro"), CTX)
    e.gw.register(job("doi.ro"), CTX)
    assert ops(sb)["contact-create"] == 2


def test_dry_run_checks_without_acting(sb: Sandbox, env: Env) -> None:
    sb.seed_domains("rotld", [{"fqdn": "ocupat.ro", "owner": "other"}])
    assert env.gw.dry_run_register(job("liber.ro", dry_run=True), CTX).ok
    taken = env.gw.dry_run_register(job("ocupat.ro", dry_run=True), CTX)
    assert not taken.ok and taken.errors == ["domain"]
    assert set(ops(sb)) == {"check-availability"}


# -- renew --------------------------------------------------------------------------------------------
def test_renew_then_reads_the_new_expiry(sb: Sandbox, env: Env) -> None:
    sb.seed_domains("rotld", [{"fqdn": "reinnoit.ro", "expires": "2030-05-20"}])
    result = env.gw.renew(RenewJob(domain="reinnoit.ro", years=3), CTX)
    assert result.expires_at == date(2033, 5, 20) and effects(sb, "reinnoit.ro") == {"renew": 1}
    sb.seed_domains("rotld", [{"fqdn": "strain.ro", "owner": "other"}])
    with pytest.raises(NotFound):
        env.gw.renew(RenewJob(domain="strain.ro"), CTX)


# -- Digest auth --------------------------------------------------------------------------------------
def test_a_wrong_password_is_an_auth_error(sb: Sandbox) -> None:
    e = Env(sb, rotld_password="wrong-pass")
    with pytest.raises(AuthError) as caught:
        e.gw.check("liber.ro", CTX)
    assert caught.value.status == 401 and "wrong-pass" not in repr(caught.value)
    stats = sb.stats("rotld")
    assert stats["unauthorized"] == 2 and stats["requests"] == 2  # challenge + rejected answer, no retry
    assert [(c.status, c.error_code) for c in e.audit.calls] == [(401, "auth")]


def test_the_digest_nonce_is_reused_across_requests(sb: Sandbox, env: Env) -> None:
    for _ in range(4):
        env.gw.check("liber.ro", CTX)
    stats = sb.stats("rotld")
    assert stats["unauthorized"] == 1 and stats["requests"] == 5  # one challenge for the session
    assert len(env.audit.calls) == 4  # one audit row per logical request


def test_missing_credentials_are_a_config_error(sb: Sandbox) -> None:
    with pytest.raises(ConfigError, match="REGQ_ROTLD_PASSWORD"):
        gateway_for("rotld", load_settings(rotld_api_url=sb.rotld_url, rotld_user=USER), MemoryAudit())
    assert isinstance(Env(sb).gw, RotldGateway)


# -- HTTP faults --------------------------------------------------------------------------------------
@pytest.mark.parametrize("form", ["seconds", "date"])
def test_429_is_rate_limited_with_retry_after(sb: Sandbox, env: Env, form: str) -> None:
    sb.set_faults(
        "rotld",
        [{"operation": "check-availability", "kind": "rate_limit", "rate": 0.01, "retry_after_form": form}],
    )
    env.gw.check("liber.ro", CTX)
    with pytest.raises(RateLimited) as caught:
        env.gw.check("liber.ro", CTX)
    retry_after = caught.value.retry_after
    assert retry_after is not None and retry_after == int(retry_after) and 98 <= retry_after <= 101


@pytest.mark.parametrize("form", ["seconds", "date"])
def test_a_503_with_retry_after_on_register_is_transient_and_not_resent(
    sb: Sandbox, env: Env, form: str
) -> None:
    rule = {
        "operation": "domain-register",
        "kind": "status",
        "status": 503,
        "retry_after": 30,
        "retry_after_form": form,
    }
    sb.set_faults("rotld", [rule])
    with pytest.raises(TransientError) as caught:
        env.gw.register(job("indisponibil.ro"), CTX)
    assert caught.value.status == 503 and 29 <= (caught.value.retry_after or 0) <= 31
    assert ops(sb)["domain-register"] == 1


def test_any_other_non_200_is_transient_and_a_read_is_retried(sb: Sandbox, env: Env) -> None:
    sb.set_faults("rotld", [{"operation": "check-availability", "kind": "forbidden_html", "count": 2}])
    assert env.gw.check("liber.ro", CTX).available
    assert [c.status for c in env.audit.calls] == [403, 403, 200] and len(env.sleeps) == 2


@pytest.mark.parametrize("kind", ["non_json", "truncated"])
def test_non_json_and_truncated_answers_are_protocol_errors(sb: Sandbox, env: Env, kind: str) -> None:
    sb.set_faults("rotld", [{"operation": "check-availability", "kind": kind}])
    with pytest.raises(ProtocolError):
        env.gw.check("liber.ro", CTX)


def test_an_unknown_result_code_is_a_final_registry_error_not_a_breaker_failure(env: Env) -> None:
    with pytest.raises(RegistryRefused) as caught:
        env.gw._command("no-such-command", {}, CTX, idempotent=True)  # type: ignore[attr-defined]
    assert caught.value.upstream_code == "10002" and "Unknown command" in str(caught.value)
    assert caught.value.disposition == "final" and caught.value.breaker == "success"


def test_commit_drop_on_register_is_ambiguous_and_not_resent(sb: Sandbox, env: Env) -> None:
    sb.set_faults("rotld", [{"operation": "domain-register", "kind": "commit_drop"}])
    with pytest.raises(AmbiguousError):
        env.gw.register(job("pierdut.ro"), CTX)
    assert effects(sb, "pierdut.ro") == {"create": 1} and ops(sb)["domain-register"] == 1


def test_reset_before_on_register_is_not_sent_and_retried(sb: Sandbox, env: Env) -> None:
    sb.set_faults("rotld", [{"operation": "domain-register", "kind": "reset_before", "count": 1}])
    result = env.gw.register(job("din-nou.ro"), CTX)
    assert result.domain == "din-nou.ro"
    assert effects(sb, "din-nou.ro") == {"create": 1} and ops(sb)["domain-register"] == 2
    assert [c.error_code for c in env.audit.calls if c.operation == "domain-register"] == ["not_sent", None]


def test_a_timeout_on_renew_is_ambiguous(sb: Sandbox, sqlite_store: Store) -> None:
    sb.seed_domains("rotld", [{"fqdn": "lent.ro"}])
    e = Env(sb, sqlite_store, read_timeout_seconds=0.3)
    sb.set_faults("rotld", [{"operation": "domain-renew", "kind": "timeout", "seconds": 5}])
    with pytest.raises(AmbiguousError):
        e.gw.renew(RenewJob(domain="lent.ro"), CTX)
    assert ops(sb)["domain-renew"] == 1


# -- secrets ------------------------------------------------------------------------------------------
def test_nothing_secret_reaches_audit_rows_logs_errors_or_results(
    sb: Sandbox, env: Env, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    result = env.gw.register(job("secret.ro"), CTX)
    domain_password = sb.rotld_server.provider.store.domains["secret.ro"].authinfo  # type: ignore[attr-defined]
    assert len(domain_password) == 16
    errors = []
    for call in (
        lambda: Env(sb, rotld_password="bad-" + PASSWORD).gw.check("x.ro", CTX),
        lambda: env.gw.registrant_id(Contact(**{**PERSON, "cnp": None}), CTX),
    ):
        try:
            call()
        except (AuthError, ValidationRejected) as exc:
            errors.append(repr(exc) + str(exc))
    haystack = "\n".join([repr(env.audit.calls), caplog.text, repr(result.to_dict()), *errors, repr(env.gw)])
    for secret in (PASSWORD, domain_password, CNP, PERSON["email"], PERSON["phone"], "727636787"):
        assert secret not in haystack
    assert len(errors) == 2


def test_every_request_on_the_wire_takes_a_token_digest_resend_included(sb: Sandbox) -> None:
    from tests.test_http_client import RecordingGuard

    guard = RecordingGuard()
    gw = gateway_for("rotld", settings_for(sb), MemoryAudit(), None, digest_state=DigestState())
    try:
        for _ in range(3):
            gw.check("un-nume.ro", CallPolicy(guard))
    finally:
        gw.close()
    stats = sb.stats("rotld")
    assert stats["requests"] == 4  # the first call was challenged once: 401 then the answer
    assert len(guard.before) == stats["requests"]
    assert ("rotld", "digest-challenge") in guard.before


def test_find_answers_none_for_a_domain_not_in_our_account(sb: Sandbox, env: Env) -> None:
    assert env.gw.find("absent-here.ro", CallPolicy(), settle=True) is None
    env.gw.register(job("present-here.ro"), CallPolicy())
    found = env.gw.find("present-here.ro", CallPolicy())
    assert found is not None and found.expires_at is not None


# -- the contact's state: ROTLD's state_province takes text -----------------------------------------------
@pytest.mark.parametrize(
    ("state", "sent"),
    [
        ("RO-B", "București"),  # a code becomes its subdivision's name
        ("ro-cj", "Cluj"),
        ("Sector 6", "Sector 6"),  # text goes as given
        ("Bucuresti", "Bucuresti"),
        (None, "Bucuresti"),  # no state: the city, as Bucharest has no county
    ],
)
def test_register_sends_state_province_as_text(sb: Sandbox, env: Env, state: str | None, sent: str) -> None:
    owner = {**PERSON, "state": state} if state else PERSON
    env.gw.register(job("judet.ro", owner), CTX)
    provider = sb.rotld_server.provider
    [contact] = provider.contacts.values()  # type: ignore[attr-defined]
    assert contact["state_province"] == sent


@pytest.mark.parametrize(("value", "code"), [("RO-B", "50122"), ("ro-cj", "50122"), ("Sector 6", "00200")])
def test_the_stand_in_refuses_a_code_as_state_province(sb: Sandbox, value: str, code: str) -> None:
    import requests
    from requests.auth import HTTPDigestAuth

    from sandbox.testing import ROTLD_PERSON

    form = {"command": "contact-create", "lang": "en", "format": "json", **ROTLD_PERSON}
    form["state_province"] = value
    answer = requests.post(sb.rotld_url, data=form, auth=HTTPDigestAuth(USER, PASSWORD), timeout=5).json()
    assert answer["result_code"] == code, answer
    if code != "00200":
        assert "state_province" in answer["result_message"]
