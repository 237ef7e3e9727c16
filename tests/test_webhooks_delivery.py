"""One dispatcher in this process against a real HTTP receiver on loopback (SQLite store): the signed POST,
the secret chosen (the token's, else the fleet's), retries with backoff until the horizon, redirects not
followed, and the outbound policy refusing 127.0.0.1 without REGQ_WEBHOOK_ALLOW_PRIVATE."""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from shared.jobs import JobStatus, parse_job
from shared.settings import Settings, load_settings
from shared.store import Store
from shared.store.schema import utcnow
from shared.store.webhooks import Delivery, DeliveryStatus
from shared.webhooks.outbound.dispatcher import Dispatcher
from shared.webhooks.outbound.sender import WebhookSender, next_attempt_at, webhook_policy
from shared.webhooks.signature import verify
from testkit.factories import register
from testkit.webhook_receiver import Receiver, running_receiver

FLEET = "whsec_fleet_current"
FLEET_OLD = "whsec_fleet_previous"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as r:
        yield r


def _settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "webhook_allow_private": True,
        "webhook_secret": f"{FLEET},{FLEET_OLD}",
        "webhook_retry_base_seconds": 10.0,
        "webhook_read_timeout_seconds": 5.0,
    }
    return load_settings(**{**values, **overrides})


def _finished(
    store: Store, url: str, token: str | None = None, status: JobStatus = JobStatus.SUCCEEDED
) -> Delivery:
    key = f"order-{uuid.uuid4().hex[:8]}"
    job = parse_job(register(f"{key}.com", callback_url=url))
    store.jobs.create(key, job.submitted_as(token) if token else job)
    store.jobs.claim(key, "w1", 30)
    store.jobs.finish(
        key, "w1", status, {"expires_at": "2027-12-03"} if status is JobStatus.SUCCEEDED else None
    )
    [delivery] = store.webhooks.recent(job_key=key)
    return delivery


def test_a_signed_event_is_delivered_with_the_token_secret_else_the_fleet_one(
    sqlite_store: Store, receiver: Receiver
) -> None:
    sqlite_store.api_tokens.create("panel", ["submit"])
    own = sqlite_store.api_tokens.webhook_secret("panel")
    assert own is not None
    dispatcher = Dispatcher(sqlite_store, _settings())
    try:
        by_token = _finished(sqlite_store, receiver.url, token="panel")
        by_cli = _finished(sqlite_store, receiver.url)
        assert dispatcher.sweep() == {"delivered": 2}
    finally:
        dispatcher.close()
    hit = receiver.wait_for_key(by_token.job_key, 5)
    assert hit.path == "/hooks/regq" and hit.headers["Content-Type"] == "application/json"
    assert hit.headers["Regq-Event-Id"] == by_token.event_id == hit.json()["id"]
    assert verify(hit.body, hit.headers["Regq-Signature"], own)
    assert not verify(hit.body, hit.headers["Regq-Signature"], FLEET)
    assert hit.json()["event"] == "job.succeeded" and hit.json()["result"] == {"expires_at": "2027-12-03"}
    fleet_hit = receiver.wait_for_key(by_cli.job_key, 5)
    assert fleet_hit.headers["Regq-Signature"].count("v1=") == 2  # rotation: both fleet secrets sign
    assert verify(fleet_hit.body, fleet_hit.headers["Regq-Signature"], FLEET)
    assert verify(fleet_hit.body, fleet_hit.headers["Regq-Signature"], FLEET_OLD)
    done = sqlite_store.webhooks.get(by_token.id)
    assert done is not None and done.status is DeliveryStatus.DELIVERED and done.last_status_code == 200
    [attempt] = sqlite_store.webhooks.attempts(by_token.id)
    assert attempt.status_code == 200 and attempt.error is None and attempt.latency_ms > 0


def test_failures_are_retried_with_backoff_until_the_horizon_then_dead(
    sqlite_store: Store, receiver: Receiver
) -> None:
    settings = _settings(webhook_retry_horizon_seconds=3600)
    delivery = _finished(sqlite_store, receiver.url, status=JobStatus.FAILED)
    receiver.fail_next(2, status=500)
    dispatcher = Dispatcher(sqlite_store, settings)
    try:
        assert dispatcher.deliver(delivery.id) is DeliveryStatus.PENDING
        after_one = sqlite_store.webhooks.get(delivery.id)
        assert (
            after_one is not None and after_one.last_status_code == 500 and after_one.last_error == "HTTP 500"
        )
        assert after_one.next_attempt_at is not None
        wait = (after_one.next_attempt_at - utcnow()).total_seconds()
        assert 8 < wait <= 11.1  # the base (10 s), jittered up to a second more
        assert dispatcher.deliver(delivery.id) is None  # not due yet: nothing sent
        assert len(receiver.attempts_for(delivery.job_key)) == 1
        receiver.fail_next(1, status=302)  # a redirect is never followed: a failure
        sqlite_store.webhooks.replay(timedelta(hours=1), delivery_id=delivery.id)
        assert dispatcher.deliver(delivery.id) is DeliveryStatus.PENDING
        redirected = sqlite_store.webhooks.get(delivery.id)
        assert redirected is not None and "redirects are not followed" in (redirected.last_error or "")
        # past the horizon: the next failure is the last
        receiver.fail_next(1, status=503)
        sqlite_store.webhooks.replay(timedelta(seconds=1), delivery_id=delivery.id)
        assert dispatcher.deliver(delivery.id) is DeliveryStatus.DEAD
    finally:
        dispatcher.close()
    assert [a.status_code for a in sqlite_store.webhooks.attempts(delivery.id)] == [500, 302, 503]
    assert receiver.for_key(delivery.job_key) == []  # it never got a 200 from us: all three failed


def test_the_backoff_doubles_up_to_its_cap_and_stops_at_the_deadline() -> None:
    settings = _settings(webhook_retry_base_seconds=10, webhook_retry_max_seconds=3600)
    now = utcnow()
    far = now + timedelta(days=1)
    waits = [
        (next_attempt_at(n, now, far, settings, rng=lambda: 0.0) - now).total_seconds() for n in range(1, 12)
    ]  # type: ignore[operator]
    assert waits[:4] == [10, 20, 40, 80] and waits[-1] == 3600 and waits == sorted(waits)
    jittered = next_attempt_at(1, now, far, settings, rng=lambda: 1.0)
    assert jittered is not None and (jittered - now).total_seconds() == pytest.approx(11.0)
    assert next_attempt_at(12, now, now + timedelta(seconds=3599), settings) is None


def test_a_webhook_to_127_0_0_1_is_refused_without_the_allow_flag(
    sqlite_store: Store, receiver: Receiver
) -> None:
    delivery = _finished(sqlite_store, receiver.url)
    dispatcher = Dispatcher(sqlite_store, _settings(webhook_allow_private=False))
    try:
        assert dispatcher.deliver(delivery.id) is DeliveryStatus.DEAD  # no retry makes it allowed
    finally:
        dispatcher.close()
    assert receiver.received == []  # nothing left this process
    dead = sqlite_store.webhooks.get(delivery.id)
    assert dead is not None and dead.status is DeliveryStatus.DEAD and dead.last_status_code is None
    assert dead.last_error is not None and "loopback" in dead.last_error and "refused" in dead.last_error
    [attempt] = sqlite_store.webhooks.attempts(delivery.id)
    assert attempt.status_code is None and attempt.error == dead.last_error
    # the same with a name that resolves to loopback, and http:// is refused too without the flag
    named = _finished(sqlite_store, receiver.url.replace("127.0.0.1", "localhost"))
    dispatcher = Dispatcher(sqlite_store, _settings(webhook_allow_private=False))
    try:
        assert dispatcher.deliver(named.id) is DeliveryStatus.DEAD
    finally:
        dispatcher.close()
    assert receiver.received == []


def test_nothing_is_sent_unsigned(sqlite_store: Store, receiver: Receiver) -> None:
    delivery = _finished(sqlite_store, receiver.url)
    dispatcher = Dispatcher(sqlite_store, _settings(webhook_secret=None))
    try:
        assert dispatcher.deliver(delivery.id) is DeliveryStatus.PENDING  # retried: a secret may be set
    finally:
        dispatcher.close()
    assert receiver.received == []
    kept = sqlite_store.webhooks.get(delivery.id)
    assert kept is not None and "no signing secret" in (kept.last_error or "")


def test_the_operator_commands_list_and_replay(
    sqlite_store: Store, receiver: Receiver, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from tasks import runtime
    from workers.cli import app

    delivery = _finished(sqlite_store, receiver.url + "?secret=receivers-own")
    monkeypatch.setenv("REGQ_DATABASE_URL", sqlite_store.db.url)
    monkeypatch.setenv("REGQ_REDIS_URL", "memory://")  # kombu's in-memory broker: the message stays here
    monkeypatch.setenv("REGQ_WEBHOOK_ALLOW_PRIVATE", "false")
    cli = CliRunner()
    try:
        dispatcher = Dispatcher(sqlite_store, _settings(webhook_allow_private=False))
        dispatcher.deliver(delivery.id)  # refused: dead
        dispatcher.close()
        listed = cli.invoke(app, ["webhooks", "list", "--status", "dead", "--json"])
        assert listed.exit_code == 0, listed.output
        [row] = json.loads(listed.stdout)
        assert row["id"] == delivery.id and row["attempts"] == 1 and "loopback" in row["last_error"]
        assert row["target"] == receiver.url.rsplit("/hooks", 1)[0]  # never the path or query
        assert "receivers-own" not in listed.stdout
        assert (
            json.loads(cli.invoke(app, ["webhooks", "list", "--status", "delivered", "--json"]).stdout) == []
        )
        table = cli.invoke(app, ["webhooks", "list"])
        assert table.exit_code == 0 and "Completion webhooks" in table.stdout and " dead " in table.stdout
        assert cli.invoke(app, ["webhooks", "replay"]).exit_code == 2
        assert cli.invoke(app, ["webhooks", "replay", "9999"]).exit_code == 1
        replayed = cli.invoke(app, ["webhooks", "replay", str(delivery.id)])
        assert replayed.exit_code == 0, replayed.output
    finally:
        runtime.get().close()
    again = sqlite_store.webhooks.get(delivery.id)
    assert again is not None and again.status is DeliveryStatus.PENDING
    assert again.give_up_at is not None and again.give_up_at > utcnow() + timedelta(hours=23)
    assert sqlite_store.webhooks.due() == [delivery.id]


def test_a_receiver_trickling_its_answer_is_cut_at_the_read_deadline() -> None:
    """Status line then one header byte every 0.2 s: no single read times out, the deadline (connect +
    read timeout) ends the attempt, so a slow receiver cannot hold a maintenance worker."""
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    stop = threading.Event()

    def trickle() -> None:
        conn, _ = server.accept()
        with conn:
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\nX-Slow: ")
            while not stop.is_set():
                try:
                    conn.sendall(b"a")
                except OSError:
                    return
                stop.wait(0.2)

    thread = threading.Thread(target=trickle, daemon=True)
    thread.start()
    settings = _settings(webhook_connect_timeout_seconds=1.0, webhook_read_timeout_seconds=1.0)
    sender = WebhookSender(webhook_policy(settings))
    started = time.monotonic()
    try:
        outcome = sender.post(f"http://127.0.0.1:{port}/hook", b"{}", {"Content-Type": "application/json"})
    finally:
        stop.set()
        sender.close()
        server.close()
    elapsed = time.monotonic() - started
    assert outcome.status_code is None and "read deadline" in (outcome.error or ""), outcome
    assert 1.5 < elapsed < 5.0, elapsed
