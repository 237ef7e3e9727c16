"""What ``bench/chaos.py`` and ``bench/chaos_day2.py`` share: one run on fresh services within a time
limit, and its outcome printed.

:func:`run_bounded`: Redis and Postgres found as the test suite finds them (:mod:`testkit.services`), a
fresh database and fresh key prefixes (deleted afterwards), the chaos stack
(:func:`~.run.running_chaos_stack`), and the scenario's ``deadline_seconds`` set from what is left of
the time limit. :func:`report_outcome`: the report's table (or a JSON document), the broken invariants,
and the worker logs kept only when the run failed or ``--var-dir`` was given; its exit status.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, TypeVar

from shared.store import Store
from testkit.chaos_scenario.config import ChaosConfig
from testkit.chaos_scenario.day2_plan import Day2Config
from testkit.chaos_scenario.run import run_on_stack, running_chaos_stack
from testkit.stacks import delete_prefixed
from workers.embedded.stack import Stack

R = TypeVar("R")


C = TypeVar("C", ChaosConfig, Day2Config)


class Report(Protocol):
    @property
    def problems(self) -> list[str]: ...

    def table(self) -> str: ...


def run_bounded(
    config: C,
    layout: ChaosConfig,
    var_dir: Path,
    time_limit: float,
    began: float,
    run: Callable[[Stack, Store, C], R],
    extra_env: dict[str, str] | None = None,
) -> R:
    """``run(stack, store, config)`` on fresh services (see the module); ``began``: ``time.monotonic()``
    when the bench started (start-up counts against ``time_limit``)."""
    from testkit import services  # the same service discovery as the test suite

    with services.redis_service() as redis_url, services.postgres_database() as database_url:
        with running_chaos_stack(redis_url, database_url, var_dir, layout, extra_env) as stack:
            prefix = stack.env["REGQ_REDIS_PREFIX"]
            left = time_limit - (time.monotonic() - began) - config.submit_seconds - 10
            bounded = dataclasses.replace(config, deadline_seconds=max(10.0, left))
            result = run_on_stack(stack, run, bounded)
        delete_prefixed(redis_url, prefix)
    return result


def report_outcome(
    report: Report,
    document: dict[str, Any] | None,
    wall: float,
    time_limit: float,
    failed: bool,
    var_dir: Path,
    keep: bool,
    say: Callable[[str], None],
) -> int:
    """Print ``document`` as JSON when given, else the report's table, the wall time and the problems;
    remove ``var_dir`` unless ``keep`` or the run ``failed`` (then its logs are named). Exit status."""
    if document is not None:
        print(json.dumps(document, indent=2))
    else:
        print(report.table())
        print(f"total wall time {wall:.1f} s (limit {time_limit:g} s)")
        if report.problems:
            print(f"\n{len(report.problems)} problems:")
            for line in report.problems[:50]:
                print(f"  {line}")
    if not keep and not failed:
        shutil.rmtree(var_dir, ignore_errors=True)
    elif failed:
        say(f"worker logs kept in {var_dir / 'logs'}")
    return 1 if failed else 0
