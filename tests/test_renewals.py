"""The nightly renewal scan: each due term renewed once at the sandbox, however often the scan runs; the
fleet-wide lock; keyset pages; the summary row; ``regq renewals run-now --dry-run`` and ``failed``."""

from __future__ import annotations

import base64
import json
import logging
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
import redis
import sqlalchemy as sa
from typer.testing import CliRunner

from celeryconfig import renewal_scan_schedule
from sandbox.stack import Sandbox
from shared.errors import ConfigError
from shared.execution import Done
from shared.jobs import JobStatus, RenewJob
from shared.renewal_scan import FINISHED, LOCK_NAME, LOCKED, LockKeeper
from shared.settings import load_settings
from shared.store import Store
from shared.store.renewals import ScanCounts
from shared.store.schema import DomainRow, utcnow
from tasks import runtime
from tasks.renewals import run_scan
from testkit import services
from testkit.clock import utc_today
from testkit.stacks import wait_for
from workers.cli import app

cli = CliRunner()


# --- the store: keyset pages, scan rows, failed renewals (SQLite and Postgres) -------------------------
def seed(store: Store, rows: list[tuple[str, str, date | None, bool, str]]) -> None:
    """Inventory rows ``(domain, registrar, expires_at, auto_renew, status)`` in one INSERT."""
    now = utcnow()
    values = [
        dict(domain=d, registrar=r, expires_at=e, auto_renew=a, status=s, created_at=now, updated_at=now)
        for d, r, e, a, s in rows
    ]
    with store.db.session() as session:
        session.execute(sa.insert(DomainRow), values)


def test_keyset_pages_cover_every_due_domain_once_in_order(store: Store) -> None:
    horizon = utc_today() + timedelta(days=30)
    # 23 due domains over 4 expiry dates (ties across page boundaries), and domains that are not due.
    due = [
        (f"due-{n:02d}.com", "gandi", utc_today() + timedelta(days=n % 4), True, "active") for n in range(23)
    ]
    due += [
        ("past.ro", "rotld", utc_today() - timedelta(days=3), True, "active"),
        ("edge.com", "gandi", horizon, True, "active"),
    ]
    seed(
        store,
        due
        + [
            ("later.com", "gandi", horizon + timedelta(days=1), True, "active"),
            ("manual.com", "gandi", utc_today(), False, "active"),
            ("gone.com", "gandi", utc_today(), True, "transferred"),
            ("unknown.com", "gandi", None, True, "active"),
        ],
    )
    pages = list(store.inventory.expiring_pages(horizon, page_size=5))
    assert [len(p) for p in pages] == [5, 5, 5, 5, 5]
    listed = [(r.expires_at, r.domain) for page in pages for r in page]
    assert listed == sorted((e, d) for d, _r, e, _a, _s in due)  # each once, soonest first
    # An inventory change between pages neither repeats nor skips what is still due.
    first = store.inventory.expiring_page(horizon, None, 5)
    store.inventory.upsert(first[0].domain, "gandi", horizon + timedelta(days=400))  # renewed meanwhile
    rest = store.inventory.expiring_page(horizon, (first[-1].expires_at, first[-1].domain), 100)  # type: ignore[arg-type]
    assert len(first) + len(rest) == len(due) and not {r.domain for r in first} & {r.domain for r in rest}


def test_a_scan_row_records_counts_start_and_end(store: Store) -> None:
    horizon = utc_today() + timedelta(days=30)
    scan_id = store.renewals.start("cli", "host:1:ab", 30, horizon)
    running = store.renewals.get(scan_id)
    assert running is not None and running.status == "running" and running.finished_at is None
    store.renewals.progress(scan_id, ScanCounts(scanned=500, submitted=480, already_queued=20))
    assert store.renewals.recent()[0].counts == ScanCounts(500, 480, 20, 0)  # visible half-way
    done = store.renewals.finish(scan_id, "finished", ScanCounts(700, 600, 99, 1))
    assert (done.status, done.counts, done.horizon, done.trigger) == (
        "finished",
        ScanCounts(700, 600, 99, 1),
        horizon,
        "cli",
    )
    assert done.finished_at is not None and done.seconds is not None and done.seconds >= 0
    assert done.as_dict()["already_queued"] == 99


def test_failed_renewals_show_days_left_until_renewed_otherwise(store: Store) -> None:
    soon, later = utc_today() + timedelta(days=12), utc_today() + timedelta(days=20)
    seed(
        store,
        [
            ("broke.ro", "rotld", soon, True, "active"),
            ("fixed.com", "gandi", later + timedelta(days=365), True, "active"),
        ],
    )
    for domain, term in (("broke.ro", soon), ("fixed.com", later), ("orphan.com", later)):
        key = f"renew:{domain}:{term}"
        store.jobs.create(key, RenewJob(domain=domain, current_expiry=term))
        store.jobs.claim(key, "w", 30)
        store.jobs.finish(
            key, "w", JobStatus.FAILED, error_code="registry_error", error_message="50400 no money"
        )
    rows = {r.domain: r for r in store.renewals.failed(utc_today())}
    assert set(rows) == {"broke.ro", "orphan.com"}  # fixed.com's term was renewed since: not at risk
    assert (rows["broke.ro"].days_left, rows["broke.ro"].expires_at, rows["broke.ro"].error_code) == (
        12,
        soon,
        "registry_error",
    )
    assert (rows["orphan.com"].days_left, rows["orphan.com"].expires_at) == (20, None)  # from its term


# --- settings: the cron and the window ------------------------------------------------------------------
def test_the_scan_cron_is_a_crontab_and_a_bad_one_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    default = renewal_scan_schedule(load_settings())
    assert (default.minute, default.hour) == ({0}, {2})  # 02:00 UTC
    custom = renewal_scan_schedule(load_settings(renewal_scan_cron="15 1 * * mon-fri"))
    assert (custom.minute, custom.hour, custom.day_of_week) == ({15}, {1}, {1, 2, 3, 4, 5})
    with pytest.raises(ConfigError) as exc:
        renewal_scan_schedule(load_settings(renewal_scan_cron="61 2 * * *"))
    assert exc.value.variable == "REGQ_RENEWAL_SCAN_CRON"
    with pytest.raises(ConfigError) as exc:
        load_settings(renewal_scan_cron="0 2 * *")
    assert exc.value.variable == "REGQ_RENEWAL_SCAN_CRON"
    monkeypatch.setenv("REGQ_RENEW_WINDOW_DAYS", "45")
    assert load_settings().renew_window_days == 45


# --- the scan through the runtime, against the sandbox --------------------------------------------------
@pytest.fixture
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """SQLite unless a test asks for ``postgres`` (``indirect`` parametrization)."""
    if getattr(request, "param", "sqlite") == "postgres":
        with services.postgres_database() as url:
            yield url
        return
    yield f"sqlite:///{tmp_path / 'renewals.db'}"


@pytest.fixture
def env(
    sandbox: Sandbox, redis_url: str, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, str]]:
    sandbox.reset()
    prefix = f"regq-test-{uuid.uuid4().hex[:10]}"
    values = {
        "REGQ_REDIS_URL": redis_url,
        "REGQ_DATABASE_URL": database_url,
        "REGQ_REDIS_PREFIX": prefix,
        "REGQ_BROKER_KEY_PREFIX": f"{prefix}:",
        "REGQ_GANDI_API_URL": sandbox.gandi_url,
        "REGQ_GANDI_TOKEN": "sandbox-token",
        "REGQ_ROTLD_API_URL": sandbox.rotld_url,
        "REGQ_ROTLD_USER": "sandbox-user",
        "REGQ_ROTLD_PASSWORD": "sandbox-pass",
        "REGQ_OUTBOUND_ALLOW_PRIVATE": "true",
        "REGQ_GANDI_RATE": "1000/s",
        "REGQ_ROTLD_RATE": "1000/s",
        "REGQ_ROTLD_BURST": "100",
        "REGQ_RETRY_BACKOFF_SECONDS": "0.1",
        "REGQ_RENEW_WINDOW_DAYS": "30",
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    runtime.get().store.upgrade()
    yield values
    runtime.get().close()
    client = redis.Redis.from_url(redis_url)
    for key in client.scan_iter(match=f"{prefix}*"):
        client.delete(key)


def hold(sandbox: Sandbox, store: Store, domains: dict[str, date]) -> None:
    """Domains held at the sandbox and in the inventory, expiring as given."""
    for provider, tld in (("gandi", ".com"), ("rotld", ".ro")):
        mine = {d: e for d, e in domains.items() if d.endswith(tld)}
        sandbox.seed_domains(
            provider, [{"fqdn": d, "owner": "us", "expires": e.isoformat()} for d, e in mine.items()]
        )
        for domain, expires in mine.items():
            store.inventory.upsert(domain, provider, expires)


def take_messages(env: dict[str, str]) -> list[str]:
    """Pop every message the scans published to the registrar queues: the job keys, in order."""
    client = redis.Redis.from_url(env["REGQ_REDIS_URL"])
    keys = []
    for queue in ("registrar.gandi", "registrar.rotld"):
        while raw := client.rpop(f"{env['REGQ_BROKER_KEY_PREFIX']}{queue}"):
            assert isinstance(raw, bytes)
            _args, kwargs, _embed = json.loads(base64.b64decode(json.loads(raw)["body"]))
            keys.append(kwargs["key"])
    return keys


def deliver(rt: runtime.Runtime, key: str, n: int = 0) -> Done:
    for attempt in range(8):
        step = rt.runner.run(key, owner=f"delivery-{n}-{attempt}")
        if isinstance(step, Done):
            return step
    raise AssertionError(f"{key} not final after 8 deliveries")


@pytest.mark.parametrize("database_url", ["sqlite", "postgres"], indirect=True)
def test_two_scans_renew_each_due_term_once_at_the_sandbox(
    env: dict[str, str], sandbox: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    rt = runtime.get()
    due = {f"due-{n}.com": utc_today() + timedelta(days=n) for n in range(1, 6)} | {
        f"scadent-{n}.ro": utc_today() + timedelta(days=n + 10) for n in range(1, 4)
    }
    hold(
        sandbox,
        rt.store,
        {**due, "later.com": utc_today() + timedelta(days=200), "later.ro": utc_today() + timedelta(days=45)},
    )
    with caplog.at_level(logging.INFO, logger="shared.renewal_scan"):
        first = run_scan(rt, batch_size=3)  # three keyset pages
        second = run_scan(rt, batch_size=3)  # as a second beat would, by mistake
    assert first.status == second.status == FINISHED
    assert (first.counts.scanned, first.counts.submitted, first.counts.already_queued) == (8, 8, 0)
    assert (second.counts.scanned, second.counts.submitted, second.counts.already_queued) == (8, 0, 8)
    keys = take_messages(env)
    assert sorted(keys) == sorted(f"renew:{d}:{e}" for d, e in due.items())  # one message per term
    for key in keys + keys:  # every message delivered twice (a redelivery)
        done = deliver(rt, key)
        assert done.outcome is not None and done.outcome.status is JobStatus.SUCCEEDED, done.outcome
    after = run_scan(rt)  # and once more after the renewals went through
    assert after.counts.submitted == 0 and take_messages(env) == []
    for domain in due:
        provider = "rotld" if domain.endswith(".ro") else "gandi"
        assert sandbox.stats(provider)["effects"][domain].get("renew") == 1, domain
    for domain in ("later.com", "later.ro"):
        provider = "rotld" if domain.endswith(".ro") else "gandi"
        assert sandbox.stats(provider)["effects"].get(domain, {}).get("renew", 0) == 0
    # The summary rows and the log.
    rows = {r.id: r for r in rt.store.renewals.recent()}
    assert first.scan_id is not None and second.scan_id is not None
    assert rows[first.scan_id].counts == ScanCounts(8, 8, 0, 0) and rows[first.scan_id].status == "finished"
    assert rows[second.scan_id].counts == ScanCounts(8, 0, 8, 0)
    assert rows[second.scan_id].started_at >= rows[first.scan_id].finished_at  # type: ignore[operator]
    assert (
        f"renewal scan {second.scan_id} (beat) finished: scanned 8, submitted 0, already queued 8"
        in caplog.text
    )


def test_the_lock_stops_a_second_concurrent_scan(env: dict[str, str], sandbox: Sandbox) -> None:
    """While one scan is between two batches, a second one in another process (``regq renewals run-now``)
    finds the lock taken and does nothing; afterwards the lock is free again."""
    rt = runtime.get()
    hold(sandbox, rt.store, {f"lock-{n}.com": utc_today() + timedelta(days=n) for n in range(1, 5)})
    other: list[subprocess.CompletedProcess[str]] = []

    def second_scan(counts: ScanCounts) -> None:
        if not other:  # after the first batch, while the lock is held
            command = [
                sys.executable,
                "-c",
                "from workers.cli import main; main()",
                "renewals",
                "run-now",
                "--json",
            ]
            other.append(
                subprocess.run(command, env=dict(os.environ), capture_output=True, text=True, timeout=120)
            )

    first = run_scan(rt, batch_size=2, on_batch=second_scan)
    assert other[0].returncode == 75, other[0].stderr
    assert json.loads(other[0].stdout)["status"] == LOCKED and json.loads(other[0].stdout)["submitted"] == 0
    assert first.status == FINISHED and first.counts.submitted == 4
    assert len(rt.store.renewals.recent()) == 1  # the skipped scan left no row
    # The lock is released at the end: the next scan runs (and finds every term queued).
    assert run_scan(rt).counts.already_queued == 4
    # A lock held by another owner (another host's scan) stops this one before any work.
    assert rt.locks.acquire(LOCK_NAME, "other-host:1:x", 30)
    blocked = run_scan(rt)
    assert blocked.status == LOCKED and blocked.scan_id is None and blocked.counts == ScanCounts()


def test_the_lock_is_renewed_while_the_scan_runs_and_a_lost_lock_is_noticed(env: dict[str, str]) -> None:
    rt = runtime.get()
    locks = rt.locks
    assert locks.acquire(LOCK_NAME, "me", 0.3)
    with LockKeeper(locks, LOCK_NAME, "me", 0.3) as keeper:
        started = time.monotonic()
        wait_for(lambda: time.monotonic() - started > 1.0, 5, "three lease lengths to pass")
        assert not keeper.lost and not locks.acquire(LOCK_NAME, "thief", 5)  # kept alive past its TTL
        client = redis.Redis.from_url(env["REGQ_REDIS_URL"])
        client.delete(f"{env['REGQ_REDIS_PREFIX']}:lock:domain:{LOCK_NAME}")  # lapsed (a frozen process)...
        assert locks.acquire(LOCK_NAME, "thief", 5)  # ...and taken by another scan
        wait_for(lambda: keeper.lost, 5, "the keeper to notice the lost lock")


def test_run_now_dry_run_lists_and_submits_nothing(env: dict[str, str], sandbox: Sandbox) -> None:
    rt = runtime.get()
    hold(
        sandbox,
        rt.store,
        {
            "dry-a.com": utc_today() + timedelta(days=3),
            "dry-b.ro": utc_today() + timedelta(days=9),
            "far.com": utc_today() + timedelta(days=90),
        },
    )
    rt.store.jobs.create(
        f"renew:dry-a.com:{utc_today() + timedelta(days=3)}",
        RenewJob(domain="dry-a.com", current_expiry=utc_today() + timedelta(days=3)),
    )
    result = cli.invoke(app, ["renewals", "run-now", "--dry-run", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["status"] == "dry_run" and (data["scanned"], data["submitted"], data["already_queued"]) == (
        2,
        1,
        1,
    )
    assert [(d["domain"], d["existing"]) for d in data["due"]] == [
        ("dry-a.com", "queued"),
        ("dry-b.ro", None),
    ]
    assert data["due"][1]["key"] == f"renew:dry-b.ro:{utc_today() + timedelta(days=9)}"
    assert [r.key for r in rt.store.jobs.recent()] == [
        f"renew:dry-a.com:{utc_today() + timedelta(days=3)}"
    ]  # nothing new
    assert take_messages(env) == [] and rt.store.renewals.recent() == []  # nothing published, no scan row
    table = cli.invoke(app, ["renewals", "run-now", "--dry-run"])
    assert table.exit_code == 0 and "dry-b.ro" in table.output and "far.com" not in table.output


def test_renewals_failed_lists_a_renew_refused_for_lack_of_funds(
    env: dict[str, str], sandbox: Sandbox
) -> None:
    rt = runtime.get()
    expiry = utc_today() + timedelta(days=6)
    hold(sandbox, rt.store, {"fara-bani.ro": expiry, "ok-funds.com": utc_today() + timedelta(days=8)})
    sandbox.configure("rotld", command_errors={"domain-renew": ["50400", "Insufficient balance"]})
    try:
        run = cli.invoke(app, ["renewals", "run-now", "--json"])
        assert run.exit_code == 0, run.output
        assert json.loads(run.output)["submitted"] == 2
        outcomes = {key: deliver(rt, key).outcome for key in take_messages(env)}
    finally:
        sandbox.configure("rotld", command_errors={})
    assert {o.domain: o.status for o in outcomes.values() if o} == {
        "fara-bani.ro": JobStatus.FAILED,
        "ok-funds.com": JobStatus.SUCCEEDED,
    }
    result = cli.invoke(app, ["renewals", "failed", "--json"])
    assert result.exit_code == 0, result.output
    [row] = json.loads(result.output)
    assert (row["domain"], row["days_left"], row["key"]) == (
        "fara-bani.ro",
        6,
        f"renew:fara-bani.ro:{expiry}",
    )
    assert "50400" in row["error_message"] and "balance" in row["error_message"]
    assert sandbox.stats("rotld")["effects"].get("fara-bani.ro", {}).get("renew", 0) == 0
    # The next night's scan does not retry a failed term (replay does): still one failed job, no message.
    again = run_scan(rt).counts  # (ok-funds.com, renewed, left the window if the inventory followed)
    assert again.submitted == 0 and again.already_queued >= 1 and take_messages(env) == []
    table = cli.invoke(app, ["renewals", "failed"])
    assert (
        table.exit_code == 0 and "failed renewals" in table.output and "fara-" in table.output
    )  # 80 columns
    assert "ok-funds" not in table.output


def test_concurrent_scans_in_threads_submit_each_term_once(env: dict[str, str], sandbox: Sandbox) -> None:
    """Whatever interleaving the lock allows: the jobs table holds one renew per term."""
    rt = runtime.get()
    hold(sandbox, rt.store, {f"race-{n}.com": utc_today() + timedelta(days=n % 7) for n in range(40)})
    results = []
    threads = [threading.Thread(target=lambda: results.append(run_scan(rt, batch_size=7))) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sum(r.counts.submitted for r in results) == 40
    assert len(take_messages(env)) == 40
