"""Every API error is an RFC 9457 problem (``application/problem+json``); Content-Type is enforced (415); a
batch whose every line is refused is 422; one timestamp format; a retried lookup POST is the same job;
a non-ASCII idempotency key is refused alike in the header and the body.

Against a real ``regq api`` process (Postgres store, Redis broker, no worker: jobs stay queued), except
the 500 and 503 of a runtime that fails, served in-thread by uvicorn with a runtime getter that raises."""

from __future__ import annotations

import json
import os
import re
import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from http import HTTPStatus
from pathlib import Path
from typing import Any

import pytest
import requests
import uvicorn

from shared.errors import BackendUnavailable
from shared.jobs_base import KEY_CHARACTERS
from shared.store import Store
from shared.store.webhooks import event_payload
from shared.timestamps import rfc3339
from testkit.api import Api, running_api
from testkit.factories import register
from testkit.stacks import delete_prefixed, wait_for
from workers.api.app import create_app
from workers.embedded.redis_server import free_port

PROBLEM = "application/problem+json"
#: RFC 3339, UTC, "Z", exactly three fractional digits (shared/timestamps.py).
TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
BURST = 15


@pytest.fixture(scope="module")
def api(redis_url: str, postgres_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    store = Store(postgres_url)
    store.upgrade()
    store.dispose()
    prefix = f"regq-test-{uuid.uuid4().hex[:10]}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGQ_")}
    env.update(
        REGQ_REDIS_URL=redis_url,
        REGQ_DATABASE_URL=postgres_url,
        REGQ_REDIS_PREFIX=prefix,
        REGQ_BROKER_KEY_PREFIX=f"{prefix}:",
        REGQ_API_RATE="1/s",  # a token's burst is spent by a loop, refilled slowly: the 429 is reachable
        REGQ_API_BURST=str(BURST),
        REGQ_API_AUTH_FAILURE_BURST="1000",  # the 401s here must not block the address for the others
    )
    try:
        with running_api(env, Path(tmp_path_factory.mktemp("problems-api"))) as running:
            yield running
    finally:
        delete_prefixed(redis_url, prefix)


def problem_of(answer: requests.Response, status: int, kind: str = "about:blank") -> dict[str, Any]:
    """The answer's problem, checked: status, media type, the members RFC 9457 section 3.1 names."""
    assert answer.status_code == status, answer.text
    assert answer.headers["Content-Type"] == PROBLEM, answer.headers
    body: dict[str, Any] = answer.json()
    assert body["type"] == kind and body["status"] == status, body
    assert isinstance(body["title"], str) and body["title"], body
    assert "detail" not in body or isinstance(body["detail"], str), body
    if kind == "about:blank":  # RFC 9457 section 4.2.1: the title is the status's phrase
        assert body["title"] == HTTPStatus(status).phrase, body
    return body


def lookup(domain: str, **extra: Any) -> dict[str, Any]:
    return {"kind": "lookup", "domain": domain, **extra}


def test_auth_and_routing_errors_are_problems(api: Api) -> None:
    token, reader = api.token(), api.token("read")
    missing = problem_of(api.call("GET", "/v1/jobs", None), 401)
    assert missing["detail"] == "missing or invalid API token" and missing["title"] == "Unauthorized"
    assert api.call("GET", "/v1/jobs", None).headers["WWW-Authenticate"] == "Bearer"
    bad = problem_of(api.call("GET", "/v1/jobs", "regq_not-a-token"), 401)
    assert "regq_not-a-token" not in json.dumps(bad)
    scope = problem_of(api.call("POST", "/v1/jobs", reader, json=lookup("p-scope.com")), 403)
    assert "submit" in scope["detail"]
    unknown_job = problem_of(api.call("GET", "/v1/jobs/no-such-job", token), 404)
    assert unknown_job["title"] == "Not Found" and "no-such-job" in unknown_job["detail"]
    route = problem_of(api.call("GET", "/v1/nothing-here", token), 404)
    assert "openapi.json" in route["detail"]
    method = api.call("DELETE", "/v1/jobs", token)
    assert problem_of(method, 405)["title"] == "Method Not Allowed" and "POST" in method.headers["Allow"]
    in_url = problem_of(
        requests.get(f"{api.url}/v1/jobs?access_token={token}", timeout=5),
        400,
        "urn:regq:problem:token-in-url",
    )
    assert "Authorization" in in_url["detail"] and token not in json.dumps(in_url)


def test_registrar_hook_refusals_are_problems_keeping_the_receipt(api: Api) -> None:
    unknown = requests.post(f"{api.url}/v1/hooks/godaddy", data=b"{}", timeout=5)  # no label: not checked
    body = problem_of(unknown, 404, "urn:regq:problem:hook-refused")
    assert body["outcome"] == "unknown_registrar" and body["receipt"] is None and "gandi" in body["detail"]
    off = requests.post(f"{api.url}/v1/hooks/gandi", json={"id": "evt_1"}, timeout=5)  # no secret set here
    body = problem_of(off, 503, "urn:regq:problem:hook-refused")
    assert "REGQ_GANDI_WEBHOOK_SECRET" in body["detail"] and isinstance(body["receipt"], int)


def test_validation_errors_name_each_field(api: Api) -> None:
    token = api.token()
    bad = register("p-bad.com", years=40)
    bad["owner"]["email"] = "not-an-address"
    body = problem_of(api.call("POST", "/v1/jobs", token, json=bad), 422, "urn:regq:problem:validation")
    assert {tuple(e["loc"]) for e in body["errors"]} >= {("body", "years"), ("body", "owner", "email")}
    assert all(set(e) == {"loc", "msg"} and e["msg"] for e in body["errors"])
    # FastAPI's own checks (query) and ours (params.Invalid) give the same shape
    limit = problem_of(api.call("GET", "/v1/jobs?limit=0", token), 422, "urn:regq:problem:validation")
    assert limit["errors"][0]["loc"] == ["query", "limit"] and "input" not in limit["errors"][0]
    cursor = problem_of(
        api.call("GET", "/v1/jobs?cursor=9999999999", token), 422, "urn:regq:problem:validation"
    )
    assert cursor["errors"] == [{"loc": ["query", "cursor"], "msg": cursor["errors"][0]["msg"]}]
    assert cursor["detail"].startswith("query.cursor: ")


def test_conflict_and_too_large(api: Api) -> None:
    token = api.token()
    key = f"p-conflict-{uuid.uuid4().hex[:8]}"
    assert (
        api.call("POST", "/v1/jobs", token, json=lookup("p-conflict.com", idempotency_key=key)).status_code
        == 201
    )
    other = api.call(
        "POST", "/v1/jobs", token, json=lookup("p-conflict.com", idempotency_key=key, availability=True)
    )
    body = problem_of(other, 409, "urn:regq:problem:idempotency-conflict")
    assert body["key"] == key and key in body["detail"] and "errors" not in body
    huge = lookup("p-huge.com", idempotency_key="x" * 100_000)
    assert "65536" in problem_of(api.call("POST", "/v1/jobs", token, json=huge), 413)["detail"]


def test_rate_limited_keeps_retry_after(api: Api) -> None:
    token = api.token("read")
    answers = []
    for _ in range(BURST * 3):
        answers.append(api.call("GET", "/v1/jobs/none", token))
        if answers[-1].status_code == 429:
            break
    body = problem_of(answers[-1], 429, "urn:regq:problem:rate-limited")
    assert int(answers[-1].headers["Retry-After"]) >= 1 and "retry in" in body["detail"]


def test_content_type_is_enforced(api: Api) -> None:
    token = api.token()
    job = lookup(f"p-media-{uuid.uuid4().hex[:6]}.com")
    form = problem_of(api.call("POST", "/v1/jobs", token, data=job), 415)  # what curl -d sends
    assert "application/x-www-form-urlencoded" in form["detail"] and "application/json" in form["detail"]
    assert api.call("POST", "/v1/jobs", token, data=job).headers["Accept-Post"] == "application/json"
    bare = problem_of(api.call("POST", "/v1/jobs", token, data=json.dumps(job)), 415)  # no Content-Type
    assert "missing" in bare["detail"]
    latin = {"Content-Type": "application/json; charset=latin-1"}
    assert (
        "UTF-8"
        in problem_of(api.call("POST", "/v1/jobs", token, data=json.dumps(job), headers=latin), 415)["detail"]
    )
    text = {"Content-Type": "text/plain"}
    assert api.call("POST", "/v1/jobs:batch", token, data=json.dumps(job), headers=text).status_code == 415
    domain = api.call("POST", "/v1/domains/p-media.com/auth-code", token, data={"reset": "true"})
    problem_of(domain, 415)
    # accepted: application/json with charset=utf-8 (any case), a new job (nothing refused was kept)
    utf8 = {"Content-Type": "Application/JSON; charset=UTF-8"}
    assert api.call("POST", "/v1/jobs", token, data=json.dumps(job), headers=utf8).status_code == 201
    for label in ("application/x-ndjson", "application/ndjson", "application/jsonl"):
        line = json.dumps(lookup(f"p-{label.split('/')[1]}-{uuid.uuid4().hex[:6]}.com"))
        answer = api.call("POST", "/v1/jobs:batch", token, data=line + "\n", headers={"Content-Type": label})
        assert answer.status_code == 200 and answer.json()["accepted"] == 1, (label, answer.text)
    # a POST without a body is not checked (the auth-code read's body is optional): 404, not 415
    assert api.call("POST", "/v1/domains/p-media-none.com/auth-code", token).status_code == 404


def test_a_batch_whose_every_line_is_refused_is_422(api: Api) -> None:
    token = api.token()
    ndjson = {"Content-Type": "application/x-ndjson"}
    lines = [json.dumps(lookup("not a domain")), "{nope", json.dumps({"kind": "teleport", "domain": "x.com"})]
    answer = api.call("POST", "/v1/jobs:batch", token, data="\n".join(lines), headers=ndjson)
    body = problem_of(answer, 422, "urn:regq:problem:batch-refused")
    assert (body["accepted"], body["refused"]) == (0, 3)
    assert [r["line"] for r in body["results"]] == [1, 2, 3] and not any(r["ok"] for r in body["results"])
    locs = [e["loc"] for e in body["errors"]]
    assert locs == [["body", 1, "domain"], ["body", 2], ["body", 3, "kind"]], locs
    empty = problem_of(
        api.call("POST", "/v1/jobs:batch", token, json=[]), 422, "urn:regq:problem:batch-refused"
    )
    assert empty["errors"][0]["loc"] == ["body"]
    # some accepted: 200 with the refused lines in results, as before
    mixed = [lookup(f"p-mixed-{uuid.uuid4().hex[:6]}.com"), lookup("not a domain")]
    partial = api.call("POST", "/v1/jobs:batch", token, json=mixed)
    assert partial.status_code == 200 and partial.headers["Content-Type"] == "application/json"
    assert (partial.json()["accepted"], partial.json()["refused"]) == (1, 1)


def test_one_timestamp_format_in_jobs_domains_and_webhooks(api: Api) -> None:
    token = api.token()
    domain = f"p-time-{uuid.uuid4().hex[:6]}.com"
    created = api.call("POST", "/v1/jobs", token, json=register(domain))
    assert created.status_code == 201, created.text
    for stamp in (created.json()["created_at"], created.json()["updated_at"]):
        assert TIMESTAMP.fullmatch(stamp), stamp
    listed = api.call("GET", "/v1/jobs", token, params={"domain": domain}).json()["jobs"]
    assert (
        TIMESTAMP.fullmatch(listed[0]["created_at"])
        and listed[0]["created_at"] == created.json()["created_at"]
    )
    api.store.inventory.upsert(domain, "gandi", date(2028, 3, 1))
    held = api.call("GET", f"/v1/domains/{domain}", token).json()
    assert TIMESTAMP.fullmatch(held["updated_at"]) and held["expires_at"] == "2028-03-01", held  # a day
    moment = datetime(2026, 12, 8, 2, 13, 4, 123456, tzinfo=timezone(timedelta(hours=2)))
    payload = event_payload(
        event_id="evt_1",
        event="job.succeeded",
        key="k",
        kind="register",
        domain=domain,
        status="succeeded",
        result=None,
        error_code=None,
        error_message=None,
        occurred_at=moment,
    )
    assert payload["occurred_at"] == "2026-12-08T00:13:04.123Z"  # UTC, milliseconds, Z
    assert rfc3339(datetime(2026, 1, 2, 3, 4, 5)) == "2026-01-02T03:04:05.000Z"  # naive: UTC, fixed width
    assert datetime.fromisoformat(rfc3339(datetime.now(UTC))).tzinfo is not None


def test_a_retried_lookup_post_is_the_same_job(api: Api) -> None:
    token = api.token()
    job = lookup(f"p-retry-{uuid.uuid4().hex[:6]}.com")
    first = api.call("POST", "/v1/jobs", token, json=job)
    again = api.call("POST", "/v1/jobs", token, json=job)
    assert (first.status_code, again.status_code) == (201, 200), (first.text, again.text)
    assert again.json()["duplicate"] and again.json()["key"] == first.json()["key"]
    assert again.headers["Location"] == first.headers["Location"]
    other = api.call("POST", "/v1/jobs", token, json={**job, "availability": True})
    assert other.status_code == 201 and other.json()["key"] != first.json()["key"]


def test_a_non_ascii_key_is_refused_alike_in_header_and_body(api: Api) -> None:
    token = api.token()
    job = lookup(f"p-key-{uuid.uuid4().hex[:6]}.com")
    key = f"comandă-{uuid.uuid4().hex[:6]}"
    # on the wire a header is bytes: the UTF-8 of the key, as a client that sends it as it is does
    header = api.call("POST", "/v1/jobs", token, json=job, headers={"Idempotency-Key": key.encode()})
    in_header = problem_of(header, 422, "urn:regq:problem:validation")
    in_body = problem_of(
        api.call("POST", "/v1/jobs", token, json={**job, "idempotency_key": key}),
        422,
        "urn:regq:problem:validation",
    )
    assert in_header["errors"] == [{"loc": ["header", "Idempotency-Key"], "msg": KEY_CHARACTERS}]
    assert in_body["errors"] == [{"loc": ["body", "idempotency_key"], "msg": KEY_CHARACTERS}]
    assert api.store.jobs.get(key) is None
    # an ASCII key (percent-encoded or not) is the same key in either place: taken as it is, not decoded
    encoded = f"comand%C4%83-{uuid.uuid4().hex[:6]}"
    by_header = api.call("POST", "/v1/jobs", token, json=job, headers={"Idempotency-Key": encoded})
    by_body = api.call("POST", "/v1/jobs", token, json={**job, "idempotency_key": encoded})
    assert (by_header.status_code, by_body.status_code) == (201, 200), (by_header.text, by_body.text)
    assert by_body.json()["key"] == encoded and by_body.json()["duplicate"]


@pytest.fixture
def failing_api() -> Iterator[Callable[[Exception], str]]:
    """An in-thread uvicorn serving ``create_app`` whose runtime getter raises what the test sets."""
    raised: list[Exception] = [RuntimeError("unset")]

    def runtime() -> Any:
        raise raised[0]

    server = uvicorn.Server(uvicorn.Config(create_app(runtime), port=free_port(), log_level="critical"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for(lambda: server.started, 10, "the in-thread API to start")

    def failing_with(exc: Exception) -> str:
        raised[0] = exc
        return f"http://127.0.0.1:{server.config.port}"

    yield failing_with
    server.should_exit = True
    thread.join(10)


def test_server_failures_are_problems_without_their_text(failing_api: Callable[[Exception], str]) -> None:
    url = failing_api(RuntimeError("connection to postgres://admin:hunter2@db failed"))
    crash = requests.get(url + "/v1/jobs", headers={"Authorization": "Bearer regq_x"}, timeout=10)
    body = problem_of(crash, 500)
    assert body["title"] == "Internal Server Error" and "hunter2" not in crash.text
    assert "Traceback" not in crash.text and "RuntimeError" not in crash.text
    url = failing_api(BackendUnavailable("redis down"))
    down = requests.get(url + "/v1/jobs", headers={"Authorization": "Bearer regq_x"}, timeout=10)
    problem_of(down, 503, "urn:regq:problem:unavailable")
    assert down.headers["Retry-After"] == "5" and "redis" not in down.text
