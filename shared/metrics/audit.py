"""Upstream calls, errors and latency from the audit table ``api_calls``, read incrementally.

The tally remembers the last id it counted and adds only newer rows, in batches aggregated by the
database (one GROUP BY per batch, latency buckets as sums of CASEs): a scrape reads at most
``batches * batch`` rows, so a long history is caught up over several scrapes with bounded work. It
starts from the first row, so the counters are totals over the table and survive an exporter restart
as Prometheus expects from a counter (the value only grows).

A row is counted once it is ``settle`` seconds old: on Postgres an id is taken at insert and becomes
visible at commit, so a row with a smaller id may still appear shortly after a larger one.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from shared.metrics.catalogue import LATENCY_BUCKETS, Families
from shared.store import Store
from shared.store.schema import ApiCallRow


@dataclass
class _Series:
    count: int = 0
    sum_seconds: float = 0.0
    buckets: list[int] = field(default_factory=lambda: [0] * len(LATENCY_BUCKETS))


class AuditTally:
    """Cumulative counts per (provider, operation) and errors per (provider, operation, code)."""

    def __init__(self, batch: int = 5000, batches: int = 20, settle_seconds: float = 2.0) -> None:
        self.batch = batch
        self.batches = batches
        self.settle = timedelta(seconds=settle_seconds)
        self.last_id = 0
        self._series: dict[tuple[str, str], _Series] = {}
        self._errors: dict[tuple[str, str, str], int] = {}
        self._lock = threading.Lock()

    def _query(self, cutoff: datetime) -> sa.Select[Any]:
        rows = (
            sa.select(
                ApiCallRow.id,
                ApiCallRow.provider,
                ApiCallRow.operation,
                ApiCallRow.latency_ms,
                ApiCallRow.error_code,
            )
            .where(ApiCallRow.id > self.last_id, ApiCallRow.created_at < cutoff)
            .order_by(ApiCallRow.id)
            .limit(self.batch)
            .subquery()
        )
        buckets = [
            sa.func.sum(sa.case((rows.c.latency_ms <= bound * 1000.0, 1), else_=0))
            for bound in LATENCY_BUCKETS
        ]
        return sa.select(
            rows.c.provider,
            rows.c.operation,
            rows.c.error_code,
            sa.func.count(),
            sa.func.sum(rows.c.latency_ms),
            sa.func.max(rows.c.id),
            *buckets,
        ).group_by(rows.c.provider, rows.c.operation, rows.c.error_code)

    def update(self, store: Store, now: datetime) -> int:
        """Count the rows added since the last call (up to the per-scrape bound); how many were read."""
        read = 0
        with self._lock:
            for _ in range(self.batches):
                with store.db.session() as session:
                    groups = list(session.execute(self._query(now - self.settle)))
                if not groups:
                    break
                seen = 0
                for row in groups:
                    provider, operation, code, n, total_ms, top = row[:6]
                    bucket_counts = row[6:]
                    series = self._series.setdefault((provider, operation), _Series())
                    series.count += int(n)
                    series.sum_seconds += float(total_ms or 0.0) / 1000.0
                    for i, hits in enumerate(bucket_counts):
                        series.buckets[i] += int(hits or 0)
                    if code is not None:
                        self._errors[(provider, operation, code)] = self._errors.get(
                            (provider, operation, code), 0
                        ) + int(n)
                    seen += int(n)
                    self.last_id = max(self.last_id, int(top))
                read += seen
                if seen < self.batch:
                    break
        return read

    def export(self, families: Families) -> None:
        with self._lock:
            for (provider, operation), series in sorted(self._series.items()):
                labels = [provider, operation]
                families["regq_upstream_calls"].add_metric(labels, series.count)
                # Cumulative buckets: the CASE sums already count every call at or below each bound.
                buckets = [(_le(b), float(c)) for b, c in zip(LATENCY_BUCKETS, series.buckets, strict=True)]
                buckets.append(("+Inf", float(series.count)))
                families["regq_upstream_latency_seconds"].add_metric(labels, buckets, series.sum_seconds)
            for (provider, operation, code), n in sorted(self._errors.items()):
                families["regq_upstream_errors"].add_metric([provider, operation, code], n)
            families["regq_exporter_audit_last_id"].add_metric([], self.last_id)


def _le(bound: float) -> str:
    return repr(float(bound))
