"""Registrar webhooks through a real ``regq api`` (uvicorn) process, a real Postgres store and Redis (replay
memory and broker), driven by the sandbox's signed-event sender (``sandbox/gandi_events.py``).

No Celery worker is started: a hook's effect is the inventory row or a published ``sync`` job, both of
which are checked where they land (the store, the broker's queue in Redis)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

import pytest
import redis
import requests

from sandbox import gandi_events
from shared.store import Store
from testkit.api import Api, running_api
from testkit.stacks import delete_prefixed

SECRET = "whsec-api-7d2e91c0b5"


@pytest.fixture(scope="module")
def prefix(redis_url: str) -> Iterator[str]:
    value = f"regq-test-{uuid.uuid4().hex[:10]}"
    yield value
    delete_prefixed(redis_url, value)


@pytest.fixture(scope="module")
def api(
    redis_url: str, postgres_url: str, prefix: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Api]:
    store = Store(postgres_url)
    store.upgrade()
    store.dispose()
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGQ_")}
    env.update(
        REGQ_REDIS_URL=redis_url,
        REGQ_DATABASE_URL=postgres_url,
        REGQ_REDIS_PREFIX=prefix,
        REGQ_BROKER_KEY_PREFIX=f"{prefix}:",
        REGQ_GANDI_WEBHOOK_SECRET=SECRET,  # REGQ_ROTLD_WEBHOOK_SECRET stays unset: that hook is off
    )
    with running_api(env, Path(tmp_path_factory.mktemp("hooks-api"))) as running:
        yield running


def hook(api: Api, registrar: str = "gandi") -> str:
    return f"{api.url}/v1/hooks/{registrar}"


def receipts_of(api: Api, event_id: str) -> list[str]:
    return [r.outcome for r in api.store.hook_receipts.for_event("gandi", event_id)]


def test_good_bad_stale_and_replayed_signatures(api: Api, redis_url: str, prefix: str) -> None:
    domain = "api-hook-renewed.com"
    api.store.inventory.upsert(domain, "gandi", date(2027, 2, 1))
    body = gandi_events.encode(gandi_events.renewed_elsewhere(domain, date(2028, 2, 1)))
    event_id = json.loads(body)["id"]
    before = api.store.hook_receipts.last_id()

    bad = gandi_events.send(hook(api), "a-guessed-secret", body)
    assert (bad.status, bad.answer["outcome"]) == (401, "bad_signature")
    assert api.store.inventory.get(domain).expires_at == date(2027, 2, 1)  # type: ignore[union-attr]
    stale = gandi_events.send(hook(api), SECRET, body, timestamp=int(time.time()) - 400)
    assert (stale.status, stale.answer["outcome"]) == (401, "stale")
    assert api.store.inventory.get(domain).expires_at == date(2027, 2, 1)  # type: ignore[union-attr]

    signed = gandi_events.sign(SECRET, body, int(time.time()))
    good = gandi_events.send(hook(api), SECRET, body, signature=signed)
    assert (good.status, good.answer["outcome"], good.answer["action"]) == (200, "accepted", "expiry_updated")
    record = api.store.inventory.get(domain)
    assert record is not None and (record.expires_at, record.status) == (date(2028, 2, 1), "active")

    # the captured request sent again, byte for byte: recorded, answered, no second effect
    api.store.inventory.upsert(domain, "gandi", date(2030, 2, 1))  # changed since by someone else
    replay = gandi_events.send(hook(api), SECRET, body, signature=signed)
    assert (replay.status, replay.answer["outcome"]) == (200, "replayed")
    assert api.store.inventory.get(domain).expires_at == date(2030, 2, 1)  # type: ignore[union-attr]
    assert receipts_of(api, event_id) == ["stale", "accepted", "replayed"]
    bad_row = api.store.hook_receipts.recent(limit=1, after_id=before)[0]
    assert (bad_row.outcome, bad_row.event_id, bad_row.domain) == ("bad_signature", None, None)

    # the id is remembered fleet-wide (a Redis key) until the event's own timestamp goes stale
    client = redis.Redis.from_url(redis_url)
    ttl_ms = client.pttl(f"{prefix}:lock:domain:hook:gandi:{event_id}")
    client.close()
    assert 0 < ttl_ms <= 301_000

    assert SECRET not in api.log.read_text() and signed.split("v1=")[1] not in api.log.read_text()


def test_concurrent_deliveries_of_one_event_take_effect_once(api: Api) -> None:
    domain = "api-hook-race.com"
    api.store.inventory.upsert(domain, "gandi", date(2027, 3, 1))
    body = gandi_events.encode(gandi_events.expiry_changed(domain, date(2027, 9, 1)))
    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(lambda _n: gandi_events.send(hook(api), SECRET, body), range(6)))
    outcomes = sorted(a.answer["outcome"] for a in answers)
    assert outcomes == ["accepted"] + ["replayed"] * 5
    assert receipts_of(api, json.loads(body)["id"]).count("accepted") == 1
    assert api.store.inventory.get(domain).expires_at == date(2027, 9, 1)  # type: ignore[union-attr]


def test_malformed_too_large_unknown_and_unconfigured(api: Api) -> None:
    before = api.store.hook_receipts.last_id()
    malformed = gandi_events.send(hook(api), SECRET, b'{"id": "evt_broken", "type": ')
    assert (malformed.status, malformed.answer["outcome"]) == (400, "malformed")
    assert "not valid JSON" in malformed.answer["detail"]
    huge = gandi_events.transferred_away("api-hook-huge.com")
    huge["padding"] = "x" * 70_000  # past REGQ_API_MAX_BODY_BYTES (64 KiB)
    too_large = gandi_events.send(hook(api), SECRET, huge)
    assert too_large.status == 413
    unknown = gandi_events.send(hook(api, "godaddy"), SECRET, gandi_events.transferred_away("a.com"))
    assert (unknown.status, unknown.answer["outcome"]) == (404, "unknown_registrar")
    off = gandi_events.send(hook(api, "rotld"), SECRET, gandi_events.transferred_away("api-hook.ro"))
    assert off.status == 503 and "REGQ_ROTLD_WEBHOOK_SECRET" in off.answer["detail"]
    nul = requests.post(api.url + "/v1/hooks/%00gandi", data=b"{}", timeout=5)
    assert (nul.status_code, nul.json()["outcome"]) == (404, "unknown_registrar")
    rows = api.store.hook_receipts.recent(after_id=before)
    assert [(r.registrar, r.outcome) for r in rows] == [  # an unknown registrar is never written
        ("gandi", "malformed"),
        ("gandi", "malformed"),
        ("rotld", "unknown_registrar"),
    ]
    # the rest of the API still wants its token: the hook route opened nothing else
    assert requests.get(api.url + "/v1/domains/api-hook-renewed.com", timeout=5).status_code == 401


def test_transferred_away_and_unknown_domain_through_the_sender_cli(
    api: Api, redis_url: str, prefix: str
) -> None:
    domain = "api-hook-gone.com"
    api.store.inventory.upsert(domain, "gandi", date(2027, 4, 1))
    env = {**os.environ, "REGQ_GANDI_WEBHOOK_SECRET": SECRET}
    sent = subprocess.run(
        [sys.executable, "-m", "sandbox.gandi_events", hook(api), "transferred-out", domain],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert sent.returncode == 0, sent.stderr
    printed = json.loads(sent.stdout)
    assert printed["status"] == 200 and printed["answer"]["action"] == "marked_missing"
    assert api.store.inventory.get(domain).status == "missing"  # type: ignore[union-attr]
    assert domain not in {r.domain for r in api.store.inventory.expiring(date(2030, 1, 1))}

    event = gandi_events.renewed_elsewhere(
        "api-hook-stranger.com", date(2028, 4, 1), event_id="evt_stranger_1"
    )
    answer = gandi_events.send(hook(api), SECRET, event)
    assert (answer.status, answer.answer["action"]) == (200, "sync_submitted")
    job = api.store.jobs.get("hook:gandi:evt_stranger_1")
    assert job is not None and (job.kind, job.domain, job.status.value) == (
        "sync",
        "api-hook-stranger.com",
        "queued",
    )
    assert job.published_at is not None
    client = redis.Redis.from_url(redis_url)
    queued = client.lrange(f"{prefix}:maintenance", 0, -1)
    client.close()
    assert any(b"hook:gandi:evt_stranger_1" in message for message in queued)
