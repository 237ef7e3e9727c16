"""Completion webhooks end to end: a real ``regq api``, a real Celery worker registering at the sandbox's
Gandi, a maintenance worker and beat delivering, a real HTTP receiver on loopback (so
REGQ_WEBHOOK_ALLOW_PRIVATE=true here; the refusal without it is in tests/test_webhooks_delivery.py).
Signatures are checked with the copyable verifier."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from shared.store import Store
from shared.store.webhooks import Delivery, DeliveryStatus
from shared.webhooks.signature import verify
from testkit import services
from testkit.api import Api, running_api
from testkit.factories import register
from testkit.stacks import running_stack, wait_for
from testkit.webhook_receiver import Receiver, running_receiver
from workers.embedded.stack import Stack, WorkerGroup

GROUPS = (WorkerGroup("all", ("registrar.gandi", "maintenance"), 2),)  # one worker to boot, not two
WEBHOOK_ENV = {
    "REGQ_WEBHOOK_ALLOW_PRIVATE": "true",
    "REGQ_WEBHOOK_RETRY_BASE_SECONDS": "0.1",
    "REGQ_WEBHOOK_RETRY_MAX_SECONDS": "0.4",
    "REGQ_WEBHOOK_SWEEP_INTERVAL_SECONDS": "0.3",
}
REGQ = str(Path(sys.executable).with_name("regq"))


@pytest.fixture(scope="module")
def stack(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with services.postgres_database() as database_url:
        store = Store(database_url)
        store.upgrade()
        store.dispose()
        var = Path(tmp_path_factory.mktemp("webhook-stack"))
        with running_stack(redis_url, database_url, var, GROUPS, beat=True, extra_env=WEBHOOK_ENV) as s:
            yield s


@pytest.fixture(scope="module")
def api(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    with running_api(stack.env, Path(tmp_path_factory.mktemp("webhook-api"))) as running:
        yield running


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as r:
        yield r


def _token(api: Api, callback_url: str | None = None) -> tuple[str, str]:
    name = f"panel-{uuid.uuid4().hex[:8]}"
    _token_record, secret = api.store.api_tokens.create(name, ["submit", "read"], callback_url=callback_url)
    signing = api.store.api_tokens.webhook_secret(name)
    assert signing is not None
    return secret, signing


def test_signed_webhook_then_five_failures_and_delivery_once_the_receiver_recovers(
    api: Api, receiver: Receiver
) -> None:
    token, signing = _token(api, callback_url=receiver.url)  # the token's default callback
    domain = f"hook-e2e-{uuid.uuid4().hex[:6]}.com"
    answer = api.call("POST", "/v1/jobs", token, json=register(domain, callback_url=receiver.url + "?o=1"))
    assert answer.status_code == 201, answer.text
    key = answer.json()["key"]
    hit = receiver.wait_for_key(key, 45)
    assert hit.path == "/hooks/regq?o=1"  # the job's own callback wins over the token's
    assert verify(hit.body, hit.headers["Regq-Signature"], signing)
    event = hit.json()
    assert (event["event"], event["status"], event["domain"]) == ("job.succeeded", "succeeded", domain)
    assert (
        event["result"]["expires_at"]
        == api.call("GET", f"/v1/jobs/{key}", token).json()["result"]["expires_at"]
    )
    fields = "id event key kind domain status result error_code error_message occurred_at"
    assert set(event) == set(fields.split())

    receiver.fail_next(5, status=503)
    second = api.call("POST", "/v1/jobs", token, json=register(f"hook-e2e-{uuid.uuid4().hex[:6]}.com"))
    assert second.status_code == 201, second.text
    later = receiver.wait_for_key(second.json()["key"], 60)
    assert verify(later.body, later.headers["Regq-Signature"], signing)
    tries = receiver.attempts_for(second.json()["key"])
    assert [r.answered for r in tries] == [503] * 5 + [200]
    assert len({r.headers["Regq-Event-Id"] for r in tries}) == 1 and len({r.body for r in tries}) == 1

    def recorded_delivered() -> Delivery | None:  # the receiver answers before the sender records it
        [row] = api.store.webhooks.recent(job_key=second.json()["key"])
        return row if row.status is DeliveryStatus.DELIVERED else None

    delivery = wait_for(recorded_delivered, 20, "the 200 to be recorded")
    assert isinstance(delivery, Delivery) and delivery.attempts == 6
    recorded = api.store.webhooks.attempts(delivery.id)
    assert [(a.attempt, a.status_code) for a in recorded] == [(n, 503) for n in range(1, 6)] + [(6, 200)]

    # a replay sends no message here: only beat's sweep can deliver it (a lost message loses nothing)
    assert api.store.webhooks.replay(timedelta(hours=1), job_key=delivery.job_key) == [delivery.id]
    wait_for(lambda: len(receiver.for_key(delivery.job_key)) == 2, 20, "the replayed webhook, by the sweep")
    assert receiver.for_key(delivery.job_key)[1].headers["Regq-Event-Id"] == delivery.event_id


def test_a_curl_client_submits_polls_and_receives_a_signed_callback(
    api: Api, receiver: Receiver, tmp_path: Path
) -> None:
    """What a PHP panel does with nothing but HTTP (and the two secrets `regq api-token create` shows)."""
    name = f"php-{uuid.uuid4().hex[:8]}"
    created = subprocess.run(
        [REGQ, "api-token", "create", name], env=api.env, capture_output=True, text=True, timeout=30
    )
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip()
    signing = created.stderr.split("not shown again):", 1)[1].split()[0]
    assert signing.startswith("whsec_")
    domain = f"hook-curl-{uuid.uuid4().hex[:6]}.com"
    body = tmp_path / "job.json"
    body.write_text(json.dumps(register(domain, callback_url=receiver.url)))
    curl = ["curl", "-sS", "-H", f"Authorization: Bearer {token}"]
    posted = subprocess.run(
        [*curl, "-H", "Content-Type: application/json", "-d", f"@{body}", "-w", "%{http_code}"]
        + ["-o", str(tmp_path / "out.json"), api.url + "/v1/jobs"],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert posted.returncode == 0 and posted.stdout == "201", (posted.stdout, posted.stderr)
    key = json.loads((tmp_path / "out.json").read_text())["key"]

    def final() -> dict | None:
        got = subprocess.run([*curl, f"{api.url}/v1/jobs/{key}"], capture_output=True, text=True, timeout=30)
        outcome = json.loads(got.stdout)
        return outcome if outcome["status"] in ("succeeded", "failed", "rejected") else None

    outcome = wait_for(final, 45, f"{domain} to be registered", interval=0.3)
    assert isinstance(outcome, dict) and outcome["status"] == "succeeded", outcome
    hit = receiver.wait_for_key(key, 20)
    assert verify(hit.body, hit.headers["Regq-Signature"], signing)
    assert hit.json()["status"] == "succeeded" and hit.json()["result"] == outcome["result"]
    assert token not in hit.body.decode() and signing not in hit.body.decode()
