"""Issue 18 against a real ``regq api`` (uvicorn) process, its Postgres store and Redis: hostile parameters
never reach SQL (no 500, nothing written), a token in the URL is refused and never logged, reads are
scoped to the token's owner, private callbacks are refused at submit, registrar hooks and failed
authentications are rate-limited per source address. One API process for the module; the tests that
exhaust 127.0.0.1's buckets come last."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from urllib.parse import quote

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.services import Services
from shared.store import Store
from testkit.api import Api, running_api
from testkit.factories import register
from testkit.stacks import running_stack
from workers.embedded.stack import Stack

AUTH_BURST, HOOK_BURST = 5, 5
ENV = {
    "REGQ_API_RATE": "1000/s",  # the per-token limiter is test_api.py's business
    "REGQ_API_BURST": "1000",
    "REGQ_API_AUTH_FAILURE_RATE": "1/m",
    "REGQ_API_AUTH_FAILURE_BURST": str(AUTH_BURST),
    "REGQ_HOOK_RATE": "1/m",
    "REGQ_HOOK_BURST": str(HOOK_BURST),
    "REGQ_GANDI_WEBHOOK_SECRET": uuid.uuid4().hex,
    "REGQ_WEBHOOK_ALLOW_PRIVATE": "false",
}
#: What str.isdigit() takes and int() or Postgres' integer do not, NUL, and their neighbours.
HOSTILE = ["2147483648", "9" * 26, "²", "١٢٣", "-1", "+1", " 1", "0x10", "\x00", "a\x00b", "\x00" * 3, "%00"]


@pytest.fixture(scope="module")
def stack(redis_url: str, postgres_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    store = Store(postgres_url)
    store.upgrade()
    store.dispose()
    with running_stack(redis_url, postgres_url, Path(tmp_path_factory.mktemp("sec-stack")), groups=()) as s:
        yield s


@pytest.fixture(scope="module")
def api(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    with running_api(stack.env, Path(tmp_path_factory.mktemp("sec-api")), ENV) as running:
        yield running


def token_of(api: Api, scopes: str = "submit,read", owner: str | None = None) -> str:
    name = f"t-{uuid.uuid4().hex[:10]}"
    return api.store.api_tokens.create(name, scopes.split(","), owner=owner)[1]


def test_hostile_parameters_are_422_before_sql(api: Api) -> None:
    token = token_of(api)
    for value in HOSTILE:
        answer = api.call("GET", "/v1/jobs?cursor=" + quote(value, safe=""), token)
        assert answer.status_code == 422, (value, answer.text)
        assert answer.json()["errors"][0]["loc"] == ["query", "cursor"], answer.text
    assert api.call("GET", "/v1/jobs?cursor=2147483647", token).json()["jobs"] == []  # the largest is fine
    assert api.call("GET", "/v1/jobs/a%0Ab", token).status_code == 404  # no route matches a line break
    for path in ("%00", "a%00b", "%00%00", "a%01b", "x" * 201):
        answer = api.call("GET", f"/v1/jobs/{path}", token)
        assert answer.status_code == 422, (path, answer.text)
        assert answer.json()["errors"][0]["loc"] == ["path", "key"]
    for path in ("%00", "a%00b.com", "%00example.com", "a%01b.com"):
        assert api.call("GET", f"/v1/domains/{path}", token).status_code == 422, path
        assert api.call("GET", f"/v1/jobs?domain={path}", token).status_code == 422, path
    for limit in ("²", "9" * 26, "0", "-1"):
        assert api.call("GET", f"/v1/jobs?limit={quote(limit)}", token).status_code == 422, limit


def test_a_hook_to_an_unknown_or_nul_registrar_writes_nothing(api: Api) -> None:
    before = api.store.hook_receipts.last_id()
    answer = requests.post(api.url + "/v1/hooks/%00gandi", data=b"{}", timeout=5)
    assert answer.status_code == 404 and answer.json()["outcome"] == "unknown_registrar"
    assert "\x00" not in answer.text
    assert api.store.hook_receipts.last_id() == before


def test_a_token_in_the_query_string_is_refused_and_never_logged(api: Api) -> None:
    token = token_of(api)
    for query in (f"access_token={token}", f"x={token}", "api_key=abc", "token=x", f"q={quote(token)}"):
        answer = requests.get(f"{api.url}/v1/jobs?{query}", timeout=5)
        assert answer.status_code == 400, (query, answer.text)
        assert "Authorization" in answer.json()["detail"] and token not in answer.text
    assert requests.get(f"{api.url}/v1/health?access_token={token}", timeout=5).status_code == 400
    # the access log saw those requests, redacted
    log = api.log.read_text()
    assert "GET /v1/jobs?access_token=[REDACTED]" in log, log[-2000:]
    assert token not in log and token[5:20] not in log


def test_reads_see_only_the_owners_jobs_and_domains(api: Api) -> None:
    tag = uuid.uuid4().hex[:8]
    a1, a2 = token_of(api, owner=f"acme-{tag}"), token_of(api, "read", owner=f"acme-{tag}")
    b = token_of(api, owner=f"bolt-{tag}")
    admin = token_of(api, "read,admin")
    domain = f"owned-{tag}.com"
    key = f"acme-order-{tag}"
    job = {"kind": "lookup", "domain": domain, "idempotency_key": key}
    assert api.call("POST", "/v1/jobs", a1, json=job).status_code == 201
    api.store.inventory.upsert(domain, "gandi", date(2028, 1, 1))
    # a lookup names any domain (public data): it does not make the inventory's record one's own
    assert api.call("GET", f"/v1/domains/{domain}", a2).status_code == 404
    reg_key = f"acme-register-{tag}"
    assert api.call("POST", "/v1/jobs", a1, json=register(domain, idempotency_key=reg_key)).status_code == 201

    assert api.call("GET", f"/v1/jobs/{key}", a2).json()["key"] == key  # another token, same owner
    assert api.call("GET", f"/v1/jobs/{key}", admin).status_code == 200
    hidden = api.call("GET", f"/v1/jobs/{key}", b)
    missing = api.call("GET", f"/v1/jobs/nothing-{tag}", b)
    assert hidden.status_code == missing.status_code == 404  # the same as a missing job
    assert hidden.json()["detail"] == f"no job with key {key!r}"
    listed = {j["key"] for j in api.call("GET", "/v1/jobs", b, params={"limit": 1000}).json()["jobs"]}
    assert key not in listed
    mine = api.call("GET", "/v1/jobs", a2, params={"domain": domain}).json()["jobs"]
    assert [j["key"] for j in mine] == [key, reg_key]
    assert api.call("GET", f"/v1/domains/{domain}", a2).json()["domain"] == domain
    assert api.call("GET", f"/v1/domains/{domain}", admin).status_code == 200
    assert api.call("GET", f"/v1/domains/{domain}", b).status_code == 404

    # B re-using A's key: 409, the same answer whether B's body matches or not, none of A's job in it
    same = api.call("POST", "/v1/jobs", b, json=job)
    other = api.call("POST", "/v1/jobs", b, json={**job, "availability": True})
    assert same.status_code == other.status_code == 409
    assert (
        same.json()
        == other.json()
        == {
            "type": "urn:regq:problem:idempotency-conflict",
            "title": "The idempotency key is already in use",
            "status": 409,
            "detail": f"idempotency key {key!r} is already in use: choose another key",
            "key": key,
        }
    )
    batch = api.call("POST", "/v1/jobs:batch", b, json=[job]).json()
    assert batch["accepted"] == 0 and "status" not in batch["results"][0]
    assert api.call("POST", "/v1/jobs", a1, json=job).json()["duplicate"] is True  # its own: as before


def test_a_private_callback_is_refused_at_submit(api: Api) -> None:
    token = token_of(api)
    for url in ("https://127.0.0.1/hook", "https://10.1.2.3/x", "https://[::1]/x", "https://localhost/x"):
        job = {"kind": "lookup", "domain": "cb-private.com", "callback_url": url, "idempotency_key": url}
        answer = api.call("POST", "/v1/jobs", token, json=job)
        assert answer.status_code == 422, (url, answer.text)
        assert answer.json()["errors"][0]["loc"] == ["body", "callback_url"]
        assert api.store.jobs.get(url) is None
    plain = {"kind": "lookup", "domain": "cb-private.com", "callback_url": "http://example.com/x"}
    assert api.call("POST", "/v1/jobs", token, json=plain).status_code == 422
    line = {"kind": "lookup", "domain": "cb-private.com", "callback_url": "https://169.254.169.254/"}
    result = api.call("POST", "/v1/jobs:batch", token, json=[line]).json()["results"][0]
    assert not result["ok"] and result["errors"][0]["loc"] == ["body", "callback_url"]


_TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=24)
_VALUE = st.one_of(
    st.sampled_from(HOSTILE),
    _TEXT,
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.text(st.sampled_from("0123456789²³¹١٢٣٤٥০১২߀๑"), min_size=1, max_size=12),
)
_TARGET = st.sampled_from(
    [
        ("path", "/v1/jobs/{}"),
        ("path", "/v1/domains/{}"),
        ("query", "cursor"),
        ("query", "limit"),
        ("query", "domain"),
        ("query", "status"),
        ("query", "kind"),
        ("header", "Idempotency-Key"),
        ("header", "X-Anything"),
    ]
)


def test_fuzzed_paths_queries_and_headers_never_get_a_500(api: Api) -> None:
    """Bounded hypothesis run over every value a client controls (bar the body: test_api_schema.py and
    test_bad_input_payloads.py own those), with a valid token: each answer is below 500."""
    token = token_of(api)
    seen: set[int] = set()

    @given(target=_TARGET, value=_VALUE)
    @settings(
        max_examples=150,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def probe(target: tuple[str, str], value: str) -> None:
        where, name = target
        headers = {}
        if where == "path":
            answer = api.call("GET", name.format(quote(value, safe="")), token)
        elif where == "query":
            answer = api.call("GET", f"/v1/jobs?{name}={quote(value, safe='')}", token)
        else:
            encoded = value.encode("utf-8", "replace").decode("latin-1")  # bytes on the wire, as sent
            headers[name] = "".join(c for c in encoded if c not in "\r\n\x00").strip() or "x"
            job = {"kind": "lookup", "domain": "fuzz-header.com"}
            answer = api.call("POST", "/v1/jobs", token, headers=headers, json=job)
        seen.add(answer.status_code)
        assert answer.status_code < 500, (target, value, answer.status_code, answer.text[:300])

    probe()
    assert 422 in seen and (200 in seen or 201 in seen or 404 in seen), seen


def test_hooks_are_rate_limited_per_address_before_anything_is_written(api: Api) -> None:
    codes = []
    for _ in range(HOOK_BURST + 3):
        before = api.store.hook_receipts.last_id()
        answer = requests.post(api.url + "/v1/hooks/gandi", data=b"{}", timeout=5)
        codes.append(answer.status_code)
        if answer.status_code == 429:
            assert api.store.hook_receipts.last_id() == before  # refused: no receipt
            assert int(answer.headers["Retry-After"]) >= 1
            break
        assert api.store.hook_receipts.last_id() > before  # a bad signature is recorded
    assert codes[-1] == 429 and set(codes[:-1]) == {401}, codes


def test_failed_authentications_are_counted_logged_and_throttled(api: Api, stack: Stack) -> None:
    good = token_of(api)
    wrong = "regq_" + uuid.uuid4().hex * 2
    codes = []
    for _ in range(AUTH_BURST + 3):
        codes.append(api.call("GET", "/v1/jobs", wrong).status_code)
        if codes[-1] == 429:
            break
    assert codes[-1] == 429 and set(codes[:-1]) == {401} and len(codes) == AUTH_BURST + 1, codes
    blocked = api.call("GET", "/v1/jobs", good)  # the address is blocked: 429 whatever the token
    assert blocked.status_code == 429 and int(blocked.headers["Retry-After"]) >= 1
    assert api.call("GET", "/v1/jobs", None).status_code == 401  # nothing presented, nothing counted
    log = api.log.read_text()
    assert "API authentication failed from 127.0.0.1: unknown, revoked or expired token" in log
    assert wrong not in log and good not in log
    services = Services(stack.settings())
    try:
        counted = services.limiter.counters()["api-auth:127.0.0.1"]
    finally:
        services.close()
    assert counted.granted == AUTH_BURST and counted.denied >= 1  # what the exporter shows
