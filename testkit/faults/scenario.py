"""What every fault scenario submits and checks: a batch of registers through the real stack, then
jobs submitted = jobs final, duplicate effects at the sandbox = 0, overlapping deliveries of one job = 0.
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta

import sqlalchemy as sa

from shared.jobs import FINAL_STATUSES, JobStatus, parse_job
from shared.store import Store
from shared.store.job_record import JobRecord
from shared.store.schema import ApiCallRow
from tasks.publish import submit
from testkit.factories import register
from testkit.stacks import wait_for
from workers.embedded.stack import Stack, WorkerGroup

#: The fleet of every fault scenario: two Gandi nodes of two processes, one node for lookup + maintenance.
FAULT_GROUPS = (
    WorkerGroup("gandi1", ("registrar.gandi",), 2),
    WorkerGroup("gandi2", ("registrar.gandi",), 2),
    WorkerGroup("misc", ("lookup", "maintenance"), 1),
)

#: Timing settings for scenarios that must recover in seconds: short leases, a frequent sweep.
FAST_RECOVERY = {
    "REGQ_LEASE_SECONDS": "4",
    "REGQ_SWEEP_INTERVAL_SECONDS": "2",
    "REGQ_REPUBLISH_GRACE_SECONDS": "3",
    "REGQ_REPUBLISH_AFTER_SECONDS": "6",
    "REGQ_RETRY_BACKOFF_SECONDS": "0.3",
    "REGQ_MAX_ATTEMPTS": "10",
    "REGQ_GANDI_RATE": "200/s",
    "REGQ_GANDI_BURST": "50",
    "REGQ_BREAKER_FAILURES": "50",
    "REGQ_BREAKER_RESET_SECONDS": "2",
}


def submit_registers(stack: Stack, store: Store, count: int, label: str, tld: str = "com") -> list[str]:
    """``count`` fresh register jobs (Gandi for .com) through :func:`tasks.publish.submit`; their keys."""
    run = uuid.uuid4().hex[:6]
    app = stack.producer()
    try:
        return [
            submit(parse_job(register(f"{label}{run}-{i:03d}.{tld}")), store=store, app=app).key
            for i in range(count)
        ]
    finally:
        app.close()


def records(store: Store, keys: list[str]) -> list[JobRecord]:
    return [store.jobs.require(k) for k in keys]


def wait_all_final(store: Store, keys: list[str], timeout: float, what: str) -> list[JobRecord]:
    def final() -> list[JobRecord] | None:
        now = records(store, keys)
        return now if all(r.status in FINAL_STATUSES for r in now) else None

    try:
        return wait_for(final, timeout, what, interval=0.5)  # type: ignore[return-value]
    except AssertionError:
        left = Counter(r.status.value for r in records(store, keys))
        raise AssertionError(f"timed out after {timeout} s waiting for {what}: {dict(left)}") from None


def overlapping_calls(store: Store, keys: list[str]) -> dict[str, int]:
    """Per job key, pairs of its audited upstream calls whose time spans intersect (one delivery calls
    one at a time, so any overlap is two deliveries running the job at once). Keys with none are left out.

    A call's span is ``[created_at - latency, created_at]`` (the row is written when the call ends)."""
    query = sa.select(ApiCallRow.job_key, ApiCallRow.created_at, ApiCallRow.latency_ms).where(
        ApiCallRow.job_key.in_(keys)
    )
    spans: dict[str, list[tuple[float, float]]] = {}
    with store.db.session() as session:
        for key, ended, latency in session.execute(query):
            if key is None:
                continue
            start = ended - timedelta(milliseconds=latency)
            spans.setdefault(key, []).append((start.timestamp(), ended.timestamp()))
    out: dict[str, int] = {}
    for key, items in spans.items():
        items.sort()
        pairs = sum(1 for i, a in enumerate(items) for b in items[i + 1 :] if b[0] < a[1])
        if pairs:
            out[key] = pairs
    return out


@dataclass
class FaultReport:
    """The invariants of one scenario: read with :func:`check`, assert ``problems == []``."""

    submitted: int
    final: int
    by_status: dict[str, int]
    duplicate_effects: dict[str, int]  # domain -> creates beyond the first
    missing_effects: list[str]  # succeeded, yet never created at the sandbox
    overlaps: dict[str, int]
    republished: int  # jobs the sweep had to republish at least once
    problems: list[str] = field(default_factory=list)

    def line(self) -> str:
        return (
            f"submitted={self.submitted} final={self.final} by_status={self.by_status} "
            f"duplicate_effects={sum(self.duplicate_effects.values())} "
            f"overlaps={sum(self.overlaps.values())} "
            f"republished={self.republished}"
        )


def check(stack: Stack, store: Store, keys: list[str], provider: str = "gandi") -> FaultReport:
    """Every job final and succeeded, each domain created exactly once, no job delivered twice at once."""
    assert stack.sandbox is not None
    now = records(store, keys)
    effects = stack.sandbox.stats(provider)["effects"]
    creates = {r.domain: int(effects.get(r.domain, {}).get("create", 0)) for r in now}
    report = FaultReport(
        submitted=len(keys),
        final=sum(1 for r in now if r.status in FINAL_STATUSES),
        by_status=dict(Counter(r.status.value for r in now)),
        duplicate_effects={d: n - 1 for d, n in creates.items() if n > 1},
        missing_effects=[r.domain for r in now if r.status is JobStatus.SUCCEEDED and creates[r.domain] == 0],
        overlaps=overlapping_calls(store, keys),
        republished=sum(1 for r in now if r.republishes > 0),
    )
    if report.final != report.submitted:
        report.problems.append(f"{report.submitted - report.final} jobs not final")
    for r in now:
        if r.status is not JobStatus.SUCCEEDED:
            report.problems.append(f"{r.key}: {r.status.value} {r.error_code}: {r.error_message}")
    if report.duplicate_effects:
        report.problems.append(f"duplicate creates: {report.duplicate_effects}")
    if report.missing_effects:
        report.problems.append(f"succeeded without a create: {report.missing_effects}")
    if report.overlaps:
        report.problems.append(f"deliveries of one job overlapping in time: {report.overlaps}")
    return report
