"""The report of a chaos run, and the check that fills it: every invariant, against the store and the
sandbox's own record of effects."""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from shared.gateways.dates import add_years
from shared.jobs import FINAL_STATUSES, JobStatus
from shared.store.job_record import JobRecord
from shared.store.schema import utcnow
from testkit.chaos_scenario.killer import Kill
from testkit.chaos_scenario.plan import Plan
from testkit.chaos_scenario.producers import SubmitLog
from workers.embedded.stack import Stack


def _percentile(values: list[float], q: int) -> float:
    if not values:
        return 0.0
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if q < 100 else max(values)


@dataclass
class ChaosReport:
    seed: int
    run_id: str
    submitted: int = 0
    succeeded: int = 0
    failed: int = 0
    rejected: int = 0
    lost: int = 0
    duplicate_effects: int = 0
    p50: float = 0.0
    p99: float = 0.0
    kills: list[Kill] = field(default_factory=list)
    faults_injected: dict[str, dict[str, int]] = field(default_factory=dict)
    raw_messages: int = 0
    elapsed: float = 0.0
    attempts_max: int = 0
    reconciled: int = 0  # succeeded jobs whose outcome came from reconciling an unanswered send
    # Recovery: the longest any job stayed due (queued/waiting past due_at, or running on an expired
    # lease) before a delivery claimed it (the store's max_due_wait_seconds; still waiting: until now).
    longest_due_wait: float = 0.0
    longest_due_wait_key: str = "-"
    sweep_republishes: int = 0  # messages the sweep republished for these jobs...
    republished_jobs: int = 0  # ...and for how many jobs
    final_after_last_kill: float = 0.0  # the last job's finished_at minus the time of the last kill
    problems: list[str] = field(default_factory=list)

    def _kills(self) -> str:
        if not self.kills:
            return "0"
        restart = statistics.mean(k.restarted_in for k in self.kills)
        return f"{len(self.kills)} (a new worker answered after {restart:.1f} s on average)"

    def table(self) -> str:
        faults = ", ".join(
            f"{provider} " + " ".join(f"{k}={v}" for k, v in sorted(kinds.items()))
            for provider, kinds in sorted(self.faults_injected.items())
        )
        rows = [
            ("seed", str(self.seed)),
            ("submitted", str(self.submitted)),
            ("succeeded", str(self.succeeded)),
            ("failed", str(self.failed)),
            ("rejected", str(self.rejected)),
            ("lost", str(self.lost)),
            ("duplicate effects", str(self.duplicate_effects)),
            ("p50 job latency", f"{self.p50:.2f} s"),
            ("p99 job latency", f"{self.p99:.2f} s"),
            ("kills", self._kills()),
            ("faults injected", faults or "none"),
            ("raw duplicate messages", str(self.raw_messages)),
            ("reconciled outcomes", str(self.reconciled)),
            ("max attempts of a job", str(self.attempts_max)),
            ("longest due, undelivered", f"{self.longest_due_wait:.1f} s ({self.longest_due_wait_key})"),
            ("sweep republishes", f"{self.sweep_republishes} messages for {self.republished_jobs} jobs"),
            ("last final after last kill", f"{self.final_after_last_kill:.1f} s"),
            ("elapsed", f"{self.elapsed:.1f} s"),
            ("problems", str(len(self.problems))),
        ]
        width = max(len(name) for name, _ in rows)
        return "\n".join(f"{name.ljust(width)}  {value}" for name, value in rows)


Counts = dict[str, dict[str, int]]


def _sandbox_state(stack: Stack) -> tuple[Counts, dict[str, dict[str, Any]], Counts]:
    """(effects by domain, domains by fqdn, faults_injected by provider) of both providers."""
    assert stack.sandbox is not None
    effects: dict[str, dict[str, int]] = {}
    domains: dict[str, dict[str, Any]] = {}
    faults: dict[str, dict[str, int]] = {}
    for provider in ("gandi", "rotld"):
        stats = stack.sandbox.stats(provider)
        for domain, counts in stats["effects"].items():
            effects.setdefault(domain, {}).update(counts)
        faults[provider] = stats["faults_injected"]
        for entry in stack.sandbox.domains(provider):
            domains[entry["fqdn"]] = entry
    return effects, domains, faults


def _recovery(records: Iterable[JobRecord], report: ChaosReport) -> None:
    """The recovery figures: longest due wait, sweep republishes, last final job vs. the last kill."""
    now = utcnow()
    last_final: datetime | None = None
    for record in records:
        waited = record.max_due_wait_seconds or 0.0
        if record.status not in FINAL_STATUSES and record.due_at is not None:
            waited = max(waited, (now - record.due_at).total_seconds())  # still due, undelivered
        if waited > report.longest_due_wait:
            report.longest_due_wait, report.longest_due_wait_key = waited, record.key
        report.sweep_republishes += record.republishes
        report.republished_jobs += 1 if record.republishes else 0
        if record.finished_at is not None and (last_final is None or record.finished_at > last_final):
            last_final = record.finished_at
    if report.kills and last_final is not None:
        last_kill = datetime.fromtimestamp(max(k.wall for k in report.kills), UTC)
        report.final_after_last_kill = (last_final - last_kill).total_seconds()


def check(
    stack: Stack, plan: Plan, log_: SubmitLog, records: dict[str, JobRecord], report: ChaosReport
) -> None:
    """Fill ``report`` and list every broken invariant in ``report.problems``."""
    problems = report.problems
    problems += log_.errors
    effects, domains, faults = _sandbox_state(stack)
    report.faults_injected = faults
    report.submitted = len(plan.jobs)
    report.raw_messages = log_.raw_messages
    by_domain = {job.domain: job for job in plan.jobs}
    keys_of = {job.domain: key for key, job in log_.keys.items()}
    for job in plan.jobs:
        if job.domain not in keys_of:
            problems.append(f"{job.domain}: never accepted by submit()")
    for sent in log_.keys:
        fresh = log_.fresh[sent]
        if fresh != 1:
            problems.append(f"{sent}: {fresh} of {log_.copies[sent]} submissions were not duplicates")
    latencies: list[float] = []
    _recovery(records.values(), report)
    for domain, job in by_domain.items():
        key = keys_of.get(domain)
        record = records.get(key) if key else None
        if record is None or record.status not in FINAL_STATUSES:
            report.lost += 1
            state = "missing" if record is None else f"{record.status.value} phase={record.phase}"
            problems.append(f"{key or domain}: lost ({state}, attempts {record.attempts if record else '-'})")
            continue
        report.attempts_max = max(report.attempts_max, record.attempts)
        if record.finished_at is not None:
            latencies.append((record.finished_at - record.created_at).total_seconds())
        if record.status is JobStatus.SUCCEEDED:
            report.succeeded += 1
            report.reconciled += 1 if (record.result or {}).get("reconciled") else 0
        elif record.status is JobStatus.FAILED:
            report.failed += 1
        else:
            report.rejected += 1
        counts = effects.get(domain, {})
        creates, renews = counts.get("create", 0), counts.get("renew", 0)
        seen = domains.get(domain)
        outcome = f"{record.status.value} {record.error_code or ''} {record.error_message or ''}".strip()
        if job.kind == "register" and job.taken:
            if record.status is not JobStatus.FAILED or record.error_code != "domain_unavailable":
                problems.append(f"{key}: held by someone else: expected domain_unavailable, got {outcome}")
            if creates or (seen and seen["owner"] != "other"):
                problems.append(f"{domain}: held by someone else but created {creates} time(s) by us")
        elif job.kind == "register":
            if record.status is not JobStatus.SUCCEEDED:
                problems.append(f"{key}: expected succeeded, got {outcome}")
            if creates != 1:
                problems.append(f"{domain}: created {creates} times at the sandbox (expected exactly 1)")
            expires = (record.result or {}).get("expires_at")
            if record.status is JobStatus.SUCCEEDED and (
                not expires or not seen or expires != seen["expires"]
            ):
                problems.append(
                    f"{key}: expires_at {expires!r} read back, sandbox says {seen and seen['expires']!r}"
                )
        else:
            assert job.start_expiry is not None
            target = add_years(job.start_expiry, job.years).isoformat()
            if record.status is not JobStatus.SUCCEEDED:
                problems.append(f"{key}: expected succeeded, got {outcome}")
            if renews != 1:
                problems.append(f"{domain}: renewed {renews} times at the sandbox (expected exactly 1)")
            if not seen or seen["expires"] != target:
                problems.append(
                    f"{domain}: expires {seen and seen['expires']} at the sandbox, expected {target} "
                    f"({job.start_expiry} + {job.years} y)"
                )
            got = (record.result or {}).get("expires_at")
            if record.status is JobStatus.SUCCEEDED and got != target:
                problems.append(f"{key}: result expires_at {got!r}, expected {target}")
    for domain, counts in effects.items():
        named = by_domain.get(domain)
        allowed_creates = 1 if named and named.kind == "register" and not named.taken else 0
        allowed_renews = 1 if named and named.kind == "renew" else 0
        report.duplicate_effects += max(0, counts.get("create", 0) - allowed_creates)
        report.duplicate_effects += max(0, counts.get("renew", 0) - allowed_renews)
        if named is None:
            problems.append(f"{domain}: effects {counts} on a domain no job named")
    latencies.sort()
    report.p50 = _percentile(latencies, 50)
    report.p99 = _percentile(latencies, 99)
