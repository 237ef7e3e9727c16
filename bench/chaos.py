"""The chaos scenario of ``tests/test_chaos.py`` at a larger size, bounded in time.

::

    .venv/bin/python -m bench.chaos [--registers 800] [--renews 200] [--seed 1729] [--time-limit 300]

Real Redis and Postgres found as the test suite finds them (``REGQ_TEST_REDIS_URL`` /
``REGQ_TEST_DATABASE_URL``, else local ones, else throwaway ones); a fresh database and fresh key prefixes
per run, deleted afterwards. Prints submitted / succeeded / failed / lost / duplicate effects / p50 and
p99 job latency (created -> finished, from the store), kills done and faults injected (``--json``: only a
JSON document). ``lost`` counts jobs not final when the time limit ran out. Progress goes to stderr.
Exit status 1 when anything was lost or applied twice or another invariant broke (listed), else 0.
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
from testkit.chaos_scenario import ChaosConfig, ChaosReport, run_chaos
from testkit.chaos_scenario.bench import report_outcome, run_bounded


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    defaults = ChaosConfig()
    parser = argparse.ArgumentParser(prog="python -m bench.chaos", description=__doc__.splitlines()[0])
    parser.add_argument("--registers", type=int, default=800)
    parser.add_argument("--renews", type=int, default=200)
    parser.add_argument("--seed", type=int, default=defaults.seed, help="names, faults, kill schedule")
    parser.add_argument(
        "--time-limit", type=float, default=300.0, help="seconds for the whole run, start-up included"
    )
    parser.add_argument("--gandi-workers", type=int, default=2)
    parser.add_argument("--gandi-concurrency", type=int, default=3)
    parser.add_argument("--rotld-concurrency", type=int, default=2)
    parser.add_argument("--submit-seconds", type=float, default=20.0, help="submissions spread over this")
    parser.add_argument("--commit-drop", type=float, default=defaults.commit_drop, help="share of effects")
    parser.add_argument("--server-error", type=float, default=defaults.server_error, help="share of effects")
    parser.add_argument("--kill-every", type=float, nargs=2, default=(4.0, 8.0), metavar=("MIN", "MAX"))
    parser.add_argument("--var-dir", type=Path, default=None, help="keep logs in VAR_DIR/logs")
    parser.add_argument("--json", action="store_true", help="print only a JSON document")
    return parser.parse_args(argv)


def as_json(report: ChaosReport, wall: float, limit: float) -> dict[str, Any]:
    data = dataclasses.asdict(report)
    data["kills"] = len(report.kills)
    data["kill_log"] = [dataclasses.asdict(k) for k in report.kills]
    data.update(wall_seconds=round(wall, 1), time_limit_seconds=limit)
    for name in ("p50", "p99", "elapsed"):
        data[name] = round(data[name], 2)
    return data


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    began = time.monotonic()
    var_dir = args.var_dir or Path(tempfile.mkdtemp(prefix="regq-chaos-"))
    config = ChaosConfig(
        seed=args.seed,
        registers=args.registers,
        renews=args.renews,
        submit_seconds=args.submit_seconds,
        gandi_workers=args.gandi_workers,
        gandi_concurrency=args.gandi_concurrency,
        rotld_concurrency=args.rotld_concurrency,
        kill_interval=(args.kill_every[0], args.kill_every[1]),
        commit_drop=args.commit_drop,
        server_error=args.server_error,
    )
    progress(f"chaos bench: seed {config.seed}, logs in {var_dir / 'logs'}")
    run = run_bounded(
        config, config, var_dir, args.time_limit, began, lambda s, db, c: run_chaos(s, db, c, say=progress)
    )
    report = run.report
    wall = time.monotonic() - began
    document = as_json(report, wall, args.time_limit) if args.json else None
    failed = bool(report.problems or report.lost or report.duplicate_effects)
    keep = args.var_dir is not None
    return report_outcome(report, document, wall, args.time_limit, failed, var_dir, keep, progress)


if __name__ == "__main__":
    sys.exit(main())
