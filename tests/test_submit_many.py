"""tasks.publish.submit_many: submit's semantics per job, one INSERT / connection / UPDATE per batch."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
import redis
import sqlalchemy as sa
from celery import Celery

import tasks.publish
from shared.errors import IdempotencyConflict, JobValidationError
from shared.jobs import AnyJob, JobStatus, parse_job
from shared.settings import load_settings
from shared.store import Store
from tasks.producer import producer_app
from tasks.publish import Submitted, submit, submit_many
from testkit.factories import register


@pytest.fixture
def broker(redis_url: str) -> Iterator[tuple[Celery, str]]:
    prefix = f"regq-test-{uuid.uuid4().hex[:10]}:"
    app = producer_app(load_settings(redis_url=redis_url, broker_key_prefix=prefix))
    yield app, prefix
    app.close()
    client = redis.Redis.from_url(redis_url)
    for key in client.scan_iter(match=f"{prefix}*"):
        client.delete(key)
    client.close()


def messages(redis_url: str, prefix: str, queue: str) -> list[dict[str, Any]]:
    client = redis.Redis.from_url(redis_url)
    raw = client.lrange(f"{prefix}{queue}", 0, -1)
    client.close()
    return [json.loads(base64.b64decode(json.loads(m)["body"]))[1] for m in reversed(raw)]


def jobs(*data: dict[str, Any]) -> list[AnyJob]:
    return [parse_job(d) for d in data]


def test_each_job_gets_what_submit_would_answer_in_order(
    store: Store, broker: tuple[Celery, str], redis_url: str
) -> None:
    app, prefix = broker
    store.inventory.upsert("held.com", "gandi", date(2027, 4, 5))
    submit(parse_job(register("before.com")), store=store, app=app)
    given = jobs(
        register("one.com"),
        register("two.ro"),
        {"kind": "renew", "domain": "held.com"},  # expiry from the inventory
        {"kind": "renew", "domain": "unknown.com"},  # no expiry known, no key: refused
        register("one.com"),  # repeats the first: its duplicate
        register("one.com", years=3),  # same key, other parameters
        register("before.com"),  # stored earlier: a duplicate, not published again
        register("before.com", years=2),  # stored earlier with other parameters
        {"kind": "renew", "domain": "held.com", "current_expiry": "2027-04-05"},  # same job as the 3rd
        {"kind": "lookup", "domain": "example.org"},
    )
    answers = submit_many(given, store=store, app=app, batch_size=4)
    assert all(isinstance(a, Submitted) for a in answers) and len(answers) == len(given)
    assert [a.key for a in answers] == [
        "register:one.com",
        "register:two.ro",
        "renew:held.com:2027-04-05",
        None,
        "register:one.com",
        "register:one.com",
        "register:before.com",
        "register:before.com",
        "renew:held.com:2027-04-05",
        answers[9].key,
    ]
    assert answers[9].key is not None and answers[9].key.startswith("lookup:example.org:")
    assert [a.ok for a in answers] == [True, True, True, False, True, False, True, False, True, True]
    assert isinstance(answers[3].error, JobValidationError)
    assert answers[3].error.problems[0].field == "current_expiry"
    assert isinstance(answers[5].error, IdempotencyConflict) and isinstance(
        answers[7].error, IdempotencyConflict
    )
    assert [a.outcome.duplicate for a in answers if a.outcome] == [
        False,
        False,
        False,
        True,
        True,
        True,
        False,
    ]
    assert all(a.outcome.status is JobStatus.QUEUED for a in answers if a.outcome)
    assert store.jobs.require("renew:held.com:2027-04-05").params["current_expiry"] == "2027-04-05"
    assert [m["key"] for m in messages(redis_url, prefix, "registrar.gandi")] == [
        "register:before.com",
        "register:one.com",
        "renew:held.com:2027-04-05",
    ]
    assert [m["key"] for m in messages(redis_url, prefix, "registrar.rotld")] == ["register:two.ro"]
    assert [m["key"] for m in messages(redis_url, prefix, "lookup")] == [answers[9].key]
    for a in answers:
        if a.ok:
            assert store.jobs.require(a.key or "").published_at is not None


def test_a_row_is_committed_before_its_message_leaves(
    store: Store, store_url: str, broker: tuple[Celery, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    app, _prefix = broker
    other = Store(store_url)  # another connection: sees only what was committed
    seen: list[tuple[str, bool]] = []
    real = tasks.publish.publish_record

    def spy(app: Celery, record: Any, producer: Any = None) -> None:
        seen.append((record.key, other.jobs.get(record.key) is not None))
        real(app, record, producer)

    monkeypatch.setattr(tasks.publish, "publish_record", spy)
    submit_many(jobs(*(register(f"row{i}.com") for i in range(7))), store=store, app=app, batch_size=3)
    other.dispose()
    assert [k for k, _ in seen] == [f"register:row{i}.com" for i in range(7)]
    assert all(committed for _, committed in seen)


def test_one_insert_one_connection_one_update_per_batch(store: Store, broker: tuple[Celery, str]) -> None:
    app, _prefix = broker
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(" ".join(statement.split()).upper().replace('"', ""))

    acquired: list[Any] = []
    real_acquire = app.producer_or_acquire

    def acquire(producer: Any = None) -> Any:
        if producer is None:  # a new acquisition from the pool (send_task passes ours along)
            acquired.append(producer)
        return real_acquire(producer)

    producers: set[int] = set()
    real_send = app.send_task

    def send(*args: Any, **kwargs: Any) -> Any:
        producers.add(id(kwargs.get("producer")))
        return real_send(*args, **kwargs)

    app.producer_or_acquire = acquire  # type: ignore[method-assign]
    app.send_task = send  # type: ignore[method-assign]
    sa.event.listen(store.db.engine, "before_cursor_execute", record)
    try:
        answers = submit_many(
            jobs(*(register(f"bulk{i}.com") for i in range(250))), store=store, app=app, batch_size=100
        )
    finally:
        sa.event.remove(store.db.engine, "before_cursor_execute", record)
    assert all(a.ok for a in answers) and len({a.key for a in answers}) == 250
    inserts = [s for s in statements if s.startswith("INSERT INTO JOBS")]
    assert len(inserts) == 3 and all("ON CONFLICT (KEY) DO NOTHING RETURNING" in s for s in inserts)
    assert len([s for s in statements if s.startswith("UPDATE JOBS SET PUBLISHED_AT")]) == 3
    assert len([s for s in statements if s.startswith("SELECT")]) == 0  # no key was there before
    assert len(acquired) == 3 and None not in producers and len(producers) <= 3

    statements.clear()
    sa.event.listen(store.db.engine, "before_cursor_execute", record)
    try:
        again = submit_many(
            jobs(*(register(f"bulk{i}.com") for i in range(250))), store=store, app=app, batch_size=100
        )
    finally:
        sa.event.remove(store.db.engine, "before_cursor_execute", record)
    assert all(a.outcome and a.outcome.duplicate for a in again)
    assert len([s for s in statements if s.startswith("INSERT INTO JOBS")]) == 3
    assert len([s for s in statements if s.startswith("SELECT") and "FROM JOBS" in s]) == 3
    assert not [s for s in statements if s.startswith("UPDATE")]  # nothing to publish again
    assert len(acquired) == 3


def test_a_stored_job_whose_message_was_lost_is_published(
    store: Store, broker: tuple[Celery, str], redis_url: str
) -> None:
    app, prefix = broker
    job = parse_job(register("lost.com"))
    store.jobs.create("register:lost.com", job)  # its producer died before publishing
    [answer] = submit_many([job], store=store, app=app)
    assert answer.outcome is not None and answer.outcome.duplicate
    assert [m["key"] for m in messages(redis_url, prefix, "registrar.gandi")] == ["register:lost.com"]
    assert store.jobs.require("register:lost.com").published_at is not None


def test_a_broker_failure_raises_and_leaves_the_rows_for_the_sweep(store: Store) -> None:
    app = producer_app(load_settings(redis_url="redis://127.0.0.1:1/0"))
    app.conf.broker_connection_retry = False
    app.conf.broker_connection_max_retries = 0
    app.conf.broker_transport_options = {"max_retries": 0}
    with pytest.raises(Exception):  # noqa: B017 - whatever the transport raises
        submit_many(jobs(register("nobroker.com")), store=store, app=app)
    app.close()
    record = store.jobs.require("register:nobroker.com")
    assert record.status is JobStatus.QUEUED and record.published_at is None


def test_nothing_to_submit() -> None:
    assert submit_many([], store=None, app=None) == []  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        submit_many([], store=None, app=None, batch_size=0)  # type: ignore[arg-type]


def test_submit_file_across_batches_keeps_line_order_and_numbers(
    broker: tuple[Celery, str], redis_url: str, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from workers.cli import app as cli

    _app, prefix = broker
    monkeypatch.setenv("REGQ_REDIS_URL", redis_url)
    monkeypatch.setenv("REGQ_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("REGQ_BROKER_KEY_PREFIX", prefix)
    monkeypatch.setenv("REGQ_REDIS_PREFIX", prefix.rstrip(":"))
    Store(f"sqlite:///{tmp_path / 'cli.db'}").upgrade()
    lines = [json.dumps(register(f"line{i}.com")) for i in range(7)]
    lines[2] = "{oops"
    lines[5] = json.dumps(register("line0.com", years=4))  # conflicts with line 1, in another batch
    path = tmp_path / "jobs.jsonl"
    path.write_text("\n".join(lines) + "\n")
    result = CliRunner().invoke(cli, ["submit", "--file", str(path), "--batch-size", "2", "--json"])
    assert result.exit_code == 1, result.output
    answer = json.loads(result.stdout)
    assert [s["key"] for s in answer["submitted"]] == [f"register:line{i}.com" for i in (0, 1, 3, 4, 6)]
    assert [(e["line"], e["field"]) for e in answer["errors"]] == [(3, "job"), (6, "idempotency_key")]
    assert len(messages(redis_url, prefix, "registrar.gandi")) == 5
    human = CliRunner().invoke(cli, ["submit", "--file", str(path), "--batch-size", "3"])
    assert human.exit_code == 1 and "yes" in human.stdout  # duplicates now
    assert "line 6: idempotency_key" in human.stderr
