"""A whole chaos run: plan, prepare, submit under kills, wait for every job to be final, check."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import sqlalchemy as sa

from shared.jobs import FINAL_STATUSES
from shared.store import Store
from shared.store.job_record import JobRecord
from shared.store.schema import JobRow
from testkit.chaos_scenario.config import ChaosConfig
from testkit.chaos_scenario.killer import Killer, killable
from testkit.chaos_scenario.plan import Plan, plan_jobs, prepare
from testkit.chaos_scenario.producers import SubmitLog, submit_all
from testkit.chaos_scenario.report import ChaosReport, check
from workers.embedded.stack import Stack


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
