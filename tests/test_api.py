"""The HTTP API as producers see it: a real ``regq api`` (uvicorn) process on a free port, a real Postgres
store, the Redis broker and one real Celery worker behind it (the sandbox's Gandi answering)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from shared.jobs import JobStatus, job_schema
from shared.store import Store
from testkit.api import Api, running_api
from testkit.factories import register
from testkit.stacks import running_stack, wait_for
from workers.embedded.stack import Stack, WorkerGroup

GROUPS = (WorkerGroup("gandi", ("registrar.gandi",), 1),)
API_BURST = 30


@pytest.fixture(scope="module")
def stack(redis_url: str, postgres_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    store = Store(postgres_url)
    store.upgrade()
    store.dispose()
    with running_stack(redis_url, postgres_url, Path(tmp_path_factory.mktemp("api-stack")), GROUPS) as s:
        yield s


@pytest.fixture(scope="module")
def api(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    extra = {
        "REGQ_API_RATE": "10/s",
        "REGQ_API_BURST": str(API_BURST),
        "REGQ_API_AUTH_FAILURE_BURST": "1000",  # the 401s are under test here; the throttle has its own
    }
    with running_api(stack.env, Path(tmp_path_factory.mktemp("api")), extra) as running:
        yield running


def test_health_is_open_and_openapi_describes_the_job_models(api: Api) -> None:
    health = requests.get(api.url + "/v1/health", timeout=5)
    assert health.status_code == 200
    assert health.json() == {"ok": True, "checks": {"store": True, "redis": True, "broker": True}}
    document = requests.get(api.url + "/openapi.json", timeout=5).json()
    schemas = document["components"]["schemas"]
    # the same pydantic models as `regq schema`: every job model, and POST /v1/jobs takes the union
    for name in job_schema()["$defs"]:
        assert name in schemas, name
    refs = {v["$ref"].rsplit("/", 1)[1] for v in schemas["Job"]["oneOf"]}
    assert refs == {"RegisterJob", "RenewJob", "LookupJob", "NameserversJob", "SyncJob"} | {
        "TransferJob",
        "LockJob",
        "ContactsJob",
        "GlueJob",
        "OwnerChangeJob",
    }
    body = document["paths"]["/v1/jobs"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/Job"}
    assert "/v1/jobs:batch" in document["paths"]


def test_every_endpoint_needs_a_valid_token(api: Api) -> None:
    secret = api.token()
    paths = [("GET", "/v1/jobs"), ("GET", "/v1/jobs/x"), ("POST", "/v1/jobs"), ("POST", "/v1/jobs:batch")]
    paths += [("GET", "/v1/domains/example.com"), ("GET", "/v1/lookup/example.com")]
    for method, path in paths:
        for token in (None, "regq_wrong", secret[:-2] + "xx"):
            answer = api.call(method, path, token)
            assert answer.status_code == 401, (method, path, answer.text)
            assert answer.headers["WWW-Authenticate"] == "Bearer"
            assert secret not in answer.text
    assert api.call("GET", "/v1/jobs", secret).status_code == 200
    name = next(t.name for t in api.store.api_tokens.all() if api.store.api_tokens.verify(secret) == t)
    assert api.store.api_tokens.revoke(name)
    assert api.call("GET", "/v1/jobs", secret).status_code == 401
    assert secret not in api.log.read_text()


def test_scopes_are_enforced(api: Api) -> None:
    reader, submitter = api.token("read"), api.token("submit")
    job = register("api-scope.com")
    assert api.call("POST", "/v1/jobs", reader, json=job).status_code == 403
    assert api.call("POST", "/v1/jobs:batch", reader, json=[job]).status_code == 403
    assert api.store.jobs.get("register:api-scope.com") is None
    assert api.call("GET", "/v1/jobs", submitter).status_code == 403
    assert api.call("GET", "/v1/jobs", reader).status_code == 200


def test_submit_duplicate_and_conflict(api: Api) -> None:
    token = api.token()
    key = f"order-{uuid.uuid4().hex[:8]}"
    job = {"kind": "lookup", "domain": "api-submit.com"}  # lookup queue: no worker here, it stays queued
    first = api.call("POST", "/v1/jobs", token, json=job, headers={"Idempotency-Key": key})
    assert first.status_code == 201, first.text
    assert first.headers["Location"] == f"/v1/jobs/{key}"
    assert first.json()["key"] == key and first.json()["status"] == "queued"
    assert not first.json()["duplicate"]
    record = api.store.jobs.get(key)
    assert record is not None and record.published_at is not None  # row written, then published
    again = api.call("POST", "/v1/jobs", token, json=job, headers={"Idempotency-Key": key})
    assert again.status_code == 200 and again.json()["duplicate"] and again.json()["key"] == key
    assert again.headers["Location"] == f"/v1/jobs/{key}"
    other = api.call(
        "POST", "/v1/jobs", token, json={**job, "availability": True}, headers={"Idempotency-Key": key}
    )
    assert other.status_code == 409
    assert other.headers["Content-Type"] == "application/problem+json"
    assert other.json()["type"] == "urn:regq:problem:idempotency-conflict"
    assert other.json()["key"] == key and key in other.json()["detail"]
    mismatch = api.call(
        "POST", "/v1/jobs", token, json={**job, "idempotency_key": "a"}, headers={"Idempotency-Key": "b"}
    )
    assert mismatch.status_code == 422
    assert mismatch.json()["errors"][0]["loc"] == ["header", "Idempotency-Key"]
    got = api.call("GET", f"/v1/jobs/{key}", token)
    assert got.status_code == 200 and got.json()["key"] == key
    assert api.call("GET", "/v1/jobs/no-such-key", token).status_code == 404


def test_bad_bodies_name_each_field(api: Api) -> None:
    token = api.token()
    bad = register("api-bad.com", years=40)
    bad["owner"]["email"] = "not-an-address"
    answer = api.call("POST", "/v1/jobs", token, json=bad)
    assert answer.status_code == 422, answer.text
    locs = {tuple(entry["loc"]) for entry in answer.json()["errors"]}
    assert ("body", "years") in locs and ("body", "owner", "email") in locs, locs
    assert all(entry["msg"] for entry in answer.json()["errors"])
    unknown = api.call("POST", "/v1/jobs", token, json={"kind": "teleport", "domain": "x.com"})
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["loc"] == ["body", "kind"]
    garbage = api.call("POST", "/v1/jobs", token, data=b"{nope", headers={"Content-Type": "application/json"})
    assert garbage.status_code == 422 and garbage.json()["errors"] == [
        {"loc": ["body"], "msg": "not valid JSON"}
    ]
    deep = b"[" * 30_000 + b"]" * 30_000  # within the size cap, deeper than the JSON parser goes
    nested = api.call("POST", "/v1/jobs", token, data=deep, headers={"Content-Type": "application/json"})
    assert nested.status_code == 422 and nested.json()["errors"][0]["msg"] == "not valid JSON"
    huge = {"kind": "lookup", "domain": "api-huge.com", "idempotency_key": "x" * 100_000}
    assert api.call("POST", "/v1/jobs", token, json=huge).status_code == 413
    chunks = iter([b'{"kind": "lookup", ', b" " * 70_000, b"}"])
    chunked = api.call("POST", "/v1/jobs", token, data=chunks, headers={"Content-Type": "application/json"})
    assert chunked.status_code == 413  # no Content-Length: counted while it streams
    assert api.store.jobs.get("register:api-bad.com") is None


def test_batch_keeps_good_lines_and_reports_bad_ones(api: Api) -> None:
    token = api.token()
    tag = uuid.uuid4().hex[:8]
    conflicting = {"kind": "lookup", "domain": "api-batch.com", "idempotency_key": f"b-{tag}-1"}
    lines = [
        json.dumps({"kind": "lookup", "domain": "api-batch.com", "idempotency_key": f"b-{tag}-1"}),
        "{not json",
        json.dumps({"kind": "lookup", "domain": "not a domain", "idempotency_key": f"b-{tag}-2"}),
        # U+2028 inside a JSON string is not a line break of NDJSON (str.splitlines() would split it)
        json.dumps(
            {"kind": "lookup", "domain": "bad\u2028name.com", "idempotency_key": f"b-{tag}-4"},
            ensure_ascii=False,
        ),
        "",
        json.dumps({"kind": "lookup", "domain": "api-batch.com", "idempotency_key": f"b-{tag}-3"}),
        json.dumps({**conflicting, "availability": True}),  # same key as line 1, other body
    ]
    answer = api.call(
        "POST",
        "/v1/jobs:batch",
        token,
        data="\n".join(lines),
        headers={"Content-Type": "application/x-ndjson"},
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["accepted"], body["refused"]) == (2, 4)
    results = {r["line"]: r for r in body["results"]}
    assert sorted(results) == [1, 2, 3, 4, 6, 7]
    assert not results[4]["ok"] and results[4]["errors"][0]["loc"] == ["body", "domain"]
    assert results[1]["ok"] and results[1]["key"] == f"b-{tag}-1" and results[1]["status"] == "queued"
    assert not results[2]["ok"] and results[2]["errors"][0]["msg"] == "not valid JSON"
    assert not results[3]["ok"] and results[3]["errors"][0]["loc"] == ["body", "domain"]
    assert results[6]["ok"] and results[6]["key"] == f"b-{tag}-3"
    assert not results[7]["ok"] and results[7]["key"] == f"b-{tag}-1"
    assert api.store.jobs.get(f"b-{tag}-1") is not None and api.store.jobs.get(f"b-{tag}-3") is not None
    assert api.store.jobs.get(f"b-{tag}-2") is None
    too_many = "\n".join(['{"kind": "lookup", "domain": "x.com"}'] * 10_001)
    ndjson = {"Content-Type": "application/x-ndjson"}
    assert api.call("POST", "/v1/jobs:batch", token, data=too_many, headers=ndjson).status_code == 413
    # a JSON array works the same; the same lines again are duplicates
    again = api.call("POST", "/v1/jobs:batch", token, json=[json.loads(lines[0])]).json()
    assert again["accepted"] == 1 and again["results"][0]["duplicate"]


def test_keyset_pagination(api: Api) -> None:
    token = api.token()
    domain = f"api-page-{uuid.uuid4().hex[:6]}.com"
    jobs = [{"kind": "lookup", "domain": domain, "idempotency_key": f"{domain}-{i}"} for i in range(5)]
    assert api.call("POST", "/v1/jobs:batch", token, json=jobs).json()["accepted"] == 5
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params = {"domain": domain, "kind": "lookup", "status": "queued", "limit": "2"}
        if cursor:
            params["cursor"] = cursor
        page = api.call("GET", "/v1/jobs", token, params=params).json()
        seen += [j["key"] for j in page["jobs"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
        assert pages < 10
    assert seen == [j["idempotency_key"] for j in jobs] and pages == 3
    assert api.call("GET", "/v1/jobs", token, params={"status": "nonsense"}).status_code == 422
    assert api.call("GET", "/v1/jobs", token, params={"cursor": "abc"}).status_code == 422


def test_rate_limit_per_token(api: Api) -> None:
    token, other = api.token("read"), api.token("read")
    codes = []
    for _ in range(API_BURST + 20):
        answer = api.call("GET", "/v1/jobs/none", token)
        codes.append(answer.status_code)
        if answer.status_code == 429:
            break
    assert codes[-1] == 429, codes
    assert int(answer.headers["Retry-After"]) >= 1
    assert len(codes) > API_BURST // 2  # the burst went through first
    assert api.call("GET", "/v1/jobs/none", other).status_code == 404  # another token has its own bucket


def test_domain_and_lookup_input(api: Api) -> None:
    token = api.token("read")
    assert api.call("GET", "/v1/domains/not..valid", token).status_code == 422
    assert api.call("GET", "/v1/domains/api-never-held.com", token).status_code == 404
    answer = api.call("GET", "/v1/lookup/not..valid", token)
    assert answer.status_code == 422 and answer.json()["errors"][0]["loc"] == ["path", "domain"]


def test_lookup_runs_through_the_fleet_and_says_partial(api: Api, stack: Stack) -> None:
    """The sandbox's RDAP answers one IP query 429: the answer is 200 with ``partial: true`` and a
    Retry-After; asked again once the block ends, the same lookup is complete."""
    assert stack.sandbox is not None
    token = api.token("read")
    stack.sandbox.set_faults(
        "rdap", [{"operation": "ip", "kind": "status", "status": 429, "retry_after": 2, "count": 1}]
    )
    try:
        first = api.call("GET", "/v1/lookup/google.com", token)
    finally:
        stack.sandbox.clear_faults("rdap")
    assert first.status_code == 200, first.text
    assert first.json()["partial"] is True and first.json()["registered"] is True
    assert int(first.headers["Retry-After"]) >= 2

    def complete() -> dict[str, Any] | None:
        answer = api.call("GET", "/v1/lookup/google.com", token)
        assert answer.status_code == 200, answer.text
        return answer.json() if not answer.json()["partial"] else None

    data = wait_for(complete, 20, "a complete lookup of google.com", interval=0.5)
    assert isinstance(data, dict) and data["registration"]["registrar"] and data["nameservers"]
    assert "Retry-After" not in api.call("GET", "/v1/lookup/google.com", token).headers


def test_api_token_commands_show_the_secret_once(api: Api) -> None:
    regq = str(Path(sys.executable).with_name("regq"))
    name = f"cli-{uuid.uuid4().hex[:8]}"
    created = subprocess.run(
        [regq, "api-token", "create", name, "--scope", "read", "--owner", "cli-tenant"],
        env=api.env,
        capture_output=True,
        text=True,
    )
    assert created.returncode == 0, created.stderr
    secret = created.stdout.strip()
    assert secret.startswith("regq_") and len(secret) > 40
    assert api.call("GET", "/v1/jobs", secret).status_code == 200
    assert api.call("POST", "/v1/jobs", secret, json={"kind": "lookup", "domain": "x.com"}).status_code == 403
    listed = subprocess.run(
        [regq, "api-token", "list", "--json"], env=api.env, capture_output=True, text=True
    )
    assert name in listed.stdout and secret not in listed.stdout
    row = next(r for r in json.loads(listed.stdout) if r["name"] == name)
    assert row["scopes"] == ["read"] and row["revoked_at"] is None and row["owner"] == "cli-tenant"
    private = subprocess.run(
        [regq, "api-token", "create", f"{name}-cb", "--callback-url", "https://127.0.0.1/hook"],
        env={**api.env, "REGQ_WEBHOOK_ALLOW_PRIVATE": "false"},
        capture_output=True,
        text=True,
    )
    assert private.returncode == 1 and "loopback" in private.stderr
    again = subprocess.run([regq, "api-token", "create", name], env=api.env, capture_output=True, text=True)
    assert again.returncode == 1
    revoked = subprocess.run([regq, "api-token", "revoke", name], env=api.env, capture_output=True, text=True)
    assert revoked.returncode == 0
    assert api.call("GET", "/v1/jobs", secret).status_code == 401


@pytest.mark.skipif(shutil.which("curl") is None, reason="no curl on this machine")
def test_a_curl_client_submits_and_polls_to_completion(api: Api, tmp_path: Path) -> None:
    """What a PHP panel does with nothing but HTTP: POST the order, then GET its Location until final;
    a real worker registers the domain at the sandbox's Gandi in between."""
    token = api.token()
    domain = f"api-curl-{uuid.uuid4().hex[:6]}.com"
    body = tmp_path / "job.json"
    body.write_text(json.dumps(register(domain, years=2)))
    curl = ["curl", "-sS", "-H", f"Authorization: Bearer {token}"]
    posted = subprocess.run(
        [*curl, "-H", "Content-Type: application/json", "-H", f"Idempotency-Key: whmcs-{domain}"]
        + ["-d", f"@{body}", "-D", "-", "-o", str(tmp_path / "out.json"), api.url + "/v1/jobs"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert posted.returncode == 0, posted.stderr
    assert posted.stdout.startswith("HTTP/1.1 201"), posted.stdout
    location = next(
        line.split(":", 1)[1].strip()
        for line in posted.stdout.splitlines()
        if line.lower().startswith("location:")
    )
    assert location == f"/v1/jobs/whmcs-{domain}"

    def final() -> dict | None:
        got = subprocess.run([*curl, api.url + location], capture_output=True, text=True, timeout=30)
        outcome = json.loads(got.stdout)
        return outcome if JobStatus(outcome["status"]).final else None

    outcome = wait_for(final, 45, f"{domain} to be registered", interval=0.3)
    assert isinstance(outcome, dict) and outcome["status"] == "succeeded", outcome
    held = subprocess.run(
        [*curl, f"{api.url}/v1/domains/{domain}"], capture_output=True, text=True, timeout=30
    )
    inventory = json.loads(held.stdout)
    assert inventory["domain"] == domain and inventory["expires_at"] == outcome["result"]["expires_at"]


def test_token_store_keeps_only_a_hash(store: Store) -> None:
    """On SQLite and Postgres: the secret is never stored, a revoked token stops verifying, names and
    scopes are checked, a name is never reused."""
    import sqlalchemy as sa

    from shared.store.api_tokens import TokenNameTaken, hash_secret

    token, secret = store.api_tokens.create("billing", ["submit"])
    assert token.scopes == ("submit",) and token.active
    with store.db.engine.connect() as conn:
        dumped = str(conn.execute(sa.text("select * from api_tokens")).all())
    assert secret not in dumped and hash_secret(secret) in dumped
    assert store.api_tokens.verify(secret) == token
    assert store.api_tokens.verify(secret + "x") is None and store.api_tokens.verify("") is None
    with pytest.raises(TokenNameTaken):
        store.api_tokens.create("billing")
    for bad_name in ("", "Has Space", "a" * 65, "x@y"):
        with pytest.raises(ValueError):
            store.api_tokens.create(bad_name)
    with pytest.raises(ValueError):
        store.api_tokens.create("other", ["superuser"])
    assert token.owner == "billing"  # owner defaults to the name; admin is never a default scope
    assert "admin" not in store.api_tokens.create("panel")[0].scopes
    shared_owner, _ = store.api_tokens.create("panel-2", ["read", "admin"], owner="panel")
    assert (shared_owner.owner, shared_owner.admin) == ("panel", True)
    with pytest.raises(ValueError):
        store.api_tokens.create("x-owner", owner="Not An Owner")
    assert store.api_tokens.revoke("billing") and not store.api_tokens.revoke("billing")
    assert store.api_tokens.verify(secret) is None
    assert [t.name for t in store.api_tokens.all() if not t.active] == ["billing"]
    assert store.api_tokens.verify(secret + "\x00") is None  # hashed, never compared in SQL
