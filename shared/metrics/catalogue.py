"""Every metric the exporter exports: name, type, help and labels, in one place.

The collector builds its families from this table only, and the tests check that the dashboards and
alert rules under ``deploy/`` name nothing else. Labels carry kinds, statuses, queue, registrar,
provider (a limiter key: a registrar or an RDAP/WHOIS host name), operation, error code and a waiting
job's reason (a fixed set of labels): never a domain, a job key, a URL, a contact or a credential.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
)
from prometheus_client.metrics_core import Metric

Kind = Literal["gauge", "counter", "histogram"]
#: One scrape's families by name: prometheus_client *MetricFamily objects (add_metric differs by type).
Families = dict[str, Any]

#: Upper bounds (seconds) of the upstream latency histogram: registrar writes take up to tens of seconds.
LATENCY_BUCKETS = (0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
#: The renewal horizons the exporter counts due domains for (``within_days`` label).
RENEWAL_HORIZONS = (7, 30)


@dataclass(frozen=True)
class Spec:
    kind: Kind
    help: str
    labels: tuple[str, ...] = ()

    def sample_names(self, name: str) -> tuple[str, ...]:
        """The names a scrape shows for this metric (what PromQL uses)."""
        if self.kind == "counter":
            return (f"{name}_total",)
        if self.kind == "histogram":
            return (f"{name}_bucket", f"{name}_sum", f"{name}_count")
        return (name,)


METRICS: dict[str, Spec] = {
    # jobs (store)
    "regq_jobs": Spec(
        "gauge", "Jobs in the store by kind and status (kept REGQ_RETENTION_DAYS).", ("kind", "status")
    ),
    "regq_jobs_oldest_age_seconds": Spec(
        "gauge", "Age of the oldest job in this open status (0: none).", ("status",)
    ),
    "regq_jobs_max_overdue_seconds": Spec(
        "gauge", "How long the most overdue open job has been due without a delivery (0: none)."
    ),
    "regq_replays": Spec("counter", "Failed jobs replayed by an operator (regq replay)."),
    "regq_transfers_pending": Spec(
        "gauge", "Transfer jobs not final yet (queued, running, waiting: a transfer-in under way)."
    ),
    "regq_jobs_waiting": Spec(
        "gauge",
        "Jobs in status waiting, by why they wait (operator, rate_limit, breaker, transfer, registry, "
        "in_use, shared_fetch, backend, retry, other...: shared/wait_reasons.py).",
        ("reason",),
    ),
    # completion webhooks (the outbox, webhook_deliveries)
    "regq_webhook_deliveries": Spec(
        "gauge",
        "Completion-webhook deliveries by status (pending, sending, delivered, dead); delivered and dead "
        "ones are kept REGQ_RETENTION_DAYS.",
        ("status",),
    ),
    "regq_webhook_oldest_pending_seconds": Spec(
        "gauge", "Age of the oldest delivery not delivered nor dead yet (pending or sending; 0: none)."
    ),
    # broker
    "regq_queue_length": Spec("gauge", "Messages waiting in each broker queue (Redis broker).", ("queue",)),
    "regq_broker_unacked": Spec("gauge", "Messages delivered to a worker and not acked yet (Redis broker)."),
    # breakers
    "regq_breaker_state": Spec(
        "gauge", "Circuit breaker state per registrar: 1 for the current state.", ("registrar", "state")
    ),
    "regq_breaker_failures": Spec(
        "gauge",
        "Failed calls in a row since the last success (while open: the streak it opened with).",
        ("registrar",),
    ),
    "regq_breaker_window_calls": Spec(
        "gauge",
        "Calls in the breaker's sliding window (emptied when it opens or closes), whose failure rate it "
        "judges.",
        ("registrar",),
    ),
    "regq_breaker_window_failed_calls": Spec(
        "gauge", "Failed calls in the breaker's sliding window.", ("registrar",)
    ),
    "regq_breaker_transitions": Spec(
        "counter",
        "Breaker transitions recorded in the journal (Postgres table breaker_events, never purged), by the "
        "state entered; 0 for each configured registrar until its first.",
        ("registrar", "to_state"),
    ),
    # fleet-wide rate limiter
    "regq_ratelimit_granted_tokens": Spec("counter", "Tokens granted by the shared bucket.", ("provider",)),
    "regq_ratelimit_denied": Spec(
        "counter", "Acquires denied by the shared bucket (empty, or a block window).", ("provider",)
    ),
    "regq_ratelimit_blocks": Spec(
        "counter", "Block windows opened or extended (429/503 Retry-After, throttle texts).", ("provider",)
    ),
    "regq_ratelimit_blocked": Spec(
        "gauge", "1 while a block window is active for the provider.", ("provider",)
    ),
    "regq_ratelimit_block_remaining_seconds": Spec(
        "gauge", "Seconds left in the active block window (0: none).", ("provider",)
    ),
    "regq_ratelimit_tokens": Spec(
        "gauge", "Tokens in the bucket now (full buckets are not stored).", ("provider",)
    ),
    # upstream calls (audit table api_calls)
    "regq_upstream_calls": Spec(
        "counter", "Upstream calls recorded in the audit table.", ("provider", "operation")
    ),
    "regq_upstream_errors": Spec(
        "counter", "Upstream calls that ended in an error, by error code.", ("provider", "operation", "code")
    ),
    "regq_upstream_latency_seconds": Spec(
        "histogram", "Latency of upstream calls (audit table).", ("provider", "operation")
    ),
    # inventory and renewals
    "regq_renewals_due": Spec(
        "gauge", "Auto-renew domains expiring within the horizon (from today).", ("within_days",)
    ),
    "regq_renewals_overdue": Spec("gauge", "Auto-renew domains already past their expiry in the inventory."),
    "regq_renewals_failed": Spec("gauge", "Renew jobs that failed for good (kept REGQ_RETENTION_DAYS)."),
    "regq_renewals_failed_min_days_left": Spec(
        "gauge", "Fewest days before expiry among domains whose renewal failed (absent: none)."
    ),
    # the exporter itself
    "regq_exporter_source_up": Spec(
        "gauge", "1 when the last scrape could read this source (store, audit, redis, broker).", ("source",)
    ),
    "regq_exporter_audit_last_id": Spec("gauge", "Last api_calls id the exporter has counted."),
    "regq_exporter_scrape_duration_seconds": Spec("gauge", "How long the previous scrape took."),
}


def new_family(name: str) -> Metric:
    """An empty metric family for ``name`` as the catalogue declares it."""
    spec = METRICS[name]
    labels = list(spec.labels)
    if spec.kind == "counter":
        return CounterMetricFamily(name, spec.help, labels=labels)
    if spec.kind == "histogram":
        return HistogramMetricFamily(name, spec.help, labels=labels)
    return GaugeMetricFamily(name, spec.help, labels=labels)


def sample_names() -> set[str]:
    """Every sample name a scrape can show."""
    return {sample for name, spec in METRICS.items() for sample in spec.sample_names(name)}
