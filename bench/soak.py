"""A bounded soak: mixed register/renew/lookup jobs for N minutes while faults happen on a schedule.

::

    .venv/bin/python -m bench.soak [--minutes 10] [--seed 1729] [--rate 2] [--fault-every 20] [--json]

The real embedded stack (sandbox upstreams, 2 Gandi + 1 ROTLD + 1 lookup/maintenance ``celery worker``,
beat) on a fresh database of the real Postgres (found as the test suite finds it) and a throwaway
redis-server that is both ``REGQ_REDIS_URL`` and the broker, so a Redis restart loses the broker's
messages too and the sweep republishes from the database. Faults (``testkit.soak.schedule``): SIGKILLs
of registrar workers (restarted at once), Redis restarts, 5xx and 429 phases on Gandi, ROTLD and RDAP,
on top of a baseline of dropped and 500-answered effects. After the submissions, faults stop and every
job must become final within ``--drain-seconds``.

Prints submitted, final, lost, duplicate effects, p50/p99 latency (``created_at`` -> ``finished_at``),
the faults and what they cost, and the RSS of every process sampled every ``--sample-seconds`` (10):
first/min/last/peak and whether it grows. Progress goes to stderr; ``--json`` prints only a JSON document.
Exit status 1 when a job was lost, an effect applied twice or another invariant broke (all listed), else
0; a growing process is flagged, and fails the run only with ``--strict-memory``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console

from bench.common import machine_notes, progress
from testkit.soak import (
    Mix,
    RestartableRedis,
    SoakConfig,
    SoakReport,
    run_soak,
    soak_env,
    worker_groups,
    write_samples,
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    d = SoakConfig()
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--minutes", type=float, default=d.minutes, help="submissions and faults last this long"
    )
    parser.add_argument("--drain-seconds", type=float, default=d.drain_seconds, help="then all final within")
    parser.add_argument("--seed", type=int, default=d.seed, help="names, faults, kill targets")
    parser.add_argument("--rate", type=float, default=d.mix.rate, help="jobs submitted per second")
    parser.add_argument("--register-share", type=float, default=d.mix.register_share)
    parser.add_argument("--renew-share", type=float, default=d.mix.renew_share, help="the rest: lookups")
    parser.add_argument("--fault-every", type=float, default=d.fault_every, help="seconds between faults")
    parser.add_argument("--phase-seconds", type=float, default=d.phase_seconds, help="5xx / 429 phase")
    parser.add_argument("--redis-down", type=float, default=d.redis_down_seconds, help="seconds per restart")
    parser.add_argument("--sample-seconds", type=float, default=d.sample_seconds, help="RSS sampling period")
    parser.add_argument("--warmup", type=float, default=d.warmup_seconds, help="skipped by growth windows")
    parser.add_argument("--commit-drop", type=float, default=d.commit_drop, help="baseline share of effects")
    parser.add_argument(
        "--server-error", type=float, default=d.server_error, help="baseline share of effects"
    )
    parser.add_argument("--gandi-workers", type=int, default=d.gandi_workers)
    parser.add_argument("--strict-memory", action="store_true", help="a growing process fails the run")
    parser.add_argument("--var-dir", type=Path, default=None, help="keep logs in VAR_DIR/logs")
    parser.add_argument("--json", action="store_true", help="print only a JSON document")
    args = parser.parse_args(argv)
    if args.minutes <= 0 or args.rate <= 0 or args.sample_seconds <= 0 or args.fault_every <= 0:
        parser.error("--minutes, --rate, --sample-seconds and --fault-every must be positive")
    if not 0 <= args.register_share + args.renew_share <= 1:
        parser.error("--register-share + --renew-share must be within [0, 1]")
    return args


def config_from(args: argparse.Namespace) -> SoakConfig:
    return SoakConfig(
        seed=args.seed,
        minutes=args.minutes,
        drain_seconds=args.drain_seconds,
        mix=Mix(rate=args.rate, register_share=args.register_share, renew_share=args.renew_share),
        fault_every=args.fault_every,
        phase_seconds=args.phase_seconds,
        redis_down_seconds=args.redis_down,
        sample_seconds=args.sample_seconds,
        warmup_seconds=args.warmup,
        commit_drop=args.commit_drop,
        server_error=args.server_error,
        gandi_workers=args.gandi_workers,
    )


def exit_status(report: SoakReport, strict_memory: bool = False) -> int:
    """1 when anything was lost, applied twice, refused or otherwise broken (or grows, if strict)."""
    return 1 if report.failed or (strict_memory and report.growing) else 0


def print_report(report: SoakReport, as_json: bool) -> None:
    if as_json:
        print(json.dumps(report.as_json(), indent=2, default=str))
        return
    console = Console(width=None if sys.stdout.isatty() else 160)
    console.print(report.render())
    if report.problems:
        console.print(f"\n{len(report.problems)} problems:")
        for line in report.problems[:50]:
            console.print(f"  {line}", markup=False)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from testkit import services  # the same service discovery as the test suite
    from testkit.stacks import running_stack

    began = time.monotonic()
    config = config_from(args)
    var_dir = args.var_dir or Path(tempfile.mkdtemp(prefix="regq-soak-"))
    say = progress
    say(f"soak: {config.minutes:g} min, seed {config.seed}, logs in {var_dir / 'logs'}")
    with RestartableRedis() as redis_server, services.postgres_database() as database_url:
        from shared.store import Store

        store = Store(database_url)
        store.upgrade()
        try:
            with running_stack(
                redis_server.url,
                database_url,
                var_dir,
                worker_groups(config),
                beat=True,
                extra_env=soak_env(),
            ) as stack:
                run = run_soak(stack, store, redis_server, config, say=say)
        finally:
            store.dispose()
    report = run.report
    csv_path = write_samples(run.samples, var_dir / "rss.csv")
    report.notes.update(machine_notes())
    report.wall_seconds = time.monotonic() - began
    print_report(report, args.json)
    status = exit_status(report, args.strict_memory)
    if args.var_dir is None and status == 0:
        shutil.rmtree(var_dir, ignore_errors=True)
    else:
        progress(f"kept {var_dir / 'logs'} (worker logs) and {csv_path} (every RSS sample)")
    return status


if __name__ == "__main__":
    sys.exit(main())
