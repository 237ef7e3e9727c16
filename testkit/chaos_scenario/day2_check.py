"""The day-2 chaos run's report and its checks: every job final as planned, each effect counted at the
sandbox as many times as the plan allows, the state at the sandbox what the jobs asked, and what the kills
hit.

Effects are counted from ``GET /_sandbox/stats`` minus the counts taken after :func:`prepare` (which
unlocks the lock-on domains itself). The final state is read straight from the stand-ins (their public
API, raw HTTP, faults cleared), never through the gateways under test.

What the harness can prove about the kills: ``in_flight`` (per kill: the jobs whose lease a process of
the killed worker held at the SIGKILL, see :func:`~testkit.chaos_scenario.killer.leases_held`) and
``cut_calls`` (per provider and operation: requests the stand-in received that no worker lived to
record in the ``api_calls`` audit table, which a call writes when it ends: calls a kill cut, before or
after their effect; an effect operation among them is a kill between the effect and its answer).

A transfer or owner change may end parked for an operator, never started twice: when a kill lands between
recording ``sending`` and the start reaching the registrar, the registrar shows nothing and regq will not
start it blind (:mod:`shared.execution.transfer`). That counts as planned (``parked``) only for a job in
flight at a kill whose start the sandbox never counted; any other parked job is a problem.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import requests
import sqlalchemy as sa

from shared.contact import Contact
from shared.gateways.gandi_answers import contact_body
from shared.jobs import FINAL_STATUSES, JobStatus
from shared.store import Store
from shared.store.job_record import JobRecord
from shared.store.schema import ApiCallRow
from testkit.chaos_scenario.day2_plan import Day2Job, Day2Plan, rotld_post
from testkit.chaos_scenario.killer import Kill
from workers.embedded.stack import Stack

PROVIDERS = ("gandi", "rotld")
Counts = dict[str, dict[str, int]]


@dataclass
class Day2Report:
    seed: int
    run_id: str
    jobs: int = 0  # planned jobs (lock jobs resubmitted are extra jobs: ``keys``)
    keys: int = 0  # stored jobs
    submissions: int = 0  # submit() calls
    duplicate_answers: int = 0  # ...answered duplicate=True (the same key)
    raw_duplicates: int = 0  # extra messages for a stored job (tasks.publish.publish_record)
    succeeded: int = 0
    failed: int = 0
    rejected: int = 0
    lost: int = 0
    parked: list[str] = field(default_factory=list)  # keys waiting for an operator: a start a kill cut
    effects: dict[str, int] = field(default_factory=dict)  # effect -> times counted at the sandbox
    extra_effects: int = 0  # beyond what the plan allows (the number that must be 0)
    repeated_writes: int = 0  # idempotent writes (contacts) sent again after a kill: allowed
    kills: list[Kill] = field(default_factory=list)
    cut_calls: Counts = field(default_factory=dict)  # provider -> operation -> calls a kill cut
    redelivered: int = 0  # jobs that needed more than one attempt
    sweep_republishes: int = 0
    attempts_max: int = 0
    elapsed: float = 0.0
    problems: list[str] = field(default_factory=list)

    @property
    def kills_in_flight(self) -> int:
        return sum(1 for k in self.kills if k.in_flight)

    @property
    def jobs_hit(self) -> int:
        return len({key for k in self.kills for key in k.in_flight})

    @property
    def calls_cut(self) -> int:
        return sum(sum(ops.values()) for ops in self.cut_calls.values())

    def _cut(self) -> str:
        ops = [
            f"{p} {o}={n}" for p, found in sorted(self.cut_calls.items()) for o, n in sorted(found.items())
        ]
        return f"{self.calls_cut} ({', '.join(ops)})" if ops else "0"

    def _kills(self) -> str:
        if not self.kills:
            return "0"
        restart = sum(k.restarted_in for k in self.kills) / len(self.kills)
        return f"{len(self.kills)} (a new worker answered after {restart:.1f} s on average)"

    def table(self) -> str:
        rows = [
            ("seed / run", f"{self.seed} / {self.run_id}"),
            ("jobs planned / stored", f"{self.jobs} / {self.keys}"),
            ("submissions (duplicate answers)", f"{self.submissions} ({self.duplicate_answers})"),
            ("raw duplicate messages", str(self.raw_duplicates)),
            (
                "succeeded / failed / rejected / lost",
                f"{self.succeeded} / {self.failed} / {self.rejected} / {self.lost}",
            ),
            ("parked for an operator (start cut by a kill)", ", ".join(self.parked) or "0"),
            ("effects counted", ", ".join(f"{k}={v}" for k, v in sorted(self.effects.items())) or "none"),
            ("effects beyond the plan", str(self.extra_effects)),
            ("idempotent writes repeated", str(self.repeated_writes)),
            ("kills", self._kills()),
            ("kills with a job in flight", f"{self.kills_in_flight} ({self.jobs_hit} jobs hit)"),
            ("kill log", " ".join(f"{k.worker}@{k.at:g}s:{len(k.in_flight)}" for k in self.kills) or "-"),
            ("calls cut by a kill", self._cut()),
            ("jobs redelivered (attempts > 1)", f"{self.redelivered} (max attempts {self.attempts_max})"),
            ("sweep republishes", str(self.sweep_republishes)),
            ("elapsed", f"{self.elapsed:.1f} s"),
            ("problems", str(len(self.problems))),
        ]
        width = max(len(name) for name, _ in rows)
        return "\n".join(f"{name.ljust(width)}  {value}" for name, value in rows)


def effect_counts(stack: Stack) -> Counts:
    """Effects by domain, both providers (domains are unique to a provider)."""
    assert stack.sandbox is not None
    found: Counts = {}
    for provider in PROVIDERS:
        for domain, counts in stack.sandbox.stats(provider)["effects"].items():
            found.setdefault(domain, {}).update(counts)
    return found


def operations_seen(stack: Stack) -> Counts:
    """Requests each stand-in received, by operation (authenticated ones: a challenge is not counted)."""
    assert stack.sandbox is not None
    return {p: dict(stack.sandbox.stats(p)["by_operation"]) for p in PROVIDERS}


def cut_calls(stack: Stack, store: Store, baseline: Counts) -> Counts:
    """Per provider and operation: requests received since ``baseline`` minus the answers the workers
    recorded (rows with an HTTP status other than a 401 challenge; a row without one is a call that
    never left, or one that timed out, which this run's faults do not cause): the calls no worker lived
    to record. Only the non-zero ones. Read it before anything else calls the stand-ins."""
    seen = operations_seen(stack)
    with store.db.session() as session:
        rows = session.execute(
            sa.select(ApiCallRow.provider, ApiCallRow.operation, sa.func.count())
            .where(ApiCallRow.status.is_not(None), ApiCallRow.status != 401)
            .group_by(ApiCallRow.provider, ApiCallRow.operation)
        ).all()
    recorded = {(str(p), str(o)): int(n) for p, o, n in rows}
    cut: Counts = {}
    for provider in PROVIDERS:
        before = baseline.get(provider, {})
        for operation, times in seen[provider].items():
            missing = times - before.get(operation, 0) - recorded.get((provider, operation), 0)
            if missing:
                cut.setdefault(provider, {})[operation] = missing
    return cut


class SandboxState:
    """The state the stand-ins hold now, read through their own API (raw HTTP; faults cleared first)."""

    def __init__(self, stack: Stack) -> None:
        assert stack.sandbox is not None
        self.stack = stack
        self.domains = {d["fqdn"]: d for p in PROVIDERS for d in stack.sandbox.domains(p)}
        self.gandi = stack.env["REGQ_GANDI_API_URL"].rstrip("/")
        self.headers = {"Authorization": f"Bearer {stack.env['REGQ_GANDI_TOKEN']}"}

    def _gandi(self, path: str) -> Any:
        answer = requests.get(f"{self.gandi}/domain/domains/{path}", headers=self.headers, timeout=10)
        answer.raise_for_status()
        return answer.json()

    def locked(self, domain: str) -> bool:
        return "clientTransferProhibited" in self._gandi(domain).get("status", [])

    def gandi_contacts(self, domain: str) -> dict[str, Any]:
        return dict(self._gandi(f"{domain}/contacts"))

    def glue(self, job: Day2Job) -> dict[str, list[str]]:
        hosts = job.payload["hosts"]
        if job.provider == "gandi":
            shown = {
                f"{h['name']}.{job.domain}": sorted(h["ips"]) for h in self._gandi(f"{job.domain}/hosts")
            }
            return {host: shown.get(host, []) for host in hosts}
        found = {}
        for host in hosts:
            data = rotld_post(self.stack, {"command": "nameserver-info", "nameserver": host})["data"]
            found[host] = sorted(data.get("ips", []))
        return found

    def rotld_contact(self, cid: str) -> dict[str, Any]:
        return dict(rotld_post(self.stack, {"command": "contact-info", "cid": cid})["data"])


def parked(record: JobRecord) -> bool:
    """Waiting for a human (:class:`shared.errors.NeedsOperator`): e.g. a transfer or owner change whose
    start may have left (phase ``sending``) while the registrar shows nothing: regq never starts it
    blindly a second time (:mod:`shared.execution.transfer`)."""
    return record.status is JobStatus.WAITING and "needs an operator" in (record.wait_reason or "")


def _parked_by_a_kill(job: Day2Job, record: JobRecord, counts: dict[str, int], hit: set[str]) -> bool:
    """The one legitimate way to end parked: a kill took the job between recording ``sending`` and the
    start reaching the registrar (the job was in flight at a kill, and the registrar counts no start)."""
    return (
        job.kind in ("transfer", "owner_change")
        and record.phase == "sending"
        and record.key in hit
        and not counts.get(job.effect or "", 0)
    )


def _state_problems(job: Day2Job, key: str, state: SandboxState) -> list[str]:
    """What differs at the sandbox from what ``job`` asked."""
    asked, seen = job.payload, state.domains.get(job.domain)
    if job.kind == "transfer":
        if not seen or seen["owner"] != "us":
            return [f"{key}: transferred, but the sandbox shows {seen and seen['owner']!r} as holder"]
    elif job.kind == "nameservers":
        if not seen or seen["nameservers"] != asked["nameservers"]:
            shown = seen and seen["nameservers"]
            return [f"{key}: nameservers {shown} at the sandbox, asked {asked['nameservers']}"]
    elif job.kind in ("lock_on", "lock_off"):
        if state.locked(job.domain) != asked["locked"]:
            return [f"{key}: the sandbox's lock is not {asked['locked']}"]
    elif job.kind == "owner_change":
        if state.gandi_contacts(job.domain).get("owner") != contact_body(Contact(**asked["owner"])):
            return [f"{key}: the owner at the sandbox is not the one asked"]
    elif job.kind == "contacts" and job.provider == "gandi":
        shown = state.gandi_contacts(job.domain)
        for role in ("admin", "tech"):
            if shown.get(role) != contact_body(Contact(**asked[role])):
                return [f"{key}: the {role} contact at the sandbox is not the one asked"]
    elif job.kind == "contacts":
        owner, shown = Contact(**asked["owner"]), state.rotld_contact(job.cid)
        if (shown.get("address1"), shown.get("city")) != (owner.streetaddr, owner.city):
            return [f"{key}: contact {job.cid}'s address at the sandbox is not the one asked"]
    elif job.kind == "glue":
        wanted = {h: sorted(ips) for h, ips in asked["hosts"].items()}
        shown = state.glue(job)
        if shown != wanted:
            return [f"{key}: glue {shown} at the sandbox, asked {wanted}"]
    return []


def effect_problems(job: Day2Job, counts: dict[str, int], report: Day2Report) -> list[str]:
    """The effects counted on ``job``'s domain against what the plan allows."""
    problems = []
    for effect, times in counts.items():
        report.effects[effect] = report.effects.get(effect, 0) + times
        if effect != job.effect and times:
            report.extra_effects += times
            problems.append(f"{job.domain}: {times} unplanned {effect} effect(s) ({job.kind} job)")
    if job.effect is None:
        return problems
    times = counts.get(job.effect, 0)
    if job.at_least and times >= job.count:
        report.repeated_writes += times - job.count
    elif times != job.count:
        report.extra_effects += max(0, times - job.count)
        rule = "at least" if job.at_least else "exactly"
        problems.append(
            f"{job.domain}: {job.effect} counted {times} times at the sandbox ({rule} {job.count})"
        )
    return problems


def check(
    stack: Stack,
    plan: Day2Plan,
    keys: dict[str, list[str]],
    records: dict[str, JobRecord],
    baseline: Counts,
    report: Day2Report,
) -> None:
    """Fill ``report`` and list every broken invariant in ``report.problems``. ``keys``: the job keys of
    each planned domain (several for a resubmitted lock job); ``baseline``: the effects after prepare."""
    assert stack.sandbox is not None
    now = effect_counts(stack)
    stack.sandbox.clear_faults()
    state = SandboxState(stack)
    report.jobs, report.keys = len(plan.jobs), sum(len(k) for k in keys.values())
    hit = {key for kill in report.kills for key in kill.in_flight}
    for job in plan.jobs:
        before = baseline.get(job.domain, {})
        counts = {e: n - before.get(e, 0) for e, n in now.get(job.domain, {}).items()}
        planned = job
        for key in keys.get(job.domain, []) or [job.domain]:
            record = records.get(key)
            if record is not None and parked(record) and _parked_by_a_kill(job, record, counts, hit):
                report.parked.append(key)
                planned = dataclasses.replace(job, count=0)  # nothing started, and nothing twice
                continue
            if record is None or record.status not in FINAL_STATUSES:
                report.lost += 1
                where = "never stored" if record is None else f"{record.status.value} phase={record.phase}"
                report.problems.append(f"{key}: not final ({where})")
                continue
            report.attempts_max = max(report.attempts_max, record.attempts)
            report.redelivered += 1 if record.attempts > 1 else 0
            report.sweep_republishes += record.republishes
            report.succeeded += record.status is JobStatus.SUCCEEDED
            report.failed += record.status is JobStatus.FAILED
            report.rejected += record.status is JobStatus.REJECTED
            if record.status.value != job.expect:
                outcome = f"{record.status.value} {record.error_code or ''} {record.error_message or ''}"
                report.problems.append(f"{key}: expected {job.expect}, got {outcome.strip()}")
            elif job.expect == "succeeded":
                report.problems += _state_problems(job, key, state)
        report.problems += effect_problems(planned, counts, report)
    named = {job.domain for job in plan.jobs}
    for domain, counts in now.items():
        if domain not in named and domain.startswith(f"d2{plan.run_id}-"):
            report.problems.append(f"{domain}: effects {counts} on a domain no job named")
