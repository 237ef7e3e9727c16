"""A whole chaos run: plan, prepare, submit under kills, wait for every job to be final, check.

Also what the day-2 run (:mod:`~testkit.chaos_scenario.day2_run`) and the tests and benches of both
share: :func:`running_chaos_stack` (the migrated database and the stack with the chaos worker layout),
the store reads (:func:`load_records`, :func:`wait_all_final`), :func:`progress_every` (a progress
line now and then), :func:`run_on_stack` (a scenario with its own store) and :func:`problems_text`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, TypeVar

import sqlalchemy as sa

from shared.jobs import FINAL_STATUSES
from shared.store import Store
from shared.store.job_record import JobRecord
from shared.store.schema import JobRow
from testkit.chaos_scenario.config import ChaosConfig, stack_env, worker_groups
from testkit.chaos_scenario.killer import Killer, killable
from testkit.chaos_scenario.plan import Plan, plan_jobs, prepare
from testkit.chaos_scenario.producers import SubmitLog, submit_all
from testkit.chaos_scenario.report import ChaosReport, check
from testkit.stacks import running_stack
from workers.embedded.stack import Stack


@contextmanager
def running_chaos_stack(
    redis_url: str,
    database_url: str,
    var_dir: Path,
    layout: ChaosConfig,
    extra_env: dict[str, str] | None = None,
) -> Iterator[Stack]:
    """The database migrated, then a running stack with ``layout``'s workers (:func:`worker_groups`),
    beat, and :func:`stack_env` (plus ``extra_env``)."""
    store = Store(database_url)
    store.upgrade()
    store.dispose()
    env = {**stack_env(), **(extra_env or {})}
    with running_stack(
        redis_url, database_url, var_dir, worker_groups(layout), beat=True, extra_env=env
    ) as stack:
        yield stack


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


def is_final(record: JobRecord) -> bool:
    return record.status in FINAL_STATUSES


def wait_all_final(
    store: Store,
    keys: Iterable[str],
    deadline: float,
    progress: Callable[[int, int], None] | None = None,
    settled: Callable[[JobRecord], bool] = is_final,
) -> dict[str, JobRecord]:
    """Poll until every key is final (or ``settled`` says otherwise) or ``deadline`` (``time.monotonic()``)
    passes."""
    wanted = list(keys)
    while True:
        records = load_records(store, wanted)
        done = sum(1 for r in records.values() if settled(r))
        if progress is not None:
            progress(done, len(wanted))
        if done == len(wanted) or time.monotonic() >= deadline:
            return records
        time.sleep(0.5)


def progress_every(
    say: Callable[[str], None], started: float, killer: Killer, seconds: float = 10.0
) -> Callable[[int, int], None]:
    """A ``progress`` for :func:`wait_all_final`: a line at most every ``seconds`` (jobs final, time since
    ``started``, kills so far)."""
    last = [0.0]

    def progress(done: int, total: int) -> None:
        if time.monotonic() - last[0] >= seconds:
            last[0] = time.monotonic()
            took = time.monotonic() - started
            say(f"  {done}/{total} final after {took:.0f} s, {len(killer.kills)} kills")

    return progress


Config = TypeVar("Config")
Result = TypeVar("Result")


class Checked(Protocol):
    @property
    def problems(self) -> list[str]: ...


def run_on_stack(stack: Stack, scenario: Callable[[Stack, Store, Config], Result], config: Config) -> Result:
    """``scenario(stack, store, config)`` with a store on the stack's database, disposed after."""
    store = Store(stack.settings().database_url)
    try:
        return scenario(stack, store, config)
    finally:
        store.dispose()


def problems_text(report: Checked, seed: int, stack: Stack) -> str:
    """The first 40 broken invariants, with the seed that replays the run and where the logs are."""
    shown = "\n".join(report.problems[:40])
    logs = stack.var_dir / "logs"
    return f"seed {seed}: {len(report.problems)} problems (worker logs in {logs}):\n{shown}"


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
        progress = progress_every(say, started, killer)
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
