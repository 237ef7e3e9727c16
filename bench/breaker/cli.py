"""``python -m bench.breaker``: options, one scenario per ``--probes`` value, the table or JSON."""

from __future__ import annotations

import argparse
import time
from dataclasses import asdict
from typing import Any

import bench.breaker
from bench.breaker.report import print_report, verdict
from bench.breaker.runner import run_scenario
from bench.breaker.scenario import Scenario
from bench.common import emit_json, machine_notes, redis_for_bench

SUMMARY = (bench.breaker.__doc__ or "").splitlines()[0]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.breaker", description=SUMMARY)
    parser.add_argument("--probes", type=int, nargs="+", default=[1, 2], help="one scenario per value")
    parser.add_argument("--failures", type=int, default=5, help="REGQ_BREAKER_FAILURES")
    parser.add_argument("--reset", type=float, default=3.0, help="REGQ_BREAKER_RESET_SECONDS")
    parser.add_argument("--max-attempts", type=int, default=5, help="REGQ_MAX_ATTEMPTS")
    parser.add_argument("--seconds", type=float, default=24.0, help="how long the workers run")
    parser.add_argument("--jobs", type=int, default=100, help="register jobs in the backlog")
    parser.add_argument("--workers", type=int, default=2, help="celery worker nodes")
    parser.add_argument("--concurrency", type=int, default=2, help="pool processes per node")
    parser.add_argument(
        "--latency-ms", type=int, default=0, help="the sandbox sleeps this long before each 500"
    )
    parser.add_argument(
        "--bypass-demo", action="store_true", help="add a scenario with REGQ_MAX_ATTEMPTS=1, probes 1"
    )
    parser.add_argument("--redis-url", default=None, help="default: 127.0.0.1:6379 if it answers")
    parser.add_argument("--keep", action="store_true", help="keep the temp dirs (logs, SQLite, trace)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON only")
    args = parser.parse_args(argv)
    if min(args.probes) < 1 or args.failures < 1 or args.reset <= 0 or args.seconds <= 0:
        parser.error("probes, failures, reset and seconds must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    quiet = args.json
    started = time.time()
    plan = [(f"probes={p}", p, args.max_attempts) for p in args.probes]
    if args.bypass_demo:
        plan.append(("probes=1, max attempts 1", 1, 1))
    scenarios: list[Scenario] = []
    with redis_for_bench(args.redis_url) as (url, origin):
        notes = machine_notes(url, origin)
        for label, probes, max_attempts in plan:
            scenarios.append(
                run_scenario(
                    url,
                    label=label,
                    probes=probes,
                    failures=args.failures,
                    reset=args.reset,
                    max_attempts=max_attempts,
                    jobs=args.jobs,
                    seconds=args.seconds,
                    workers=args.workers,
                    concurrency=args.concurrency,
                    latency_ms=args.latency_ms,
                    quiet=quiet,
                    keep=args.keep,
                )
            )
        notes["load_avg_after"] = machine_notes()["load_avg_1_5_15"]
    verdicts = {s.label: verdict(s) for s in scenarios}
    data: dict[str, Any] = {
        "benchmark": "breaker",
        "worker_nodes": args.workers,
        "processes_per_node": args.concurrency,
        "scenarios": [asdict(s) for s in scenarios],
        "verdict": verdicts,
        "elapsed_s": round(time.time() - started, 1),
        "machine": notes,
    }
    if args.json:
        emit_json(data)
    else:
        print_report(data, scenarios, args)
    return 0 if all(v["ok"] for v in verdicts.values()) else 1
