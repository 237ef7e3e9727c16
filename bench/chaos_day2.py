"""The day-2 chaos scenario of ``tests/test_chaos_day2.py`` at a larger size, bounded in time.

::

    .venv/bin/python -m bench.chaos_day2 [--per-kind 12] [--ro-per-kind 8] [--seed 2020] [--time-limit 240]

Real Redis and Postgres found as the test suite finds them (``REGQ_TEST_REDIS_URL`` /
``REGQ_TEST_DATABASE_URL``, else local ones, else throwaway ones); a fresh database and fresh key prefixes
per run, deleted afterwards. Every day-2 job (transfers, nameservers, locks, contacts, glue; one domain
each) is submitted, published again as a raw duplicate and submitted again, while registrar workers are
SIGKILLed mid-job and restarted (:mod:`testkit.chaos_scenario.day2_run`). Prints jobs, submissions and
duplicates, outcomes, the effects counted at the sandbox (and any beyond the plan), kills (and how many
held a job, and which calls they cut), redeliveries and the wall time (``--json``: only a JSON
document). Progress goes to stderr. Exit status 1 when a job was lost, an effect happened more often than
planned, or another invariant broke (listed), else 0.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import progress
from testkit.chaos_scenario.bench import report_outcome, run_bounded
from testkit.chaos_scenario.day2_check import Day2Report
from testkit.chaos_scenario.day2_plan import Day2Config
from testkit.chaos_scenario.day2_run import run_day2


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    defaults = Day2Config()
    parser = argparse.ArgumentParser(prog="python -m bench.chaos_day2", description=__doc__.splitlines()[0])
    parser.add_argument("--per-kind", type=int, default=12, help="Gandi jobs of each kind (6 kinds)")
    parser.add_argument("--ro-per-kind", type=int, default=8, help="ROTLD jobs of each kind (4 kinds)")
    parser.add_argument("--ro-locks", type=int, default=2, help="ROTLD lock jobs (rejected)")
    parser.add_argument("--seed", type=int, default=defaults.seed, help="names, faults, kill schedule")
    parser.add_argument(
        "--time-limit", type=float, default=240.0, help="seconds for the whole run, start-up included"
    )
    parser.add_argument("--latency-ms", type=int, default=defaults.latency_ms)
    parser.add_argument("--jitter-ms", type=int, default=defaults.jitter_ms)
    parser.add_argument("--trickle", type=float, default=defaults.trickle, help="share of effect answers")
    parser.add_argument("--submit-seconds", type=float, default=60.0, help="submissions spread over this")
    parser.add_argument("--kill-every", type=float, nargs=2, default=(6.0, 10.0), metavar=("MIN", "MAX"))
    parser.add_argument("--max-kills", type=int, default=0, help="stop killing after this many (0: never)")
    parser.add_argument("--gandi-workers", type=int, default=defaults.gandi_workers)
    parser.add_argument("--rotld-workers", type=int, default=defaults.rotld_workers)
    parser.add_argument("--var-dir", type=Path, default=None, help="keep logs in VAR_DIR/logs")
    parser.add_argument("--json", action="store_true", help="print only a JSON document")
    return parser.parse_args(argv)


def as_json(report: Day2Report, wall: float, limit: float) -> dict[str, Any]:
    data = dataclasses.asdict(report)
    data["kills"] = len(report.kills)
    data["kill_log"] = [dataclasses.asdict(k) for k in report.kills]
    data.update(
        kills_in_flight=report.kills_in_flight,
        jobs_hit=report.jobs_hit,
        calls_cut=report.calls_cut,
        wall_seconds=round(wall, 1),
        time_limit_seconds=limit,
        elapsed=round(report.elapsed, 2),
    )
    return data


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    began = time.monotonic()
    var_dir = args.var_dir or Path(tempfile.mkdtemp(prefix="regq-chaos-day2-"))
    config = Day2Config(
        seed=args.seed,
        per_kind=args.per_kind,
        ro_per_kind=args.ro_per_kind,
        ro_locks=args.ro_locks,
        latency_ms=args.latency_ms,
        jitter_ms=args.jitter_ms,
        trickle=args.trickle,
        submit_seconds=args.submit_seconds,
        kill_interval=(args.kill_every[0], args.kill_every[1]),
        max_kills=args.max_kills,
        gandi_workers=args.gandi_workers,
        rotld_workers=args.rotld_workers,
    )
    progress(f"day-2 chaos bench: seed {config.seed}, logs in {var_dir / 'logs'}")
    env = {"REGQ_TRANSFER_FOLLOW_SECONDS": "1"}
    run = run_bounded(
        config,
        config.chaos(),
        var_dir,
        args.time_limit,
        began,
        lambda s, db, c: run_day2(s, db, c, say=progress),
        extra_env=env,
    )
    report = run.report
    wall = time.monotonic() - began
    document = as_json(report, wall, args.time_limit) if args.json else None
    failed = bool(report.problems or report.lost or report.extra_effects)
    keep = args.var_dir is not None
    return report_outcome(report, document, wall, args.time_limit, failed, var_dir, keep, progress)


if __name__ == "__main__":
    sys.exit(main())
