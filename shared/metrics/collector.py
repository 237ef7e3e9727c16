"""The fleet collector: reads the store and Redis on each scrape (prometheus_client custom collector).

Sources are read one by one; one that fails (Redis down, the database unreachable) leaves its metrics
out of that scrape and shows as ``regq_exporter_source_up{source=...} 0``, the others still answer.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

import redis
import sqlalchemy as sa
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector, CollectorRegistry

from shared.breaker import Breaker
from shared.metrics.audit import AuditTally
from shared.metrics.catalogue import METRICS, Families, new_family
from shared.metrics.fleet import BrokerQueues, read_breakers, read_limiter
from shared.metrics.tables import read_breaker_journal, read_jobs, read_renewals, read_webhooks
from shared.ratelimit import Limiter
from shared.store import Store
from shared.store.schema import utcnow

log = logging.getLogger(__name__)

#: What a source may raise when its backend is unreachable or broken: counted, never fatal.
SOURCE_ERRORS = (sa.exc.SQLAlchemyError, redis.RedisError, OSError)


@dataclass(eq=False)  # hashable by identity: the registry keys collectors
class FleetCollector(Collector):
    """``store`` for jobs, inventory, audit and journals; ``limiter`` and ``breaker`` (fleet-wide, on
    Redis) and ``broker`` (queue lengths) when given; ``registrars`` always shown in breaker metrics."""

    store: Store
    limiter: Limiter | None = None
    breaker: Breaker | None = None
    broker: BrokerQueues | None = None
    registrars: Iterable[str] = ()
    audit: AuditTally = field(default_factory=AuditTally)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    _last_duration: float = field(default=0.0, init=False, repr=False)

    def _sources(self) -> list[tuple[str, Callable[[Families], None]]]:
        sources: list[tuple[str, Callable[[Families], None]]] = [
            ("store", self._read_store),
            ("audit", self._read_audit),
        ]
        if self.limiter is not None or self.breaker is not None:
            sources.append(("redis", self._read_redis))
        if self.broker is not None:
            sources.append(("broker", self.broker.read))
        return sources

    def collect(self) -> Iterator[Metric]:
        with self._lock:  # concurrent scrapes take turns: the audit tally is incremental
            started = time.monotonic()
            families: Families = {name: new_family(name) for name in METRICS}
            for source, read in self._sources():
                try:
                    read(families)
                    up = 1.0
                except SOURCE_ERRORS as exc:
                    log.warning("exporter: reading %s failed: %s", source, exc)
                    up = 0.0
                families["regq_exporter_source_up"].add_metric([source], up)
            families["regq_exporter_scrape_duration_seconds"].add_metric([], self._last_duration)
            self._last_duration = time.monotonic() - started
        yield from families.values()

    def _read_store(self, families: Families) -> None:
        now = utcnow()
        read_jobs(self.store, families, now)
        read_renewals(self.store, families, now.date())
        read_breaker_journal(self.store, families, self.registrars)
        read_webhooks(self.store, families, now)

    def _read_audit(self, families: Families) -> None:
        self.audit.update(self.store, utcnow())
        self.audit.export(families)

    def _read_redis(self, families: Families) -> None:
        if self.breaker is not None:
            read_breakers(self.breaker, self.registrars, families)
        if self.limiter is not None:
            read_limiter(self.limiter, families)


def registry_for(collector: FleetCollector) -> CollectorRegistry:
    """A registry holding only the fleet collector (no process metrics of the exporter itself)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    return registry
