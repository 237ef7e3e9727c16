"""A whole day-2 chaos run: plan, prepare, submit every job twice under kills, wait until every job is
final (or parked for an operator, :func:`~testkit.chaos_scenario.day2_check.parked`), check the effects
counted at the sandbox.

Submitting (in the calling thread, spread over ``submit_seconds``): each job goes through
:func:`tasks.publish.submit`, and right away its stored record is published once more as a raw message
(:func:`tasks.publish.publish_record`: a producer or broker duplicate, delivered concurrently with the
first). Once every job is in, each is submitted again, in another order: a keyed job (transfer,
nameservers, contacts, glue, owner change) must answer ``duplicate=True``; a lock job (a fresh key per
submission, by design) becomes a second job asking the same state, which must change nothing. Meanwhile
the killer SIGKILLs registrar workers, one holding a running job's lease when there is one (noting the
jobs it held), and starts new ones without waiting for the last one to be up; beat and the maintenance
worker sweep what the dead held.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from shared.jobs import FINAL_STATUSES, parse_job
from shared.store import Store
from shared.store.job_record import JobRecord
from tasks.publish import publish_record, submit
from testkit.chaos_scenario.day2_check import (
    Day2Report,
    check,
    cut_calls,
    effect_counts,
    operations_seen,
    parked,
)
from testkit.chaos_scenario.day2_plan import Day2Config, Day2Job, Day2Plan, plan_day2, prepare
from testkit.chaos_scenario.killer import Killer, busy_first, killable, leases_held
from testkit.chaos_scenario.run import load_records, progress_every, wait_all_final
from workers.embedded.stack import Stack


@dataclass
class Day2Submissions:
    keys: dict[str, list[str]] = field(default_factory=dict)  # domain -> its job keys
    submissions: int = 0
    duplicate_answers: int = 0
    raw_duplicates: int = 0
    errors: list[str] = field(default_factory=list)

    def all_keys(self) -> list[str]:
        return [key for keys in self.keys.values() for key in keys]


def submit_twice(stack: Stack, store: Store, plan: Day2Plan, config: Day2Config) -> Day2Submissions:
    """Every job submitted and published a second time at once, then submitted again (see the module)."""
    out = Day2Submissions()
    app = stack.producer()
    pause = config.submit_seconds / max(1, 2 * len(plan.jobs))
    second = list(plan.jobs)
    random.Random(config.seed + 3).shuffle(second)
    try:
        for number, job in enumerate([*plan.jobs, *second]):
            again = number >= len(plan.jobs)
            try:
                outcome = submit(parse_job(job.payload), store=store, app=app)
                out.submissions += 1
                keys = out.keys.setdefault(job.domain, [])
                if outcome.key not in keys:
                    keys.append(outcome.key)
                if outcome.duplicate:
                    out.duplicate_answers += 1
                elif again and job.job_kind != "lock":
                    out.errors.append(f"{outcome.key}: submitted again, not answered as a duplicate")
                if not again:
                    publish_record(app, store.jobs.require(outcome.key))
                    out.raw_duplicates += 1
            except Exception as exc:  # noqa: BLE001 - reported as a problem, never swallowed
                out.errors.append(f"{job.domain}: {type(exc).__name__}: {exc}")
            time.sleep(pause)
    finally:
        app.close()
    return out


def settled(record: JobRecord) -> bool:
    """Final, or parked for an operator (:func:`~.day2_check.parked`: it would wait for a human)."""
    return record.status in FINAL_STATUSES or parked(record)


@dataclass
class Day2Run:
    plan: Day2Plan
    submitted: Day2Submissions
    records: dict[str, JobRecord]
    report: Day2Report


def run_day2(
    stack: Stack,
    store: Store,
    config: Day2Config,
    say: Callable[[str], None] = print,
    run_id: str | None = None,
) -> Day2Run:
    """Plan, prepare, submit under kills, wait, check. Never raises on a broken invariant: read
    ``report.problems``."""
    plan = plan_day2(config, run_id)
    kinds = sorted({f"{j.provider}:{j.kind}" for j in plan.jobs})
    say(f"day-2 chaos seed={config.seed} run={plan.run_id}: {len(plan.jobs)} jobs ({', '.join(kinds)})")
    report = Day2Report(config.seed, plan.run_id)
    started = time.monotonic()
    plan = prepare(stack, store, plan, config)
    baseline, seen_before = effect_counts(stack), operations_seen(stack)
    killer = Killer(
        stack,
        killable(stack.groups),
        config.chaos(),
        before_kill=lambda group: leases_held(stack, store, group),
        pick=busy_first(stack, store),
        overlap=True,
    ).start()
    try:
        submitted = submit_twice(stack, store, plan, config)
        say(f"submitted {submitted.submissions} times in {time.monotonic() - started:.1f} s")
        deadline = time.monotonic() + config.deadline_seconds
        progress = progress_every(say, started, killer)
        wait_all_final(store, submitted.all_keys(), deadline, progress, settled)
    finally:
        report.kills = killer.stop()
    report.elapsed = time.monotonic() - started
    time.sleep(config.settle_seconds)  # a late second effect, if any, shows up in the stats
    report.cut_calls = cut_calls(stack, store, seen_before)
    records = load_records(store, submitted.all_keys())
    report.submissions, report.duplicate_answers = submitted.submissions, submitted.duplicate_answers
    report.raw_duplicates = submitted.raw_duplicates
    check(stack, plan, submitted.keys, records, baseline, report)
    report.problems += submitted.errors + killer.errors
    if len(report.kills) < config.min_kills:
        report.problems.append(f"only {len(report.kills)} kills (wanted at least {config.min_kills})")
    return Day2Run(plan, submitted, records, report)


__all__ = ["Day2Job", "Day2Run", "Day2Submissions", "run_day2", "submit_twice"]
