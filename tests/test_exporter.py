"""``regq exporter``: the collector on SQLite and Postgres, then a real exporter process scraped while a
real stack (Celery worker, sandbox upstreams, Postgres, Redis) runs jobs: the metrics move."""

from __future__ import annotations

import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import redis
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from shared.audit import ApiCall
from shared.jobs import JobStatus, RenewJob, parse_job
from shared.metrics import METRICS, AuditTally, FleetCollector, registry_for, sample_names
from shared.metrics.catalogue import new_family
from shared.metrics.fleet import read_limiter
from shared.ratelimit import LimiterCounters, MemoryLimiter, Rate, RedisLimiter
from shared.services import Services
from shared.store import Store
from shared.store.schema import utcnow
from tasks.publish import submit
from testkit import services
from testkit.factories import person, register
from testkit.stacks import running_stack, wait_final, wait_for
from workers.embedded.processes import Child
from workers.embedded.redis_server import free_port
from workers.embedded.stack import Stack, WorkerGroup

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> tuple[set[str], Samples]:
    """Family names and every sample of one scrape."""
    names: set[str] = set()
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        names.add(family.name)
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return names, samples


def value(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((name, frozenset(labels.items())))


def scrape_collector(collector: FleetCollector) -> Samples:
    return parse(generate_latest(registry_for(collector)).decode())[1]


def _call(provider: str, operation: str, latency_ms: float, code: str | None = None) -> ApiCall:
    return ApiCall(provider, operation, "POST", "/v5/domain/domains", 500 if code else 201, latency_ms, code)


# --- the collector over the store, on both backends --------------------------------------------------
def test_collector_counts_jobs_audit_and_renewals_incrementally(store: Store) -> None:
    collector = FleetCollector(store=store, audit=AuditTally(batch=2, batches=50, settle_seconds=0))
    before = scrape_collector(collector)
    assert value(before, "regq_jobs", kind="register", status="queued") == 0
    assert value(before, "regq_exporter_source_up", source="store") == 1

    for domain in ("a.com", "b.com"):
        store.jobs.create(f"register:{domain}", parse_job(register(domain)))
    for latency, code in ((20, None), (300, None), (4000, "timeout")):
        store.audit.record_call(_call("gandi", "create", latency, code))
    today = utcnow().date()
    store.inventory.upsert("soon.com", "gandi", today + timedelta(days=5))
    store.inventory.upsert("later.com", "gandi", today + timedelta(days=20))
    store.inventory.upsert("far.com", "gandi", today + timedelta(days=200))
    renew = RenewJob(domain="soon.com", current_expiry=today + timedelta(days=5))
    store.jobs.create("renew:soon.com", renew)
    store.jobs.claim("renew:soon.com", "w", 30)
    store.jobs.finish("renew:soon.com", "w", JobStatus.FAILED, error_code="unknown_code")

    after = scrape_collector(collector)
    assert value(after, "regq_jobs", kind="register", status="queued") == 2
    assert value(after, "regq_jobs", kind="renew", status="failed") == 1
    assert value(after, "regq_jobs_oldest_age_seconds", status="queued") >= 0
    assert value(after, "regq_upstream_calls_total", provider="gandi", operation="create") == 3
    assert (
        value(after, "regq_upstream_errors_total", provider="gandi", operation="create", code="timeout") == 1
    )
    latency = {"provider": "gandi", "operation": "create"}
    assert value(after, "regq_upstream_latency_seconds_bucket", le="0.025", **latency) == 1
    assert value(after, "regq_upstream_latency_seconds_bucket", le="0.5", **latency) == 2
    assert value(after, "regq_upstream_latency_seconds_bucket", le="+Inf", **latency) == 3
    assert value(after, "regq_upstream_latency_seconds_sum", **latency) == pytest.approx(4.32)
    assert value(after, "regq_renewals_due", within_days="7") == 1
    assert value(after, "regq_renewals_due", within_days="30") == 2
    assert value(after, "regq_renewals_failed") == 1
    assert value(after, "regq_renewals_failed_min_days_left") == 5

    # Incremental: only new rows are added (nothing counted twice), read in bounded batches.
    store.audit.record_call(_call("rotld", "domain-info", 10))
    again = scrape_collector(collector)
    assert value(again, "regq_upstream_calls_total", provider="gandi", operation="create") == 3
    assert value(again, "regq_upstream_calls_total", provider="rotld", operation="domain-info") == 1
    assert value(again, "regq_exporter_audit_last_id") == 4


def test_pending_transfers_count_the_transfer_jobs_not_final(store: Store) -> None:
    collector = FleetCollector(store=store, audit=AuditTally(settle_seconds=0))
    assert value(scrape_collector(collector), "regq_transfers_pending") == 0
    for domain in ("a.com", "b.com", "c.com"):
        job = {"kind": "transfer", "domain": domain, "auth_code": "Xy7-code-9", "owner": person()}
        store.jobs.create(f"transfer:{domain}", parse_job(job))
    store.jobs.create("register:d.com", parse_job(register("d.com")))
    store.jobs.claim("transfer:c.com", "w", 30)
    store.jobs.finish("transfer:c.com", "w", JobStatus.FAILED, error_code="transfer_failed")
    store.jobs.claim("transfer:b.com", "w", 30)  # running: still pending

    after = scrape_collector(collector)
    assert value(after, "regq_transfers_pending") == 2
    assert value(after, "regq_jobs", kind="transfer", status="failed") == 1


def test_audit_rows_younger_than_the_settle_time_wait_for_the_next_scrape(store: Store) -> None:
    tally = AuditTally(settle_seconds=3600)
    store.audit.record_call(_call("gandi", "info", 5))
    assert tally.update(store, utcnow()) == 0
    assert tally.update(store, utcnow() + timedelta(hours=2)) == 1
    assert tally.update(store, utcnow() + timedelta(hours=2)) == 0


def test_a_source_that_fails_is_reported_down_and_the_others_still_answer(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'never-migrated.db'}")  # no tables: every query fails
    samples = scrape_collector(FleetCollector(store=store))
    assert value(samples, "regq_exporter_source_up", source="store") == 0
    assert value(samples, "regq_exporter_source_up", source="audit") == 0
    store.dispose()


# --- a real exporter process against a real stack ------------------------------------------------------
@pytest.fixture
def stack(redis_url: str, tmp_path: Path) -> Iterator[Stack]:
    with services.postgres_database() as database_url:
        Store(database_url).upgrade()
        groups = (WorkerGroup("gandi", ("registrar.gandi",), 2),)
        with running_stack(redis_url, database_url, tmp_path, groups, flower=False) as running:
            yield running


def scrape(url: str) -> tuple[set[str], Samples]:
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.status == 200
        return parse(response.read().decode())


def test_exporter_process_metrics_move_as_jobs_run(stack: Stack, tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/metrics"
    regq = str(Path(sys.executable).with_name("regq"))
    exporter = Child(
        "exporter", [regq, "exporter", "--port", str(port)], stack.env, tmp_path / "exporter.log"
    )
    exporter.start(stdout=subprocess.DEVNULL)
    rt = Services(stack.settings())
    producer = stack.producer()
    try:

        def answers() -> tuple[set[str], Samples] | None:
            assert exporter.alive, (tmp_path / "exporter.log").read_text()
            try:
                return scrape(url)
            except (urllib.error.URLError, ConnectionError):
                return None

        names, before = wait_for(answers, 30, "the exporter to answer")  # type: ignore[misc]
        assert names == set(METRICS)  # the catalogue is exactly what a scrape shows
        assert value(before, "regq_jobs", kind="register", status="succeeded") == 0
        assert value(before, "regq_breaker_state", registrar="rotld", state="closed") == 1
        for source in ("store", "audit", "redis", "broker"):
            assert value(before, "regq_exporter_source_up", source=source) == 1, source

        keys = [
            submit(parse_job(register(d)), store=rt.store, app=producer).key
            for d in ("m1.com", "m2.com", "m3.com")
        ]
        renew = RenewJob(domain="not-ours.com", current_expiry=utcnow().date() + timedelta(days=3))
        keys.append(submit(renew, store=rt.store, app=producer).key)
        for domain in ("q1.com", "q2.com"):  # no lookup worker runs: they stay in the broker's queue
            submit(parse_job({"kind": "lookup", "domain": domain}), store=rt.store, app=producer)
        statuses = [wait_final(rt.store, key, timeout=90).status for key in keys]
        assert statuses == [JobStatus.SUCCEEDED] * 3 + [JobStatus.FAILED]
        rt.store.inventory.upsert("not-ours.com", "gandi", utcnow().date() + timedelta(days=3))
        for _ in range(rt.settings.breaker_failures):
            rt.breaker.record_failure("rotld")
        rt.limiter.block("rotld", 120, "test: Retry-After 120")

        def moved() -> Samples | None:
            _, now = scrape(url)
            calls = value(now, "regq_upstream_calls_total", provider="gandi", operation="create") or 0
            return now if calls >= 3 else None  # audit rows are counted once settled (2 s)

        after: Samples = wait_for(moved, 30, "the audit calls to be counted")  # type: ignore[assignment]
        assert value(after, "regq_jobs", kind="register", status="succeeded") == 3
        assert value(after, "regq_jobs", kind="renew", status="failed") == 1
        assert value(after, "regq_renewals_failed") == 1
        assert value(after, "regq_renewals_failed_min_days_left") == 3
        assert value(after, "regq_renewals_due", within_days="7") == 1
        assert value(after, "regq_queue_length", queue="lookup") == 2
        assert value(after, "regq_jobs_oldest_age_seconds", status="queued") > 0
        latency = {"provider": "gandi", "operation": "create"}
        assert value(after, "regq_upstream_latency_seconds_count", **latency) == value(
            after, "regq_upstream_calls_total", **latency
        )
        assert (value(after, "regq_ratelimit_granted_tokens_total", provider="gandi") or 0) >= 3
        assert value(after, "regq_breaker_state", registrar="rotld", state="open") == 1
        assert value(after, "regq_breaker_state", registrar="gandi", state="closed") == 1
        assert value(after, "regq_breaker_transitions_total", registrar="rotld", to_state="open") == 1
        assert value(after, "regq_ratelimit_blocked", provider="rotld") == 1
        assert 100 < (value(after, "regq_ratelimit_block_remaining_seconds", provider="rotld") or 0) <= 120
        assert value(after, "regq_ratelimit_blocks_total", provider="rotld") == 1
    finally:
        producer.close()
        rt.close()
        exporter.stop()


def test_the_metric_names_are_the_catalogue() -> None:
    assert "regq_upstream_latency_seconds_bucket" in sample_names()
    assert "regq_replays_total" in sample_names()
    assert all(name.startswith("regq_") for name in METRICS)


@pytest.mark.parametrize("backend", ["memory", "redis"])
def test_limiter_counters_agree_on_both_backends(backend: str, redis_url: str, redis_prefix: str) -> None:
    client = redis.Redis.from_url(redis_url)
    limiter = MemoryLimiter() if backend == "memory" else RedisLimiter(client, redis_prefix)
    rate = Rate.parse("1/m")
    assert limiter.counters() == {}
    for _ in range(3):
        limiter.acquire("gandi", rate, burst=2)  # 2 granted, then denied: the bucket is empty
    limiter.block("whois.eu", 30, "throttled")
    limiter.block("whois.eu", 10, "shorter: not a new window")
    limiter.acquire("whois.eu", rate, burst=2)  # denied by the block window
    assert limiter.counters() == {
        "gandi": LimiterCounters("gandi", granted=2, denied=1, blocks=0),
        "whois.eu": LimiterCounters("whois.eu", granted=0, denied=1, blocks=1),
    }
    families = {name: new_family(name) for name in METRICS}
    read_limiter(limiter, families)
    blocked = {tuple(s.labels.values()): s.value for s in families["regq_ratelimit_blocked"].samples}
    assert blocked == {("gandi",): 0.0, ("whois.eu",): 1.0}
    client.close()
