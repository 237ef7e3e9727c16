"""Issue 21: ``/openapi.json`` is a contract an integrator can generate a client from, and ``/docs`` works
offline.

- The document: valid OpenAPI (openapi-spec-validator); every operation has an ``operationId``, a schema
  for each 2xx, each error as a problem (``application/problem+json``), and, where a token is needed,
  the bearer scheme with its 401/403/429 (unit: the document is built in process).
- Real answers: each operation is called against a real ``regq api`` (a Celery worker and the sandbox's
  Gandi behind it) for the statuses random requests rarely reach (201, 200 duplicate, 409, 413, 415, 403,
  400, 429, all-refused batch ...), and each answer must be one the document declares: its status, its
  media type, its schema (schemathesis' response validation). tests/test_api_schema.py does the same
  for generated requests.
- A client generated from the served document by openapi-python-client (offline: it only reads the file)
  submits a register job, submits it again, polls it to a final state, submits a batch, pages the job
  list, reads the domain, and gets problems back for a bad body, a bad cursor and a wrong token.
- ``/docs`` and ``/redoc`` name no asset outside our origin, and every asset they name answers 200.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from openapi_spec_validator import validate

from shared.jobs import FINAL_STATUSES
from shared.store import Store
from testkit.api import Api, running_api
from testkit.factories import register
from testkit.stacks import running_stack, wait_for
from workers.api.app import create_app
from workers.api.media import BATCH
from workers.api.problems import MEDIA_TYPE
from workers.embedded.stack import Stack, WorkerGroup

GROUPS = (WorkerGroup("gandi", ("registrar.gandi",), 1),)
ENV = {
    "REGQ_API_RATE": "1000/s",  # 429 is tested on an API of its own (test_a_rate_limited_answer...)
    "REGQ_API_BURST": "1000",
    "REGQ_GANDI_WEBHOOK_SECRET": uuid.uuid4().hex,  # set: a bad signature is a 401, not a 503
}
#: Operations that take no API token: everything else declares the bearer scheme.
OPEN = {("get", "/v1/health"), ("post", "/v1/hooks/{registrar}")}
PROBLEM_MEMBERS = {"type", "title", "status", "detail", "errors", "key"}


def local_document() -> dict[str, Any]:
    return create_app(lambda: None).openapi()  # built from the routes: no runtime needed


def operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            yield method, path, operation


def test_the_document_is_valid_openapi_with_the_bearer_scheme() -> None:
    document = local_document()
    validate(document)  # raises OpenAPIValidationError naming the first violation
    (name, scheme), *others = document["components"]["securitySchemes"].items()
    assert (name, scheme["type"], scheme["scheme"], others) == ("bearerAuth", "http", "bearer", [])
    schemas = document["components"]["schemas"]
    assert "HTTPValidationError" not in schemas and "ValidationError" not in schemas  # never our shape


def test_every_operation_declares_its_answers() -> None:
    document = local_document()
    schemas = document["components"]["schemas"]
    ids = [operation["operationId"] for _m, _p, operation in operations(document)]
    assert len(ids) == len(set(ids)) >= 9, ids
    for method, path, operation in operations(document):
        where = f"{method.upper()} {path}"
        responses = operation["responses"]
        for status, response in responses.items():
            content = response.get("content", {})
            if status.startswith("2"):
                assert list(content) == ["application/json"], (where, status)
                assert content["application/json"]["schema"], (where, status)
                continue
            assert list(content) == [MEDIA_TYPE], (where, status, list(content))
            name = content[MEDIA_TYPE]["schema"]["$ref"].rsplit("/", 1)[1]
            assert PROBLEM_MEMBERS <= set(schemas[name]["properties"]), (where, status, name)
            assert set(schemas[name]["required"]) == {"title", "status"}, (where, status, name)
        assert "400" in responses, where  # a token in the URL is refused on any path
        if (method, path) in OPEN:
            assert "security" not in operation, where
            continue
        assert operation["security"] == [{"bearerAuth": []}], where
        assert {"401", "403", "422", "429", "503"} <= set(responses), (where, sorted(responses))
        assert "WWW-Authenticate" in responses["401"]["headers"], where
        assert "Retry-After" in responses["429"]["headers"] and "Retry-After" in responses["503"]["headers"]
    paths = document["paths"]
    expected = {
        ("post", "/v1/jobs"): {"200", "201", "409", "413", "415"},
        ("post", "/v1/jobs:batch"): {"200", "413", "415"},
        ("get", "/v1/jobs"): {"200"},
        ("get", "/v1/jobs/{key}"): {"200", "404"},
        ("get", "/v1/domains/{domain}"): {"200", "404"},
        ("post", "/v1/domains/{domain}/auth-code"): {"200", "404", "409", "415", "502"},
        ("get", "/v1/lookup/{domain}"): {"200", "502", "503"},
        ("post", "/v1/hooks/{registrar}"): {"200", "401", "404", "413", "429", "503"},
    }
    for (method, path), statuses in expected.items():
        assert statuses <= set(paths[path][method]["responses"]), (method, path)
    # the 2xx schemas are the answers' real models, by name, so a generated client has types
    ok = {
        (m, p): o["responses"][s]["content"]["application/json"]["schema"]
        for m, p, o in operations(document)
        for s in o["responses"]
        if s.startswith("2")
    }
    assert ok[("get", "/v1/jobs")] == {"$ref": "#/components/schemas/JobPage"}
    assert ok[("post", "/v1/jobs:batch")] == {"$ref": "#/components/schemas/BatchAnswer"}
    assert ok[("post", "/v1/jobs")] == {"$ref": "#/components/schemas/JobOutcome"}
    assert ok[("get", "/v1/domains/{domain}")] == {"$ref": "#/components/schemas/DomainAnswer"}
    batch_422 = paths["/v1/jobs:batch"]["post"]["responses"]["422"]["content"][MEDIA_TYPE]["schema"]
    assert batch_422 == {"$ref": "#/components/schemas/BatchRefusedProblem"}


# --- against a real API -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def stack(redis_url: str, postgres_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    store = Store(postgres_url)
    store.upgrade()
    store.dispose()
    with running_stack(redis_url, postgres_url, Path(tmp_path_factory.mktemp("contract-stack")), GROUPS) as s:
        yield s


@pytest.fixture(scope="module")
def api(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    with running_api(stack.env, Path(tmp_path_factory.mktemp("contract-api")), ENV) as running:
        yield running


@pytest.fixture(scope="module")
def served(api: Api) -> dict[str, Any]:
    answer = requests.get(api.url + "/openapi.json", timeout=10)
    assert answer.status_code == 200
    document: dict[str, Any] = answer.json()
    validate(document)
    return document


class Contract:
    """Checks an answer against the operation the document declares for it."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self.schema = schemathesis.openapi.from_dict(document)

    def check(self, method: str, path: str, answer: requests.Response) -> requests.Response:
        """The answer's status is declared, under its media type, with the headers declared required,
        and the body conforms to the schema (schemathesis raises a FailureGroup naming each violation)."""
        declared = self.document["paths"][path][method.lower()]["responses"]
        status = str(answer.status_code)
        where = f"{method} {path} -> {status}: {answer.text[:300]}"
        assert status in declared, where
        media = answer.headers.get("content-type", "").split(";")[0].strip()
        assert media in declared[status].get("content", {}), (where, media)
        for header, spec in declared[status].get("headers", {}).items():
            assert not spec.get("required") or header in answer.headers, (where, header)
        self.schema[path][method.upper()].validate_response(answer)
        return answer


def test_real_answers_are_the_declared_ones(api: Api, served: dict[str, Any]) -> None:
    contract = Contract(served)
    submitter, reader = api.token("submit,read"), api.token("read")
    job = register(f"contract-{uuid.uuid4().hex[:8]}.com")
    key = f"register:{job['domain']}"
    hook, auth_code = "/v1/hooks/{registrar}", "/v1/domains/{domain}/auth-code"
    form = {"data": {"reset": "1"}}  # requests sends a dict as application/x-www-form-urlencoded
    text = {"data": "x", "headers": {"Content-Type": "text/plain"}}
    calls: list[tuple[int, str, str, str, str | None, dict[str, Any]]] = [
        (200, "GET", "/v1/health", "/v1/health", None, {}),
        (400, "GET", "/v1/health", "/v1/health?access_token=x", None, {}),
        (201, "POST", "/v1/jobs", "/v1/jobs", submitter, {"json": job}),
        (200, "POST", "/v1/jobs", "/v1/jobs", submitter, {"json": job}),  # the same job again
        (409, "POST", "/v1/jobs", "/v1/jobs", submitter, {"json": {**job, "years": 2}}),
        (422, "POST", "/v1/jobs", "/v1/jobs", submitter, {"json": {**job, "domain": "not a name"}}),
        (415, "POST", "/v1/jobs", "/v1/jobs", submitter, form),
        (413, "POST", "/v1/jobs", "/v1/jobs", submitter, {"json": {"pad": "x" * 70_000}}),
        (401, "POST", "/v1/jobs", "/v1/jobs", None, {"json": job}),
        (403, "POST", "/v1/jobs", "/v1/jobs", reader, {"json": job}),
        (
            200,
            "POST",
            "/v1/jobs:batch",
            "/v1/jobs:batch",
            submitter,
            {"json": [register(f"contract-b-{uuid.uuid4().hex[:8]}.com"), {"kind": "x"}]},
        ),
        (422, "POST", "/v1/jobs:batch", "/v1/jobs:batch", submitter, {"json": [{"kind": "x"}]}),
        (415, "POST", "/v1/jobs:batch", "/v1/jobs:batch", submitter, text),
        (200, "GET", "/v1/jobs", "/v1/jobs?limit=2", reader, {}),
        (422, "GET", "/v1/jobs", "/v1/jobs?cursor=x", reader, {}),
        (200, "GET", "/v1/jobs/{key}", f"/v1/jobs/{key}", submitter, {}),
        (404, "GET", "/v1/jobs/{key}", "/v1/jobs/no-such-key", submitter, {}),
        (404, "GET", "/v1/domains/{domain}", "/v1/domains/never-held.com", reader, {}),
        (422, "GET", "/v1/domains/{domain}", "/v1/domains/a..b", reader, {}),
        (404, "POST", auth_code, "/v1/domains/never-held.com/auth-code", submitter, {"json": {}}),
        (415, "POST", auth_code, "/v1/domains/never-held.com/auth-code", submitter, form),
        (403, "POST", auth_code, "/v1/domains/never-held.com/auth-code", reader, {"json": {}}),
        (422, "GET", "/v1/lookup/{domain}", "/v1/lookup/a..b", reader, {}),
        (401, "POST", hook, "/v1/hooks/gandi", None, {"json": {"id": "1"}}),  # no signature
        (404, "POST", hook, "/v1/hooks/godaddy", None, {"json": {}}),
    ]
    for expected, method, template, path, token, kwargs in calls:
        answer = contract.check(method, template, api.call(method, path, token, **kwargs))
        assert answer.status_code == expected, (method, path, answer.status_code, answer.text[:300])
        if expected >= 400:
            assert answer.json()["status"] == expected


def test_a_rate_limited_answer_is_the_declared_one(
    stack: Stack, served: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> None:
    contract = Contract(served)
    env = {"REGQ_API_RATE": "1/h", "REGQ_API_BURST": "1"}
    with running_api(stack.env, Path(tmp_path_factory.mktemp("contract-429")), env) as limited:
        token = limited.token("read")
        assert contract.check("GET", "/v1/jobs", limited.call("GET", "/v1/jobs", token)).status_code == 200
        refused = contract.check("GET", "/v1/jobs", limited.call("GET", "/v1/jobs", token))
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1


def test_docs_load_nothing_from_outside(api: Api) -> None:
    for page in ("/docs", "/redoc"):
        answer = requests.get(api.url + page, timeout=10)
        assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/html")
        html = answer.text
        outside = [url for url in re.findall(r"https?://[^\s\"'<>)]+", html) if not url.startswith(api.url)]
        assert outside == [], (page, outside)
        assets = re.findall(r"""(?:src|href)=["']([^"']+)["']""", html)
        assert any(a.endswith(".js") for a in assets), (page, assets)
        for asset in assets:
            fetched = requests.get(api.url + asset, timeout=10)
            assert fetched.status_code == 200 and fetched.content, (page, asset)
        assert "/openapi.json" in html


# --- a generated client -------------------------------------------------------------------------------


def generate_client(document: dict[str, Any], where: Path) -> Any:
    """openapi-python-client over ``document`` into ``where``; the generated package, imported."""
    source = where / "openapi.json"
    source.write_text(json.dumps(document))
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}  # its ruff hooks
    command = [str(bin_dir / "openapi-python-client"), "generate", "--path", str(source), "--meta", "none"]
    command += ["--output-path", str(where / "regq_client")]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    # the only parts it skips: the NDJSON bodies of the batch (it generates JSON, multipart, form bodies)
    skipped = set(re.findall(r"Unsupported content type (\S+)", done.stderr))
    assert skipped <= set(BATCH) - {"application/json"}, done.stderr
    warnings = set(re.findall(r"WARNING parsing (.+?) within", done.stderr))
    assert warnings <= {"POST /v1/jobs:batch"}, done.stderr
    sys.path.insert(0, str(where))
    try:
        return importlib.import_module("regq_client")
    finally:
        sys.path.remove(str(where))


@pytest.fixture
def client_package(served: dict[str, Any], tmp_path: Path) -> Iterator[Any]:
    package = generate_client(served, tmp_path)
    yield package
    for name in [m for m in sys.modules if m == "regq_client" or m.startswith("regq_client.")]:
        del sys.modules[name]


def test_a_generated_client_submits_polls_and_pages(api: Api, client_package: Any) -> None:
    from regq_client import AuthenticatedClient, Client  # type: ignore[import-not-found]
    from regq_client.api.default import (  # type: ignore[import-not-found]
        get_domain,
        get_job,
        health,
        list_jobs,
        submit_batch,
        submit_job,
    )
    from regq_client.models import (  # type: ignore[import-not-found]
        BatchAccepted,
        BatchAnswer,
        DomainAnswer,
        HealthAnswer,
        JobOutcome,
        JobPage,
        Problem,
        RegisterJob,
    )

    assert isinstance(health.sync(client=Client(base_url=api.url)), HealthAnswer)
    owner = f"owner-{uuid.uuid4().hex[:8]}"  # a fresh owner: its job list holds only this test's jobs
    secret = api.store.api_tokens.create(f"t-{uuid.uuid4().hex[:10]}", ["submit", "read"], owner=owner)[1]
    client = AuthenticatedClient(base_url=api.url, token=secret, timeout=30)
    domain = f"generated-{uuid.uuid4().hex[:8]}.com"

    first = submit_job.sync_detailed(client=client, body=RegisterJob.from_dict(register(domain)))
    assert first.status_code == 201 and isinstance(first.parsed, JobOutcome), first.content
    key = first.parsed.key
    assert first.headers["location"].endswith(key)
    again = submit_job.sync_detailed(client=client, body=RegisterJob.from_dict(register(domain)))
    assert again.status_code == 200 and again.parsed.duplicate is True and again.parsed.key == key

    def final() -> bool:
        outcome = get_job.sync(client=client, key=key)
        assert isinstance(outcome, JobOutcome), outcome
        return outcome.status.value in FINAL_STATUSES

    wait_for(final, 90, f"{key} to reach a final state through the generated client")
    outcome = get_job.sync(client=client, key=key)
    assert outcome.status.value == "succeeded", outcome.to_dict()
    held = get_domain.sync(client=client, domain=domain)
    assert isinstance(held, DomainAnswer) and held.registrar == "gandi" and held.status == "active"

    batch = [RegisterJob.from_dict(register(f"generated-b{n}-{uuid.uuid4().hex[:6]}.com")) for n in range(3)]
    answer = submit_batch.sync(client=client, body=batch)
    assert isinstance(answer, BatchAnswer) and answer.accepted == 3, answer
    assert all(isinstance(line, BatchAccepted) and line.ok for line in answer.results)
    submitted = [key] + [line.key for line in answer.results]

    keys: list[str] = []
    cursor: str | None = None
    for _page in range(10):
        page = list_jobs.sync(client=client, limit=2, cursor=cursor)  # None: left out of the query
        assert isinstance(page, JobPage) and len(page.jobs) <= 2, page
        keys += [job.key for job in page.jobs]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert keys == submitted  # oldest first, each once, nothing of another owner

    bad = submit_job.sync(client=client, body=RegisterJob.from_dict(register("not a name")))
    assert isinstance(bad, Problem) and bad.status == 422, bad
    assert bad.type_ == "urn:regq:problem:validation" and ["body", "domain"] in [e.loc for e in bad.errors]
    bad_cursor = list_jobs.sync(client=client, cursor="x")
    assert isinstance(bad_cursor, Problem) and ["query", "cursor"] in [e.loc for e in bad_cursor.errors]
    stranger = AuthenticatedClient(base_url=api.url, token="regq_not-a-token", timeout=30)
    refused = get_job.sync(client=stranger, key=key)
    assert isinstance(refused, Problem) and refused.status == 401
