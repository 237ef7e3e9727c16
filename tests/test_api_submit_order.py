"""``POST /v1/jobs`` in one threadpool crossing (issue 21) keeps the order of its answers.

- Against a real ``regq api``: a request wrong in several ways gets the answer FastAPI's own checks gave
  first before the change: 401 (no or unknown token), then 403 (no ``submit`` scope), then 422 for a
  malformed ``Idempotency-Key`` header, then 413 (body past the cap), then 422 for the body; the
  header's 422 says what FastAPI said (``loc`` ``["header", "Idempotency-Key"]``).
- In process (the app on a real runtime: Postgres and Redis): a created job, with or without a
  ``callback_url``, crosses into the threadpool exactly once (counted at anyio's ``to_thread.run_sync``).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio.to_thread
import pytest
from fastapi.testclient import TestClient

from shared import defaults
from shared.jobs_base import KEY_CHARACTERS, MAX_KEY_LENGTH
from shared.store import Store
from testkit.api import Api, running_api
from testkit.factories import register
from testkit.stacks import delete_prefixed
from workers.api.app import create_app

TOO_LARGE = b'{"kind": "register", "pad": "' + b"x" * (defaults.API_MAX_BODY_BYTES + 10) + b'"}'
BAD_KEY = {"Idempotency-Key": "k" * (MAX_KEY_LENGTH + 1)}


def _env(redis_url: str, postgres_url: str, prefix: str) -> dict[str, str]:
    return {
        "REGQ_REDIS_URL": redis_url,
        "REGQ_BROKER_URL": redis_url,
        "REGQ_DATABASE_URL": postgres_url,
        "REGQ_REDIS_PREFIX": prefix,
        "REGQ_BROKER_KEY_PREFIX": f"{prefix}:",
        "REGQ_API_AUTH_FAILURE_BURST": "1000",  # the 401s here must not block the address
        "REGQ_WEBHOOK_ALLOW_PRIVATE": "1",  # a callback to 127.0.0.1 is accepted (the crossing count)
    }


@pytest.fixture(scope="module")
def api(redis_url: str, postgres_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    store = Store(postgres_url)
    store.upgrade()
    store.dispose()
    prefix = f"regq-test-{uuid.uuid4().hex[:10]}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGQ_")}
    env.update(_env(redis_url, postgres_url, prefix))
    try:
        with running_api(env, Path(tmp_path_factory.mktemp("order-api"))) as running:
            yield running
    finally:
        delete_prefixed(redis_url, prefix)


def _post(api: Api, token: str | None, body: bytes, headers: dict[str, str] | None = None) -> Any:
    return api.call(
        "POST", "/v1/jobs", token, data=body, headers={"Content-Type": "application/json", **(headers or {})}
    )


def test_the_token_is_answered_before_anything_about_the_request(api: Api) -> None:
    unknown = "regq_" + uuid.uuid4().hex * 2
    for token in (None, unknown):
        answer = _post(api, token, TOO_LARGE, BAD_KEY)
        assert answer.status_code == 401 and answer.headers["WWW-Authenticate"] == "Bearer", answer.text
    read_only = api.token("read")
    assert _post(api, read_only, TOO_LARGE, BAD_KEY).status_code == 403


def test_then_the_header_then_the_size_then_the_body(api: Api) -> None:
    token = api.token("submit")
    header = _post(api, token, TOO_LARGE, BAD_KEY)
    assert header.status_code == 422, header.text
    assert header.json()["errors"] == [
        {
            "loc": ["header", "Idempotency-Key"],
            "msg": f"String should have at most {MAX_KEY_LENGTH} characters",
        }
    ]
    unprintable = _post(api, token, b"{}", {"Idempotency-Key": "tab\tkey"})
    assert unprintable.json()["errors"] == [{"loc": ["header", "Idempotency-Key"], "msg": KEY_CHARACTERS}]
    assert _post(api, token, TOO_LARGE, {"Idempotency-Key": "fine"}).status_code == 413
    body = _post(api, token, b"{not json", {"Idempotency-Key": "fine"})
    assert body.status_code == 422 and body.json()["errors"] == [{"loc": ["body"], "msg": "not valid JSON"}]
    key = f"order-{uuid.uuid4().hex[:8]}"
    job = register(f"{key}.com")
    created = api.call("POST", "/v1/jobs", token, json=job, headers={"Idempotency-Key": key})
    assert created.status_code == 201 and created.json()["key"] == key, created.text


@pytest.fixture
def client(redis_url: str, postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    from tasks import runtime

    store = Store(postgres_url)
    store.upgrade()
    store.dispose()
    prefix = f"regq-test-{uuid.uuid4().hex[:10]}"
    for name in [n for n in os.environ if n.startswith("REGQ_")]:
        monkeypatch.delenv(name)
    for name, value in {**_env(redis_url, postgres_url, prefix), "REGQ_STACK_FILE": ""}.items():
        monkeypatch.setenv(name, value)
    try:
        with TestClient(create_app(runtime.get)) as test_client:
            yield test_client
    finally:
        runtime.get().close()
        delete_prefixed(redis_url, prefix)


def test_a_created_job_crosses_into_the_threadpool_once(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tasks import runtime

    _record, token = runtime.get().store.api_tokens.create(f"t-{uuid.uuid4().hex[:10]}", ["submit"])
    crossings: list[str] = []
    original = anyio.to_thread.run_sync

    async def counted(func: Any, *args: Any, **kwargs: Any) -> Any:
        called = getattr(func, "func", func)  # starlette passes a functools.partial
        crossings.append(getattr(called, "__name__", repr(called)))
        return await original(func, *args, **kwargs)

    monkeypatch.setattr(anyio.to_thread, "run_sync", counted)
    headers = {"Authorization": f"Bearer {token}"}
    suffix = uuid.uuid4().hex[:8]
    for job in (
        register(f"once-{suffix}.com"),
        register(f"once-cb-{suffix}.com", callback_url="https://127.0.0.1:9/hook"),
    ):
        crossings.clear()
        answer = client.post("/v1/jobs", json=job, headers=headers)
        assert answer.status_code == 201, answer.text
        assert crossings == ["_create_job"], crossings
