"""``POST /v1/domains/{domain}/auth-code`` against a real ``regq api`` process (its Postgres, Redis and the
sandbox registrars): the owner gets the code once, in the answer only (never the API's log, the audit
table or the jobs table); another owner gets 404; a reset gives a new code; ROTLD has none (409 naming it);
an open breaker is a 503 with Retry-After. And ``regq domains auth-code``, in-process."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from shared.services import Services
from shared.store import Store
from testkit.api import Api, running_api
from testkit.factories import register
from testkit.stacks import running_stack
from workers.embedded.stack import Stack

ENV = {"REGQ_API_RATE": "1000/s", "REGQ_API_BURST": "1000", "REGQ_OUTBOUND_ALLOW_PRIVATE": "true"}


@pytest.fixture(scope="module")
def stack(redis_url: str, postgres_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    store = Store(postgres_url)
    store.upgrade()
    store.dispose()
    var = Path(tmp_path_factory.mktemp("authcode-stack"))
    with running_stack(redis_url, postgres_url, var, groups=(), extra_env=ENV) as s:
        yield s


@pytest.fixture(scope="module")
def api(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    with running_api(stack.env, Path(tmp_path_factory.mktemp("authcode-api")), ENV) as running:
        yield running


def token_of(api: Api, owner: str, scopes: str = "submit,read") -> str:
    return api.store.api_tokens.create(f"t-{uuid.uuid4().hex[:10]}", scopes.split(","), owner=owner)[1]


def held_by(api: Api, stack: Stack, token: str, domain: str) -> None:
    """``domain`` in our account at the sandbox, in the inventory, and named by a job of ``token``'s owner."""
    registrar = "rotld" if domain.endswith(".ro") else "gandi"
    assert stack.sandbox is not None
    stack.sandbox.seed_domains(registrar, [{"fqdn": domain, "owner": "us"}])
    api.store.inventory.upsert(domain, registrar, date(2030, 1, 1))
    key = f"reg-{uuid.uuid4().hex[:8]}"
    job = register(domain, idempotency_key=key)
    assert api.call("POST", "/v1/jobs", token, json=job).status_code == 201


def dump(store: Store, table: str) -> str:
    with store.db.engine.connect() as conn:
        return repr(conn.execute(sa.text(f"SELECT * FROM {table}")).fetchall())


def test_the_owner_gets_the_code_once_and_nothing_else_keeps_it(api: Api, stack: Stack) -> None:
    tag = uuid.uuid4().hex[:8]
    mine, theirs = token_of(api, f"acme-{tag}"), token_of(api, f"bolt-{tag}")
    domain = f"leaving-{tag}.com"
    held_by(api, stack, mine, domain)
    answer = api.call("POST", f"/v1/domains/{domain}/auth-code", mine)
    assert answer.status_code == 200, answer.text
    assert answer.headers["Cache-Control"] == "no-store"
    body = answer.json()
    assert set(body) == {"domain", "auth_code", "expires_at"} and body["domain"] == domain
    code = body["auth_code"]
    assert len(code) >= 8
    hidden = api.call("POST", f"/v1/domains/{domain}/auth-code", theirs)
    assert hidden.status_code == 404 and code not in hidden.text
    again = api.call("POST", f"/v1/domains/{domain}/auth-code", mine, json={"reset": True})
    assert again.status_code == 200, again.text
    fresh = again.json()["auth_code"]
    assert fresh != code and again.json()["expires_at"] is not None
    assert "authinfo_reset" in dump(api.store, "api_calls")  # the calls were audited ...
    for table in ("api_calls", "jobs", "webhook_deliveries"):  # ... without the code
        text = dump(api.store, table)
        assert code not in text and fresh not in text, table
    assert "auth-code" in api.log.read_text()  # the access log saw the requests ...
    assert code not in api.log.read_text() and fresh not in api.log.read_text()  # ... never the codes


def test_scope_body_and_registrar_rules(api: Api, stack: Stack) -> None:
    tag = uuid.uuid4().hex[:8]
    owner = f"acme-{tag}"
    token, reader = token_of(api, owner), token_of(api, owner, "read")
    domain, ro = f"rules-{tag}.com", f"reguli-{tag}.ro"
    held_by(api, stack, token, domain)
    assert api.call("POST", f"/v1/domains/{domain}/auth-code", reader).status_code == 403
    bad = api.call("POST", f"/v1/domains/{domain}/auth-code", token, json={"reset": "yes"})
    assert bad.status_code == 422
    assert api.call("POST", f"/v1/domains/{domain}/auth-code", token, json={"other": 1}).status_code == 422
    assert api.call("POST", f"/v1/domains/nothing-{tag}.com/auth-code", token).status_code == 404
    held_by(api, stack, token, ro)
    refused = api.call("POST", f"/v1/domains/{ro}/auth-code", token)
    assert refused.status_code == 409 and "rotld" in refused.json()["detail"]


def test_an_open_breaker_is_503_with_retry_after(api: Api, stack: Stack) -> None:
    tag = uuid.uuid4().hex[:8]
    token = token_of(api, f"acme-{tag}")
    domain = f"breaker-{tag}.com"
    held_by(api, stack, token, domain)
    services = Services(stack.settings())
    try:
        for _ in range(services.settings.breaker_failures):
            services.breaker.record_failure("gandi")
        answer = api.call("POST", f"/v1/domains/{domain}/auth-code", token)
        assert answer.status_code == 503, answer.text
        assert int(answer.headers["Retry-After"]) >= 1 and "auth_code" not in answer.text
    finally:
        services.breaker.reset("gandi", "test over")
        services.close()


def test_the_cli_prints_the_code_once(api: Api, stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    from workers.cli import app

    tag = uuid.uuid4().hex[:8]
    token = token_of(api, f"acme-{tag}")
    domain = f"cli-{tag}.com"
    held_by(api, stack, token, domain)
    for name, value in {**stack.env, **ENV}.items():
        monkeypatch.setenv(name, value)
    runner = CliRunner()
    plain = runner.invoke(app, ["domains", "auth-code", domain])
    assert plain.exit_code == 0, plain.output
    code = plain.stdout.strip()
    assert len(code) >= 8 and plain.stdout.count(code) == 1
    as_json = runner.invoke(app, ["domains", "auth-code", domain, "--json", "--reset"])
    assert as_json.exit_code == 0, as_json.output
    data = json.loads(as_json.stdout)
    assert data["domain"] == domain and data["auth_code"] != code
    refused = runner.invoke(app, ["domains", "auth-code", f"none-{tag}.ro"])
    assert refused.exit_code == 1 and "rotld" in refused.output
    shown = runner.invoke(app, ["domains", "show", domain, "--json"])
    assert json.loads(shown.stdout)["renewed_by"].startswith(
        "regq"
    )  # regq renews; the registrar side as known
