"""The fleet's metrics for Prometheus (``regq exporter``): jobs, queues, breakers, limiter, upstream
calls, renewals. One custom collector reads the store and Redis on each scrape; nothing here imports
Celery (the queue names and the broker URL are handed in)."""

from __future__ import annotations

from shared.metrics.audit import AuditTally
from shared.metrics.catalogue import METRICS, Spec, sample_names
from shared.metrics.collector import FleetCollector, registry_for
from shared.metrics.fleet import BrokerQueues
from shared.metrics.server import MetricsServer, serve

__all__ = [
    "METRICS",
    "AuditTally",
    "BrokerQueues",
    "FleetCollector",
    "MetricsServer",
    "Spec",
    "registry_for",
    "sample_names",
    "serve",
]
