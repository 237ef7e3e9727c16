"""Issue 21, operators: the exporter shows completion webhooks (dead ones included), breaker transitions
from the Postgres journal and waiting jobs by reason; the Grafana dashboard and the alert rules name only
what a real ``regq exporter`` process serves."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import urllib.error
import urllib.request
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from shared.breaker import BreakerConfig, MemoryBreaker
from shared.jobs import JobStatus, parse_job
from shared.metrics import METRICS, AuditTally, FleetCollector, registry_for
from shared.metrics.catalogue import new_family
from shared.metrics.tables import read_webhooks
from shared.store import Store
from shared.store.schema import utcnow
from shared.store.webhooks import DeliveryStatus
from testkit.factories import register
from testkit.stacks import wait_for
from tests.test_exporter import Samples, parse, scrape_collector, value
from workers.embedded.processes import Child
from workers.embedded.redis_server import free_port

ROOT = Path(__file__).resolve().parent.parent
DASHBOARD = ROOT / "deploy/grafana/regq-dashboard.json"
ALERTS = ROOT / "deploy/prometheus/alerts.yml"
_METRIC = re.compile(r"\bregq_[a-z0-9_]+\b")


def _finished_with_callback(store: Store, domain: str) -> int:
    """A register job with a callback, run to ``succeeded``: its completion webhook's delivery id."""
    data = {**register(domain), "callback_url": "https://hooks.example.net/regq"}
    key = f"register:{domain}"
    store.jobs.create(key, parse_job(data))
    store.jobs.claim(key, "w", 30)
    written = store.jobs.finish(key, "w", JobStatus.SUCCEEDED, result={"ok": True})
    assert written is not None and len(written.webhooks) == 1
    return written.webhooks[0]


def _attempt(store: Store, delivery_id: int, outcome: DeliveryStatus) -> None:
    claimed = store.webhooks.claim(delivery_id, lease_seconds=60)
    assert claimed is not None
    if outcome is not DeliveryStatus.SENDING:
        assert store.webhooks.record_attempt(
            claimed, status_code=500, error=None, latency_ms=3.0, outcome=outcome
        )


def test_webhook_deliveries_by_status_and_the_oldest_undelivered(store: Store) -> None:
    collector = FleetCollector(store=store, audit=AuditTally(settle_seconds=0))
    empty = scrape_collector(collector)
    assert {s.value: value(empty, "regq_webhook_deliveries", status=s.value) for s in DeliveryStatus} == {
        "pending": 0,
        "sending": 0,
        "delivered": 0,
        "dead": 0,
    }
    assert value(empty, "regq_webhook_oldest_pending_seconds") == 0

    ids = [_finished_with_callback(store, f"hook{n}.com") for n in range(5)]
    _attempt(store, ids[0], DeliveryStatus.DELIVERED)
    _attempt(store, ids[1], DeliveryStatus.DEAD)
    _attempt(store, ids[2], DeliveryStatus.DEAD)
    _attempt(store, ids[3], DeliveryStatus.SENDING)  # claimed, being sent: still undelivered
    samples = scrape_collector(collector)
    counts = {s.value: value(samples, "regq_webhook_deliveries", status=s.value) for s in DeliveryStatus}
    assert counts == {"pending": 1, "sending": 1, "delivered": 1, "dead": 2}
    assert 0 <= (value(samples, "regq_webhook_oldest_pending_seconds") or 0) < 60

    # The age is the oldest undelivered event's: an hour later it reads an hour (delivered and dead
    # ones do not count).
    families = {name: new_family(name) for name in METRICS}
    read_webhooks(store, families, utcnow() + timedelta(hours=1))
    (age,) = [s.value for s in families["regq_webhook_oldest_pending_seconds"].samples]
    assert 3590 < age <= 3600 + 60
    for delivery_id in (ids[3], ids[4]):
        store.webhooks.replay(timedelta(hours=1), delivery_id=delivery_id)  # sending is left alone
    _attempt(store, ids[4], DeliveryStatus.DELIVERED)
    done = scrape_collector(collector)
    assert value(done, "regq_webhook_deliveries", status="pending") == 0
    assert value(done, "regq_webhook_deliveries", status="sending") == 1


def test_breaker_transitions_come_from_the_journal_and_start_at_zero(store: Store) -> None:
    collector = FleetCollector(store=store, audit=AuditTally(settle_seconds=0), registrars=["gandi", "rotld"])
    before = scrape_collector(collector)
    for registrar in ("gandi", "rotld"):
        for state in ("open", "half_open", "closed"):
            assert value(before, "regq_breaker_transitions_total", registrar=registrar, to_state=state) == 0
    # A real breaker journaling into the store (the breaker_events table): open, then an operator reset.
    breaker = MemoryBreaker(
        BreakerConfig(failures=2, reset_seconds=60, probes=1, probe_timeout_seconds=30),
        store.breaker_events,
    )
    for _ in range(2):
        breaker.record_failure("rotld")
    breaker.reset("rotld", "registry back")
    after = scrape_collector(collector)
    assert value(after, "regq_breaker_transitions_total", registrar="rotld", to_state="open") == 1
    assert value(after, "regq_breaker_transitions_total", registrar="rotld", to_state="closed") == 1
    assert value(after, "regq_breaker_transitions_total", registrar="gandi", to_state="open") == 0


# --- the dashboard against a real exporter process ------------------------------------------------------
def _dashboard_exprs() -> list[tuple[str, str]]:
    dashboard = json.loads(DASHBOARD.read_text())
    return [
        (panel["title"], target["expr"])
        for panel in dashboard["panels"]
        for target in panel.get("targets", [])
    ]


def _alert_exprs() -> list[tuple[str, str]]:
    rules = yaml.safe_load(ALERTS.read_text())
    return [(rule["alert"], rule["expr"]) for group in rules["groups"] for rule in group["rules"]]


def _served_names(text: str) -> set[str]:
    """The series names a scrape serves, from each family's declared type (a family with no sample yet,
    e.g. no upstream call so far, still declares what its samples will be called)."""
    names: set[str] = set()
    for family in text_string_to_metric_families(text):
        names.update(sample.name for sample in family.samples)
        if family.type == "counter":
            names.add(f"{family.name}_total")
        elif family.type == "histogram":
            names.update(f"{family.name}_{suffix}" for suffix in ("bucket", "sum", "count"))
        else:
            names.add(family.name)
    return names


def test_every_panel_and_alert_names_what_a_real_exporter_serves(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    # Something of each new kind, so the new series carry data when the exporter is scraped.
    store = Store(cli_env["REGQ_DATABASE_URL"])
    delivery = _finished_with_callback(store, "dash.com")
    _attempt(store, delivery, DeliveryStatus.DEAD)
    key = "register:waits.com"
    store.jobs.create(key, parse_job(register("waits.com")))
    store.jobs.claim(key, "w", 30)
    assert store.jobs.defer(key, "w", utcnow(), "needs an operator: unreadable answer", code="operator")
    store.dispose()

    port = free_port()
    url = f"http://127.0.0.1:{port}/metrics"
    regq = str(Path(sys.executable).with_name("regq"))
    log = tmp_path / "exporter.log"
    exporter = Child("exporter", [regq, "exporter", "--port", str(port)], {**os.environ, **cli_env}, log)
    exporter.start(stdout=subprocess.DEVNULL)
    try:

        def answer() -> str | None:
            assert exporter.alive, log.read_text()
            try:
                with urllib.request.urlopen(url, timeout=10) as response:
                    return response.read().decode()
            except (urllib.error.URLError, ConnectionError):
                return None

        text: str = wait_for(answer, 30, "the exporter to answer")  # type: ignore[assignment]
    finally:
        exporter.stop()

    served = _served_names(text)
    names, samples = parse(text)
    assert names == set(METRICS)
    for source in ("store", "audit", "redis", "broker"):
        assert value(samples, "regq_exporter_source_up", source=source) == 1, source
    used = _dashboard_exprs() + _alert_exprs()
    missing = [(where, m) for where, expr in used for m in _METRIC.findall(expr) if m not in served]
    assert not missing, missing
    titles = " | ".join(title for title, _ in _dashboard_exprs())
    for panel in ("Waiting jobs by reason", "Webhook deliveries by status", "Breaker transitions"):
        assert panel in titles

    # The new series carry what the store holds.
    _check_new_series(samples)


def _check_new_series(samples: Samples) -> None:
    assert value(samples, "regq_webhook_deliveries", status="dead") == 1
    assert value(samples, "regq_jobs_waiting", reason="operator") == 1
    assert value(samples, "regq_jobs_waiting", reason="breaker") == 0
    assert value(samples, "regq_webhook_oldest_pending_seconds") == 0
    for registrar in ("gandi", "rotld"):
        assert value(samples, "regq_breaker_transitions_total", registrar=registrar, to_state="open") == 0


@pytest.mark.parametrize("expr", ["regq_jobs_total", "rate(regq_webhook_deliveries_total[5m])"])
def test_the_check_catches_a_name_the_exporter_does_not_serve(expr: str) -> None:
    collector = FleetCollector(store=Store("sqlite://"))  # nothing readable: families still declared
    served = _served_names(generate_latest(registry_for(collector)).decode())
    assert "regq_webhook_deliveries" in served and "regq_breaker_transitions_total" in served
    assert any(m not in served for m in _METRIC.findall(expr))
