"""The Gandi gateway against the sandbox's Gandi v5 stand-in, over real HTTP with injected faults."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
import requests

from sandbox.stack import Sandbox
from shared.audit import MemoryAudit
from shared.contact import Contact
from shared.errors import (
    AmbiguousError,
    AuthError,
    ConfigError,
    DomainUnavailable,
    NotFound,
    ProtocolError,
    RateLimited,
    TransientError,
    UnknownRegistrar,
    ValidationRejected,
)
from shared.gateways import gateway_for
from shared.gateways.gandi import GandiGateway
from shared.jobs import RegisterJob, RenewJob
from shared.settings import Settings, load_settings
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


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(gandi_config={"visibility_delay": 0, "create_status": 202}) as sb:
        yield sb


def settings_for(sb: Sandbox, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "gandi_api_url": sb.gandi_url,
        "gandi_token": TOKEN,
        "outbound_allow_private": True,
        "read_timeout_seconds": 2.0,
        "gandi_visibility_wait_seconds": 3.0,
    }
    values.update(overrides)
    return load_settings(**values)


class Env:
    def __init__(self, sb: Sandbox, **overrides: Any) -> None:
        self.audit = MemoryAudit()
        self.sleeps: list[float] = []
        self.gw = gateway_for("gandi", settings_for(sb, **overrides), self.audit, sleep=self._sleep)

    def _sleep(self, seconds: float) -> None:
        import time

        self.sleeps.append(seconds)
        time.sleep(min(seconds, 0.05))  # keep polling real but short


@pytest.fixture
def env(sb: Sandbox) -> Iterator[Env]:
    e = Env(sb)
    yield e
    e.gw.close()


def register_job(domain: str, **extra: Any) -> RegisterJob:
    return RegisterJob(domain=domain, owner=Contact(**OWNER), **extra)


def ops(sb: Sandbox) -> dict[str, int]:
    return {k: v for k, v in sb.stats("gandi")["by_operation"].items() if v}


def effects(sb: Sandbox, domain: str) -> dict[str, int]:
    return sb.stats("gandi")["effects"].get(domain, {})


# -- check --------------------------------------------------------------------------------------------
def test_check_reports_availability_price_and_currency(sb: Sandbox, env: Env) -> None:
    result = env.gw.check("Example.COM", CTX)
    assert (result.domain, result.available, result.status, result.retriable) == (
        "example.com",
        True,
        "available",
        False,
    )
    assert result.price == Decimal("13.0") and result.currency == "EUR"
    assert result.to_dict()["price"] == "13.0"


@pytest.mark.parametrize(
    ("domain", "status", "retriable"),
    [
        ("pending-x.com", "pending", True),
        ("timeout-x.com", "error_timeout", True),
        ("premium-x.com", "unavailable_premium", False),
        ("invalid-x.com", "error_invalid", False),
    ],
)
def test_check_statuses_other_than_available(env: Env, domain: str, status: str, retriable: bool) -> None:
    result = env.gw.check(domain, CTX)
    assert (result.available, result.status, result.retriable) == (False, status, retriable)


def test_check_a_taken_domain(sb: Sandbox, env: Env) -> None:
    sb.seed_domains("gandi", [{"fqdn": "taken.com", "owner": "other"}])
    result = env.gw.check("taken.com", CTX)
    assert (result.available, result.status) == (False, "unavailable")


# -- register -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("create_status", [201, 202])
def test_register_creates_then_reads_the_expiry(sb: Sandbox, env: Env, create_status: int) -> None:
    sb.configure("gandi", create_status=create_status)
    job = register_job("newdomain.com", years=2, nameservers=["ns1.example.net", "ns2.example.net"])
    result = env.gw.register(job, CTX)
    assert result.domain == "newdomain.com" and result.created_at is not None
    assert result.expires_at.year == result.created_at.year + 2
    [listed] = sb.domains("gandi")
    assert listed["nameservers"] == ["ns1.example.net", "ns2.example.net"]
    assert effects(sb, "newdomain.com") == {"create": 1}
    assert [c.operation for c in env.audit.calls] == ["create", "info"]


def test_register_polls_over_the_read_after_create_404(sb: Sandbox, env: Env) -> None:
    sb.configure("gandi", visibility_delay=0.3)
    result = env.gw.register(register_job("slowdomain.com"), CTX)
    assert result.expires_at is not None
    statuses = [(c.operation, c.status) for c in env.audit.calls]
    assert statuses[0] == ("create", 202) and statuses[-1] == ("info", 200)
    assert ("info", 404) in statuses  # a 404 while polling is not a failure
    assert env.sleeps[:2] == [0.2, 0.4]  # backoff 0.2 s doubling (to 2 s)
    assert effects(sb, "slowdomain.com") == {"create": 1}


def test_register_never_visible_is_ambiguous_and_not_resent(sb: Sandbox, sandbox: Sandbox) -> None:
    sb.configure("gandi", visibility_delay=30)
    e = Env(sb, gandi_visibility_wait_seconds=0.3)
    with pytest.raises(AmbiguousError, match="not confirmed"):
        e.gw.register(register_job("ghost.com"), CTX)
    assert ops(sb)["create"] == 1 and effects(sb, "ghost.com") == {"create": 1}


def test_find_settles_over_the_read_after_create_window_only_when_asked(sb: Sandbox) -> None:
    sb.configure("gandi", visibility_delay=0.5)
    e = Env(sb, gandi_visibility_wait_seconds=3)
    with pytest.raises(AmbiguousError):  # no one waited: the create is not confirmed within 0 s of polling
        Env(sb, gandi_visibility_wait_seconds=0).gw.register(register_job("justmade.com"), CTX)
    assert e.gw.find("justmade.com", CTX) is None  # one read: still invisible
    found = e.gw.find("justmade.com", CTX, settle=True)
    assert found is not None and found.expires_at is not None
    assert e.gw.find("never-made.com", CTX, settle=True) is None  # waited the window out, then absent
    assert effects(sb, "justmade.com") == {"create": 1}


def test_register_a_taken_domain_is_unavailable(sb: Sandbox, env: Env) -> None:
    sb.seed_domains("gandi", [{"fqdn": "taken.com", "owner": "other"}])
    with pytest.raises(DomainUnavailable) as caught:
        env.gw.register(register_job("taken.com"), CTX)
    assert caught.value.status == 409 and not caught.value.retriable


def test_register_a_premium_domain_is_unavailable(env: Env) -> None:
    with pytest.raises(DomainUnavailable, match="premium"):
        env.gw.register(register_job("premium-x.com"), CTX)


def test_register_validation_errors_name_the_fields(env: Env) -> None:
    with pytest.raises(ValidationRejected) as caught:
        env.gw.register(register_job("invalid-x.com"), CTX)
    assert caught.value.fields == ["fqdn"] and caught.value.status == 400
    owner = {k: v for k, v in OWNER.items() if k != "zip"}
    with pytest.raises(ValidationRejected) as caught:
        env.gw.register(RegisterJob(domain="nozip.com", owner=owner), CTX)
    assert caught.value.fields == ["owner.zip"]


def test_a_dry_run_job_never_goes_through_register(env: Env) -> None:
    with pytest.raises(ValueError, match="dry_run_register"):
        env.gw.register(register_job("x.com", dry_run=True), CTX)


# -- dry run ------------------------------------------------------------------------------------------
def test_dry_run_validates_without_acting(sb: Sandbox, env: Env) -> None:
    ok = env.gw.dry_run_register(register_job("fine.com", dry_run=True), CTX)
    assert ok.ok and ok.errors == []
    bad = env.gw.dry_run_register(register_job("invalid-y.com", dry_run=True), CTX)
    assert not bad.ok and bad.errors == ["fqdn"] and bad.messages
    assert sb.domains("gandi") == [] and sb.stats("gandi")["effects"] == {}
    assert {c.operation for c in env.audit.calls} == {"dry_run"}


# -- renew / info / nameservers -----------------------------------------------------------------------
def test_renew_then_reads_the_new_expiry(sb: Sandbox, env: Env) -> None:
    sb.seed_domains("gandi", [{"fqdn": "mine.com", "owner": "us", "expires": "2030-01-15"}])
    result = env.gw.renew(RenewJob(domain="mine.com", years=2, current_expiry=date(2030, 1, 15)), CTX)
    assert result.expires_at == date(2032, 1, 15)
    assert effects(sb, "mine.com") == {"renew": 1}


def test_renew_a_domain_not_in_our_account_is_not_found(sb: Sandbox, env: Env) -> None:
    sb.seed_domains("gandi", [{"fqdn": "theirs.com", "owner": "other"}])
    with pytest.raises(NotFound):
        env.gw.renew(RenewJob(domain="theirs.com"), CTX)


def test_info_reads_expiry_statuses_nameservers_and_keeps_no_authinfo(sb: Sandbox, env: Env) -> None:
    sb.seed_domains("gandi", [{"fqdn": "mine.com", "expires": "2031-06-30", "nameservers": ["ns1.a.net"]}])
    info = env.gw.info("mine.com", CTX)
    assert info.expires_at == date(2031, 6, 30) and info.nameservers == ["ns1.a.net"]
    assert info.statuses == ["clientTransferProhibited"]
    assert set(info.to_dict()) == {"domain", "expires_at", "statuses", "nameservers"}
    with pytest.raises(NotFound):
        env.gw.info("absent.com", CTX)


def test_set_nameservers_sends_an_object(sb: Sandbox, env: Env) -> None:
    sb.seed_domains("gandi", [{"fqdn": "mine.com"}])
    env.gw.set_nameservers("mine.com", ["ns1.new.net", "ns2.new.net"], CTX)
    assert sb.domains("gandi")[0]["nameservers"] == ["ns1.new.net", "ns2.new.net"]


# -- auth ---------------------------------------------------------------------------------------------
def test_a_wrong_token_is_an_auth_error_and_not_retried(sb: Sandbox) -> None:
    e = Env(sb, gandi_token="wrong-token")
    with pytest.raises(AuthError) as caught:
        e.gw.check("example.com", CTX)
    assert caught.value.status == 401 and "wrong-token" not in str(caught.value)
    assert sb.stats("gandi")["requests"] == 1


def test_the_apikey_scheme_is_used_for_an_apikey_token(sb: Sandbox) -> None:
    e = Env(sb, gandi_token=f"Apikey:{TOKEN}")
    assert e.gw.check("example.com", CTX).available
    assert "Apikey" in e.gw._authorization


def test_a_non_json_403_is_an_auth_error(sb: Sandbox, env: Env) -> None:
    sb.set_faults("gandi", [{"operation": "check", "kind": "forbidden_html"}])
    with pytest.raises(AuthError):
        env.gw.check("example.com", CTX)
    assert sb.stats("gandi")["requests"] == 1


# -- faults -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("form", ["seconds", "date"])
def test_429_is_rate_limited_with_retry_after_in_both_forms(sb: Sandbox, env: Env, form: str) -> None:
    sb.set_faults(
        "gandi", [{"operation": "check", "kind": "rate_limit", "rate": 0.01, "retry_after_form": form}]
    )
    env.gw.check("example.com", CTX)  # the bucket's one token
    with pytest.raises(RateLimited) as caught:
        env.gw.check("example.com", CTX)
    retry_after = caught.value.retry_after
    assert retry_after is not None and retry_after == int(retry_after) and 98 <= retry_after <= 101
    assert sb.stats("gandi")["by_operation"]["check"] == 2  # not retried inside the call


def test_a_5xx_on_a_read_is_retried_within_the_attempt(sb: Sandbox, env: Env) -> None:
    sb.set_faults("gandi", [{"operation": "check", "kind": "status", "status": 502, "count": 2}])
    assert env.gw.check("example.com", CTX).available
    assert len(env.sleeps) == 2 and [c.status for c in env.audit.calls] == [502, 502, 200]


@pytest.mark.parametrize("form", ["seconds", "date"])
def test_a_503_with_retry_after_is_transient_and_left_to_the_task_layer(
    sb: Sandbox, env: Env, form: str
) -> None:
    rule = {
        "operation": "check",
        "kind": "status",
        "status": 503,
        "retry_after": 42,
        "retry_after_form": form,
    }
    sb.set_faults("gandi", [rule])
    with pytest.raises(TransientError) as caught:
        env.gw.check("example.com", CTX)
    assert caught.value.status == 503 and 41 <= (caught.value.retry_after or 0) <= 43
    assert sb.stats("gandi")["requests"] == 1


def test_a_5xx_on_create_is_not_retried(sb: Sandbox, env: Env) -> None:
    sb.set_faults("gandi", [{"operation": "create", "kind": "status", "status": 500}])
    with pytest.raises(TransientError):
        env.gw.register(register_job("five.com"), CTX)
    assert ops(sb) == {"create": 1} and env.sleeps == []


def test_commit_drop_on_create_is_ambiguous_and_not_resent(sb: Sandbox, env: Env) -> None:
    sb.set_faults("gandi", [{"operation": "create", "kind": "commit_drop"}])
    with pytest.raises(AmbiguousError):
        env.gw.register(register_job("dropped.com"), CTX)
    assert effects(sb, "dropped.com") == {"create": 1}
    assert ops(sb) == {"create": 1}
    assert [(c.operation, c.status, c.error_code) for c in env.audit.calls] == [("create", None, "ambiguous")]


def test_reset_before_on_create_is_not_sent_and_retried_within_the_attempt(sb: Sandbox, env: Env) -> None:
    sb.set_faults("gandi", [{"operation": "create", "kind": "reset_before", "count": 1}])
    result = env.gw.register(register_job("resetme.com"), CTX)
    assert result.domain == "resetme.com"
    assert effects(sb, "resetme.com") == {"create": 1} and ops(sb)["create"] == 2
    assert [c.error_code for c in env.audit.calls if c.operation == "create"] == ["not_sent", None]


def test_a_timeout_on_a_read_is_retried_and_on_renew_is_ambiguous(sb: Sandbox) -> None:
    sb.seed_domains("gandi", [{"fqdn": "mine.com", "expires": "2030-01-15"}])
    e = Env(sb, read_timeout_seconds=0.3)
    sb.set_faults("gandi", [{"operation": "info", "kind": "timeout", "seconds": 5, "count": 1}])
    assert e.gw.info("mine.com", CTX).expires_at == date(2030, 1, 15)
    assert [c.error_code for c in e.audit.calls] == ["ambiguous", None]
    sb.set_faults("gandi", [{"operation": "renew", "kind": "timeout", "seconds": 5}])
    with pytest.raises(AmbiguousError):
        e.gw.renew(RenewJob(domain="mine.com"), CTX)
    assert sb.stats("gandi")["by_operation"]["renew"] == 1


@pytest.mark.parametrize(
    ("rule", "operation"),
    [
        ({"kind": "non_json"}, "check"),
        ({"kind": "truncated"}, "check"),
        ({"kind": "non_json", "status": 502}, "check"),
        ({"kind": "truncated"}, "info"),
    ],
)
def test_non_json_and_truncated_answers(sb: Sandbox, env: Env, rule: dict[str, Any], operation: str) -> None:
    sb.seed_domains("gandi", [{"fqdn": "mine.com"}])
    sb.set_faults("gandi", [{"operation": operation, **rule}])
    call = env.gw.check if operation == "check" else env.gw.info
    expected = TransientError if rule.get("status", 200) >= 500 else ProtocolError
    with pytest.raises(expected):
        call("mine.com", CTX)


def test_a_non_json_answer_to_create_is_a_protocol_error(sb: Sandbox, env: Env) -> None:
    sb.set_faults("gandi", [{"operation": "create", "kind": "non_json", "apply": True}])
    with pytest.raises(ProtocolError):
        env.gw.register(register_job("html.com"), CTX)
    assert ops(sb) == {"create": 1}  # never re-sent; the task layer reconciles (the effect happened)


# -- registry and configuration -----------------------------------------------------------------------
def test_registry_builds_gateways_and_names_unknown_registrars(sb: Sandbox) -> None:
    assert isinstance(gateway_for("GANDI", settings_for(sb), MemoryAudit()), GandiGateway)
    with pytest.raises(UnknownRegistrar, match="unknown registrar 'verisign'; known: gandi, rotld"):
        gateway_for("verisign", settings_for(sb), MemoryAudit())
    with pytest.raises(ConfigError, match="REGQ_GANDI_TOKEN"):
        gateway_for("gandi", load_settings(gandi_api_url=sb.gandi_url), MemoryAudit())


def test_production_settings_refuse_the_local_sandbox(sb: Sandbox) -> None:
    from shared.errors import OutboundRefused

    gw = gateway_for("gandi", settings_for(sb, outbound_allow_private=False), MemoryAudit())
    with pytest.raises(OutboundRefused, match="loopback"):
        gw.check("example.com", CTX)
    assert sb.stats("gandi")["requests"] == 0


def test_guard_is_called_for_every_request_including_polls(sb: Sandbox) -> None:
    from tests.test_http_client import RecordingGuard

    sb.configure("gandi", visibility_delay=0.2)
    guard = RecordingGuard()
    gw = gateway_for("gandi", settings_for(sb), MemoryAudit(), sleep=lambda s: __import__("time").sleep(s))
    gw.register(register_job("guarded.com"), CallPolicy(guard, job_key="job-1", attempt=1))
    assert len(guard.before) == sb.stats("gandi")["requests"] >= 3
    assert guard.before[0] == ("gandi", "create") and {op for _, op in guard.before[1:]} == {"info"}
    assert [status for _, status, _ in guard.after][-1] == 200


# -- secrets ------------------------------------------------------------------------------------------
def test_nothing_secret_reaches_audit_rows_logs_errors_or_results(
    sb: Sandbox, env: Env, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    result = env.gw.register(register_job("private.com"), CTX)
    authinfo = requests.get(
        f"{sb.gandi_url}/domain/domains/private.com", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5
    ).json()["authinfo"]
    info = env.gw.info("private.com", CTX)
    errors: list[str] = []
    sb.set_faults("gandi", [{"operation": "check", "kind": "status", "status": 500}])
    for call in (
        lambda: env.gw.check("x.com", CTX),
        lambda: Env(sb, gandi_token="bad-" + TOKEN).gw.info("a.com", CTX),
    ):
        try:
            call()
        except (TransientError, AuthError) as exc:
            errors.append(repr(exc) + str(exc))
    haystack = "\n".join(
        [
            repr(env.audit.calls),
            caplog.text,
            repr(result.to_dict()),
            repr(info.to_dict()),
            *errors,
            repr(env.gw),
        ]
    )
    for secret in (TOKEN, authinfo, OWNER["email"], OWNER["phone"], "123456789"):
        assert secret not in haystack
    assert all("?" not in c.path for c in env.audit.calls)


# -- wire details the sandbox does not record -----------------------------------------------------------
def test_sharing_id_and_bearer_token_are_sent_and_the_query_stays_out_of_the_audit() -> None:
    from tests.test_http_client import Answer, LocalServer

    local = LocalServer()
    try:
        product = b'{"name": "example.com", "status": "unavailable", "prices": []}'
        body = b'{"currency": "EUR", "products": [' + product + b"]}"
        local.script("/v5/domain/check", Answer(200, body))
        local.script(
            "/v5/domain/domains",
            Answer(400, b'{"status": "error", "errors": [{"location": "body", "name": "fqdn", '
                        b'"description": "Domain example.com is unavailable"}]}'),
        )  # fmt: skip
        audit = MemoryAudit()
        settings = load_settings(
            gandi_api_url=local.url("/v5"),
            gandi_token=TOKEN,
            gandi_sharing_id="org-1",
            outbound_allow_private=True,
        )
        gw = gateway_for("gandi", settings, audit)
        result = gw.check("example.com", CTX)
        assert (result.available, result.price, result.currency) == (False, None, "EUR")
        method, target, headers, _ = local.hits[0]
        assert method == "GET" and "sharing_id=org-1" in target and "name=example.com" in target
        assert headers["Authorization"] == f"Bearer {TOKEN}"
        with pytest.raises(DomainUnavailable):
            gw.register(register_job("example.com"), CTX)
        _, target, headers, sent = local.hits[1]
        assert (
            target == "/v5/domain/domains?sharing_id=org-1" and headers["Content-Type"] == "application/json"
        )
        assert b'"phone": "+33.123456789"' in sent and b'"type": 0' in sent
        assert [c.path for c in audit.calls] == ["/v5/domain/check", "/v5/domain/domains"]
    finally:
        local.close()


# -- the contact's state: Gandi takes an ISO 3166-2 code --------------------------------------------------
@pytest.mark.parametrize(
    ("country", "state", "sent"),
    [
        ("FR", "FR-IDF", "FR-IDF"),
        ("FR", "FR-J", "FR-IDF"),  # Gandi's documented example, Île-de-France's code before 2016
        ("FR", "Île-de-France", "FR-IDF"),  # a name pycountry knows becomes its code
        ("RO", "RO-B", "RO-B"),
        ("RO", "Sector 6", None),  # text unknown to pycountry: no state rather than text where a code goes
    ],
)
def test_register_sends_the_state_as_an_iso_3166_2_code(
    sb: Sandbox, env: Env, country: str, state: str, sent: str | None
) -> None:
    owner = Contact(**{**OWNER, "country": country, "state": state})
    env.gw.register(RegisterJob(domain="state-form.com", owner=owner), CTX)
    detail = requests.get(
        f"{sb.gandi_url}/domain/domains/state-form.com",
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=5,
    ).json()
    assert detail["contacts"]["owner"].get("state") == sent
    assert detail["contacts"]["owner"]["country"] == country


@pytest.mark.parametrize(
    ("country", "state", "refused"),
    [("FR", "Île-de-France", True), ("FR", "RO-B", True), ("FR", "FR-IDF", False), ("RO", "RO-B", False)],
)
def test_the_stand_in_takes_only_a_code_of_the_contacts_country_as_state(
    sb: Sandbox, country: str, state: str, refused: bool
) -> None:
    from sandbox.testing import GANDI_OWNER

    body = {"fqdn": "dry-state.com", "owner": {**GANDI_OWNER, "country": country, "state": state}}
    answer = requests.post(
        f"{sb.gandi_url}/domain/domains",
        json=body,
        headers={"Authorization": f"Bearer {TOKEN}", "Dry-Run": "1"},
        timeout=5,
    )
    if refused:
        assert answer.status_code == 400
        assert [e["name"] for e in answer.json()["errors"]] == ["owner.state"]
    else:
        assert (answer.status_code, answer.json()) == (200, {"status": "success"})
