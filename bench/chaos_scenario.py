"""The chaos scenario shared by ``tests/test_chaos.py`` and ``bench/chaos.py``.

Real ``celery worker`` processes against the sandbox upstreams, while:

* the sandbox applies the effect then drops the connection (``commit_drop``) on a share of the creates
  and renewals, and answers 500 on another share (both providers: Gandi ``create``/``renew``, ROTLD
  ``domain-register``/``domain-renew``);
* every job is submitted ``copies`` times from concurrent producer threads through
  :func:`tasks.publish.submit` (same key: one creates, the others answer ``duplicate=True``), and
  for ``raw_share`` of the jobs ``raw_duplicates`` extra messages are published with
  :func:`tasks.publish.publish_record`, as a producer or broker duplicate would deliver them (the other
  jobs travel as a single message: when a kill takes it, only the sweep brings the job back);
* a killer thread SIGKILLs a whole registrar worker (its process group) at seeded random moments and
  starts a new one; beat and a maintenance worker run as the README documents, so the sweep republishes
  what the dead worker held.

Some register jobs name domains someone else already holds: they must end ``failed`` with
``domain_unavailable``. Renewals start from a seeded expiry and must move it by exactly the requested
years. :func:`run_chaos` drives it all and returns a :class:`ChaosReport`; ``report.problems`` lists
every violated invariant (empty when the run is clean).

Every random choice (names, the sandbox's fault RNG, producer orders, the kill schedule) comes from
``ChaosConfig.seed``: it is printed; pass it back to replay a failure (process timing still varies).
"""

from __future__ import annotations

import dataclasses
import logging
import random
import statistics
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from stdnum.ro import cnp

from shared.execution.dates import add_years
from shared.jobs import FINAL_STATUSES, JobStatus, RegisterJob, RenewJob, parse_job
from shared.store import Store
from shared.store.jobs import JobRecord
from shared.store.schema import JobRow
from tasks.publish import publish_record, submit
from workers.embedded.stack import Stack, WorkerGroup

log = logging.getLogger("regq.chaos")

#: The operations that change state at each provider, and the names the sandbox gives them.
EFFECT_OPERATIONS = {"gandi": ("create", "renew"), "rotld": ("domain-register", "domain-renew")}
PROVIDER_OF_TLD = {"com": "gandi", "net": "gandi", "ro": "rotld"}


@dataclass(frozen=True)
class ChaosConfig:
    """Size, fault rates, kill schedule and worker layout of one chaos run."""

    seed: int = 1729
    registers: int = 200
    renews: int = 60
    taken_share: float = 0.1  # registers of names someone else already holds
    ro_share: float = 0.25  # share of .ro names (ROTLD); the rest .com/.net (Gandi)
    copies: int = 3  # submissions per job through tasks.publish.submit (concurrent producers)
    raw_duplicates: int = 2  # extra raw messages per job (tasks.publish.publish_record)...
    raw_share: float = 0.5  # ...for this share of the jobs; the others have a single message
    commit_drop: float = 0.2  # share of creates/renewals applied, then the connection dropped
    server_error: float = 0.1  # share answered 500 (nothing applied)
    submit_seconds: float = 8.0  # submissions are spread over this long
    kill_interval: tuple[float, float] = (2.0, 5.0)  # seconds between kills (uniform)
    min_kills: int = 3
    deadline_seconds: float = 150.0  # every job final within this long after the last submission
    settle_seconds: float = 2.0  # after the last job is final, before reading the sandbox's effects
    gandi_workers: int = 2
    gandi_concurrency: int = 2
    rotld_workers: int = 1
    rotld_concurrency: int = 2
    misc_concurrency: int = 2


def worker_groups(config: ChaosConfig) -> tuple[WorkerGroup, ...]:
    """Registrar workers (the ones killed) plus one ``lookup,maintenance`` worker, as in the README."""
    groups = [
        WorkerGroup(f"gandi{i + 1}", ("registrar.gandi",), config.gandi_concurrency)
        for i in range(config.gandi_workers)
    ]
    groups += [
        WorkerGroup(f"rotld{i + 1}", ("registrar.rotld",), config.rotld_concurrency)
        for i in range(config.rotld_workers)
    ]
    groups.append(WorkerGroup("misc", ("lookup", "maintenance"), config.misc_concurrency))
    return tuple(groups)


def killable(groups: Iterable[WorkerGroup]) -> list[WorkerGroup]:
    return [g for g in groups if any(q.startswith("registrar.") for q in g.queues)]


def stack_env() -> dict[str, str]:
    """Settings for fast recovery: short leases, a frequent sweep, attempts enough for faults + kills."""
    return {
        "REGQ_LEASE_SECONDS": "4",
        "REGQ_SWEEP_INTERVAL_SECONDS": "2",
        "REGQ_REPUBLISH_AFTER_SECONDS": "10",
        "REGQ_RETRY_BACKOFF_SECONDS": "0.3",
        "REGQ_MAX_ATTEMPTS": "10",
        "REGQ_GANDI_RATE": "200/s",
        "REGQ_GANDI_BURST": "50",
        "REGQ_ROTLD_RATE": "100/s",
        "REGQ_ROTLD_BURST": "50",
        "REGQ_BREAKER_FAILURES": "50",
        "REGQ_BREAKER_RESET_SECONDS": "2",
        "REGQ_GANDI_VISIBILITY_WAIT_SECONDS": "5",
    }


# --- the plan ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PlannedJob:
    kind: str  # register | renew
    domain: str
    provider: str
    payload: dict[str, Any]
    taken: bool = False  # register of a name someone else holds: must fail as unavailable
    raw: bool = False  # also published as raw duplicate messages
    start_expiry: date | None = None  # renew: the seeded expiry the term starts from
    years: int = 1

    @property
    def job(self) -> RegisterJob | RenewJob:
        job = parse_job(self.payload)
        assert isinstance(job, RegisterJob | RenewJob)
        return job


@dataclass(frozen=True)
class Plan:
    run_id: str
    jobs: list[PlannedJob]

    @property
    def registers(self) -> list[PlannedJob]:
        return [j for j in self.jobs if j.kind == "register"]

    @property
    def renews(self) -> list[PlannedJob]:
        return [j for j in self.jobs if j.kind == "renew"]


def _person(country: str, serial: int) -> dict[str, Any]:
    contact: dict[str, Any] = {
        "given": "Ana",
        "family": f"Pop{serial}",
        "email": f"ana.pop{serial}@example.org",
        "phone": "+33.612345678",
        "streetaddr": f"{serial} rue de la Paix",
        "city": "Lyon",
        "zip": "69001",
        "country": country,
    }
    if country == "RO":
        body = f"180010122{serial % 1000:03d}"  # born 1980-01-01 in Cluj, serial number NNN
        contact.update(phone="+40.727636787", city="Cluj", cnp=body + cnp.calc_check_digit(body))
    return contact


def _tld(rng: random.Random, ro_share: float, index: int) -> str:
    return "ro" if rng.random() < ro_share else ("com" if index % 2 == 0 else "net")


def _expiry(rng: random.Random) -> date:
    day = date.today() + timedelta(days=rng.randint(20, 300))
    return day + timedelta(days=1) if (day.month, day.day) == (2, 29) else day


def plan_jobs(config: ChaosConfig, run_id: str | None = None) -> Plan:
    """The jobs of one run, deterministic from the seed (``run_id`` only keeps names unique)."""
    rng = random.Random(config.seed)
    run = run_id or uuid.uuid4().hex[:6]
    jobs: list[PlannedJob] = []
    taken = set(rng.sample(range(config.registers), round(config.registers * config.taken_share)))
    for i in range(config.registers):
        tld = _tld(rng, config.ro_share, i)
        domain = f"chaos{run}-r{i:04d}.{tld}"
        # A few .ro registrants own several names: the registry contact is created once and shared.
        owner = _person("RO", i // 3) if tld == "ro" else _person("FR", i)
        payload = {"kind": "register", "domain": domain, "years": 1 + i % 2, "owner": owner}
        jobs.append(
            PlannedJob("register", domain, PROVIDER_OF_TLD[tld], payload, taken=i in taken, years=1 + i % 2)
        )
    for i in range(config.renews):
        tld = _tld(rng, config.ro_share, i)
        domain = f"chaos{run}-n{i:04d}.{tld}"
        expiry, years = _expiry(rng), 1 + i % 3
        # The producer names the term (the expiry it starts from): every copy has the same key.
        payload = {"kind": "renew", "domain": domain, "years": years, "current_expiry": expiry.isoformat()}
        jobs.append(
            PlannedJob("renew", domain, PROVIDER_OF_TLD[tld], payload, start_expiry=expiry, years=years)
        )
    rng.shuffle(jobs)
    jobs = [dataclasses.replace(j, raw=rng.random() < config.raw_share) for j in jobs]
    return Plan(run, jobs)


def fault_rules(config: ChaosConfig, provider: str) -> list[dict[str, Any]]:
    """commit_drop on ``commit_drop`` of the effect calls, 500 on ``server_error`` of them (overall).

    The sandbox looks at rules in order and the first that fires decides, so the 500 rule's probability
    is conditional on the drop rule not having fired.
    """
    second = config.server_error / (1.0 - config.commit_drop) if config.commit_drop < 1 else 0.0
    rules: list[dict[str, Any]] = []
    for operation in EFFECT_OPERATIONS[provider]:
        rules.append({"operation": operation, "kind": "commit_drop", "probability": config.commit_drop})
        rules.append(
            {"operation": operation, "kind": "status", "status": 500, "probability": min(1.0, second)}
        )
    return rules


def prepare(stack: Stack, store: Store, plan: Plan, config: ChaosConfig) -> None:
    """Seed the sandbox (names held by others, our names to renew) and the inventory; set the faults."""
    assert stack.sandbox is not None
    seeds: dict[str, list[dict[str, Any]]] = {"gandi": [], "rotld": []}
    for job in plan.jobs:
        if job.kind == "register" and job.taken:
            seeds[job.provider].append({"fqdn": job.domain, "owner": "other", "expires": "2031-01-15"})
        elif job.kind == "renew":
            assert job.start_expiry is not None
            seeds[job.provider].append(
                {"fqdn": job.domain, "owner": "us", "expires": job.start_expiry.isoformat()}
            )
            store.inventory.upsert(job.domain, job.provider, job.start_expiry)
    for provider, entries in seeds.items():
        if entries:
            stack.sandbox.seed_domains(provider, entries)
        # Distinct fault streams per provider, both from the one seed.
        stack.sandbox.set_faults(
            provider, fault_rules(config, provider), seed=config.seed * 2 + (provider == "rotld")
        )


# --- producing ---------------------------------------------------------------------------------------
@dataclass
class SubmitLog:
    keys: dict[str, PlannedJob] = field(default_factory=dict)  # key -> planned job
    fresh: Counter[str] = field(default_factory=Counter)  # key -> submissions answered duplicate=False
    copies: Counter[str] = field(default_factory=Counter)  # key -> submissions
    raw_messages: int = 0
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def submit_all(stack: Stack, store: Store, plan: Plan, config: ChaosConfig) -> SubmitLog:
    """``copies`` producer threads submit every job, spread over ``submit_seconds``; ``raw_duplicates``
    of them also publish a raw message for each job planned ``raw``. Producers 0 and 1 go in the same
    order (the same key submitted and delivered concurrently), the others in their own (late duplicates)."""
    out = SubmitLog()

    def producer(number: int) -> None:
        app = stack.producer()
        order = list(plan.jobs)
        random.Random(config.seed + 100 + max(0, number - 1)).shuffle(order)
        pause = config.submit_seconds / max(1, len(order))
        started = time.monotonic()
        try:
            for index, job in enumerate(order):
                try:
                    outcome = submit(job.job, store=store, app=app)
                    record = None
                    if job.raw and number < config.raw_duplicates:
                        record = store.jobs.require(outcome.key)
                        publish_record(app, record)
                except Exception as exc:  # noqa: BLE001 - reported as a problem, never swallowed
                    with out.lock:
                        out.errors.append(f"producer {number}: {job.domain}: {type(exc).__name__}: {exc}")
                    continue
                with out.lock:
                    out.keys[outcome.key] = job
                    out.copies[outcome.key] += 1
                    out.fresh[outcome.key] += 0 if outcome.duplicate else 1
                    out.raw_messages += 1 if record is not None else 0
                ahead = started + pause * (index + 1) - time.monotonic()
                if ahead > 0:
                    time.sleep(ahead)
        finally:
            app.close()

    threads = [
        threading.Thread(target=producer, args=(n,), name=f"producer-{n}") for n in range(config.copies)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


# --- killing -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Kill:
    at: float  # seconds since the killer started
    worker: str
    restarted_in: float  # seconds until the new worker answered a ping


class Killer:
    """SIGKILLs a random registrar worker's process group every ``kill_interval`` and starts a new one."""

    def __init__(self, stack: Stack, groups: list[WorkerGroup], config: ChaosConfig) -> None:
        self.stack, self.groups, self.config = stack, groups, config
        self.rng = random.Random(config.seed + 7)
        self.kills: list[Kill] = []
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="chaos-killer", daemon=True)
        self._started = 0.0

    def start(self) -> Killer:
        self._started = time.monotonic()
        self._thread.start()
        return self

    def _run(self) -> None:
        low, high = self.config.kill_interval
        while not self._stop.wait(self.rng.uniform(low, high)):
            group = self.rng.choice(self.groups)
            at = time.monotonic()
            try:
                self.stack.kill_worker(group.name)
                self.stack.start_worker(group)
                self.stack.wait_for_workers([group.name], timeout=90)
            except Exception as exc:  # noqa: BLE001 - reported as a problem
                self.errors.append(f"kill/restart of {group.name}: {type(exc).__name__}: {exc}")
                return
            self.kills.append(Kill(round(at - self._started, 1), group.name, round(time.monotonic() - at, 1)))
            log.info("killed and restarted %s (%d kills)", group.name, len(self.kills))

    def stop(self) -> list[Kill]:
        self._stop.set()
        self._thread.join(timeout=120)
        return self.kills


# --- waiting and checking ----------------------------------------------------------------------------
def load_records(store: Store, keys: Iterable[str]) -> dict[str, JobRecord]:
    """The stored jobs for ``keys`` (one query per 500 keys)."""
    wanted = list(keys)
    found: dict[str, JobRecord] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        with store.db.session() as session:
            for row in session.scalars(sa.select(JobRow).where(JobRow.key.in_(chunk))):
                found[row.key] = JobRecord.from_row(row)
    return found


def wait_all_final(
    store: Store,
    keys: Iterable[str],
    deadline: float,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, JobRecord]:
    """Poll until every key is final or ``deadline`` (``time.monotonic()``) passes."""
    wanted = list(keys)
    while True:
        records = load_records(store, wanted)
        done = sum(1 for r in records.values() if r.status in FINAL_STATUSES)
        if progress is not None:
            progress(done, len(wanted))
        if done == len(wanted) or time.monotonic() >= deadline:
            return records
        time.sleep(0.5)


def _percentile(values: list[float], q: float) -> float:
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
    for key in log_.keys:
        if log_.fresh[key] != 1:
            problems.append(f"{key}: {log_.fresh[key]} of {log_.copies[key]} submissions were not duplicates")
    latencies: list[float] = []
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
        job = by_domain.get(domain)
        allowed_creates = 1 if job and job.kind == "register" and not job.taken else 0
        allowed_renews = 1 if job and job.kind == "renew" else 0
        report.duplicate_effects += max(0, counts.get("create", 0) - allowed_creates)
        report.duplicate_effects += max(0, counts.get("renew", 0) - allowed_renews)
        if job is None:
            problems.append(f"{domain}: effects {counts} on a domain no job named")
    latencies.sort()
    report.p50 = _percentile(latencies, 50)
    report.p99 = _percentile(latencies, 99)


# --- the whole run -----------------------------------------------------------------------------------
@dataclass
class ChaosRun:
    plan: Plan
    submit_log: SubmitLog
    records: dict[str, JobRecord]
    report: ChaosReport


def run_chaos(
    stack: Stack,
    store: Store,
    config: ChaosConfig,
    say: Callable[[str], None] = print,
    run_id: str | None = None,
) -> ChaosRun:
    """Plan, prepare, submit under kills, wait for every job to be final, check. Never raises on a
    broken invariant: read ``report.problems``."""
    plan = plan_jobs(config, run_id)
    say(
        f"chaos seed={config.seed} run={plan.run_id}: {len(plan.registers)} registers, "
        f"{len(plan.renews)} renews, {config.copies} submissions each, {config.raw_duplicates} raw "
        f"duplicate messages for {sum(j.raw for j in plan.jobs)} of them"
    )
    report = ChaosReport(config.seed, plan.run_id)
    started = time.monotonic()
    prepare(stack, store, plan, config)
    killer = Killer(stack, killable(stack.groups), config).start()
    try:
        submitted = submit_all(stack, store, plan, config)
        say(f"submitted {len(submitted.keys)} keys in {time.monotonic() - started:.1f} s")
        last = [0.0]

        def progress(done: int, total: int) -> None:
            if time.monotonic() - last[0] >= 10:
                last[0] = time.monotonic()
                say(f"  {done}/{total} final after {time.monotonic() - started:.0f} s, "
                    f"{len(killer.kills)} kills")  # fmt: skip

        wait_all_final(store, submitted.keys, time.monotonic() + config.deadline_seconds, progress)
    finally:
        report.kills = killer.stop()
    report.elapsed = time.monotonic() - started
    time.sleep(config.settle_seconds)  # a late duplicate effect, if any, shows up in the stats
    records = load_records(store, submitted.keys)
    check(stack, plan, submitted, records, report)
    report.problems += killer.errors
    if len(report.kills) < config.min_kills:
        report.problems.append(f"only {len(report.kills)} kills (wanted at least {config.min_kills})")
    return ChaosRun(plan, submitted, records, report)
