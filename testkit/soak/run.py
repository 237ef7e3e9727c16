"""A whole soak run: seed, submit at a steady rate while the fault schedule plays, drain, check.

The stack is the caller's (``bench/soak.py``): real ``celery worker`` processes, beat, the sandbox, a
:class:`~testkit.soak.redis_restart.RestartableRedis` as ``REGQ_REDIS_URL`` and broker, the real Postgres.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from shared.jobs import FINAL_STATUSES
from shared.store import Store
from shared.store.jobs import JobRecord
from testkit.chaos_scenario import (
    ChaosConfig,
    ChaosReport,
    check,
    fault_rules,
    killable,
    load_records,
    prepare,
    stack_env,
    wait_all_final,
)
from testkit.chaos_scenario import worker_groups as chaos_groups
from testkit.soak.injector import FaultInjector
from testkit.soak.memory import MemorySampler, Sample, summarize
from testkit.soak.redis_restart import RestartableRedis
from testkit.soak.report import KindFigures, SoakReport
from testkit.soak.schedule import build_schedule
from testkit.soak.workload import Mix, Producer, build_workload
from workers.embedded.stack import Stack, WorkerGroup


@dataclass(frozen=True)
class SoakConfig:
    seed: int = 1729
    minutes: float = 10.0  # submissions and faults last this long...
    drain_seconds: float = 180.0  # ...then every job must be final within this long
    mix: Mix = Mix()
    fault_every: float = 20.0
    first_fault_at: float = 15.0
    phase_seconds: float = 10.0
    redis_down_seconds: float = 2.0
    sample_seconds: float = 10.0
    warmup_seconds: float = 30.0  # of each process, skipped by the memory growth windows
    commit_drop: float = 0.05  # baseline outside phases: share of effects applied, then dropped
    server_error: float = 0.02  # baseline: share of effects answered 500
    gandi_workers: int = 2
    gandi_concurrency: int = 2
    rotld_concurrency: int = 2
    misc_concurrency: int = 2

    @property
    def seconds(self) -> float:
        return self.minutes * 60.0

    def chaos(self) -> ChaosConfig:
        registers, renews, _ = self.mix.counts(self.seconds)
        return ChaosConfig(
            seed=self.seed,
            registers=registers,
            renews=renews,
            commit_drop=self.commit_drop,
            server_error=self.server_error,
            gandi_workers=self.gandi_workers,
            gandi_concurrency=self.gandi_concurrency,
            rotld_concurrency=self.rotld_concurrency,
            misc_concurrency=self.misc_concurrency,
            raw_share=0.2,
        )


def worker_groups(config: SoakConfig) -> tuple[WorkerGroup, ...]:
    """The chaos layout: Gandi and ROTLD workers (the ones killed), one ``lookup,maintenance`` worker."""
    return chaos_groups(config.chaos())


def soak_env() -> dict[str, str]:
    """The chaos stack's fast recovery, with a breaker that a 5xx phase really opens."""
    return {**stack_env(), "REGQ_BREAKER_FAILURES": "8", "REGQ_BREAKER_RESET_SECONDS": "3"}


@dataclass
class SoakRun:
    report: SoakReport
    records: dict[str, JobRecord]
    samples: list[Sample]  # every RSS sample (write_samples: a CSV to look at one pid's series)


def _roots(stack: Stack, redis: RestartableRedis) -> Callable[[], dict[str, int]]:
    def roots() -> dict[str, int]:
        found = {"bench": os.getpid()}
        for name, child in list(stack.children.items()):
            if child.proc is not None and child.proc.poll() is None:
                found[name] = child.proc.pid
        if redis.pid is not None:
            found["redis-server"] = redis.pid
        return found

    return roots


def _figures(records: dict[str, JobRecord], keys: dict[str, str]) -> dict[str, KindFigures]:
    kinds: dict[str, KindFigures] = {}
    for key, kind in keys.items():
        figures = kinds.setdefault(kind, KindFigures())
        figures.submitted += 1
        record = records.get(key)
        if record is None or record.status not in FINAL_STATUSES:
            continue
        figures.final += 1
        figures.statuses[record.status.value] += 1
        if record.finished_at is not None:
            figures.latencies.append((record.finished_at - record.created_at).total_seconds())
    return kinds


def run_soak(
    stack: Stack,
    store: Store,
    redis: RestartableRedis,
    config: SoakConfig,
    say: Callable[[str], None] = print,
) -> SoakRun:
    """Never raises on a broken invariant: read ``report.problems`` (and ``lost``, ``duplicate_effects``)."""
    began = time.monotonic()
    chaos = config.chaos()
    _, _, lookups = config.mix.counts(config.seconds)
    workload = build_workload(chaos, lookups)
    plan = workload.plan
    say(
        f"soak seed={config.seed} run={plan.run_id}: {len(plan.registers)} registers, {len(plan.renews)} "
        f"renews, {lookups} lookups over {config.minutes:g} min ({config.mix.rate:g} jobs/s)"
    )
    prepare(stack, store, plan, chaos)  # seeds the sandbox and inventory, sets the baseline faults
    baseline = {provider: fault_rules(chaos, provider) for provider in ("gandi", "rotld")}
    events = build_schedule(
        config.seed,
        config.seconds,
        [g.name for g in killable(stack.groups)],
        every=config.fault_every,
        first_at=config.first_fault_at,
        phase_seconds=config.phase_seconds,
        redis_down_seconds=config.redis_down_seconds,
    )
    for event in events:
        say(f"  planned: {event.describe()}")
    sampler = MemorySampler(_roots(stack, redis), interval=config.sample_seconds).start()
    injector = FaultInjector(stack, redis, events, baseline, seed=config.seed, say=say).start()
    producer = Producer(stack, store, workload, config.seconds, say=say).start()
    try:
        stats = producer.join(timeout=config.seconds + 300)
    finally:
        producer.stop()
        faults = injector.stop()
    keys = {key: job.kind for key, job in stats.log.keys.items()}
    keys.update(dict.fromkeys(stats.lookup_keys, "lookup"))
    drain_began = time.monotonic()
    last = [0.0]

    def progress(done: int, total: int) -> None:
        if time.monotonic() - last[0] >= 10:
            last[0] = time.monotonic()
            say(f"  drain: {done}/{total} final after {time.monotonic() - drain_began:.0f} s")

    wait_all_final(store, keys, time.monotonic() + config.drain_seconds, progress)
    drain = time.monotonic() - drain_began
    time.sleep(chaos.settle_seconds)  # a late duplicate effect, if any, shows up in the sandbox's stats
    samples = sampler.stop()
    records = load_records(store, keys)
    chaos_report = ChaosReport(config.seed, plan.run_id, kills=[])
    # The chaos check over the registers and renews: effects at the sandbox, outcomes, expiries.
    check(stack, plan, stats.log, records, chaos_report)
    report = SoakReport(config.seed, plan.run_id, config.minutes, chaos_report)
    report.kinds = _figures(records, keys)
    report.refused = stats.refused
    report.retried_submissions = stats.retried
    report.faults = faults
    report.crashes = injector.crashes
    report.sandbox_faults = dict(chaos_report.faults_injected)
    assert stack.sandbox is not None
    report.sandbox_faults["rdap"] = stack.sandbox.stats("rdap")["faults_injected"]
    opens: Counter[str] = Counter(
        t.provider for t in store.breaker_events.history(limit=100_000) if t.to_state == "open"
    )
    report.breaker_opens = dict(opens)
    report.memory = summarize(samples, warmup=config.warmup_seconds)
    report.submit_seconds = stats.submit_seconds
    report.drain_seconds = drain
    lookup_lost = [
        k for k in stats.lookup_keys if k not in records or records[k].status not in FINAL_STATUSES
    ]
    report.problems = [*chaos_report.problems, *injector.errors, *stats.refused]
    report.problems += [
        f"{k}: lost ({records[k].status.value if k in records else 'missing'})" for k in lookup_lost
    ]
    report.problems += [
        f"lookup {k}: {records[k].error_code} {records[k].error_message}"
        for k in _failed(records, stats.lookup_keys)
    ]
    report.notes = {"load_avg_at_end": [round(x, 2) for x in os.getloadavg()], "events_planned": len(events)}
    report.wall_seconds = time.monotonic() - began
    return SoakRun(report, records, samples)


def _failed(records: dict[str, JobRecord], keys: dict[str, str]) -> list[str]:
    """Lookups that finished anything but succeeded (a lookup of a real or free name must answer)."""
    return [
        k for k in keys if k in records and records[k].status.final and records[k].status.value != "succeeded"
    ]
