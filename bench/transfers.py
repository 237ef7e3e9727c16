"""Transfers followed to their end: requests per transfer, the status-read rate, completion to ``succeeded``.

::

    .venv/bin/python -m bench.transfers [--transfers 500] [--delay 45] [--follow 30] [--rate 50]
                                        [--burst 20] [--workers 2] [--concurrency 2] [--json] [--keep]

One stack (embedded sandbox, real Redis with unique key prefixes, SQLite in a temp dir), ``--workers``
``celery worker`` nodes x ``--concurrency`` processes on ``registrar.gandi``. The sandbox's Gandi
stand-in completes every transfer ``--delay`` seconds after its start (``transfer_delay``; then
``pendingTransfer`` for its default 0.5 s more), regq reads a pending one every ``--follow`` seconds
(``REGQ_TRANSFER_FOLLOW_SECONDS``) under the shared Gandi limiter (``REGQ_GANDI_RATE`` = ``--rate``/s,
``REGQ_GANDI_BURST`` = ``--burst``). ``--transfers`` transfer jobs (distinct .com names, a French owner)
are stored and published before the workers start, then every job is waited for (deadline).

Figures, all counted at the sandbox in the same run:

- requests per transfer: every Gandi request / transfers, and by operation (check, start, status reads:
  ``transfer_info``; each status read also reads the domain, ``info``);
- status reads per transfer and their busiest 1 s window (``operation_times``), and the busiest 1 s of all
  Gandi requests, against the limit R + B;
- completion -> succeeded: the job's ``finished_at`` minus the moment the stand-in completed the transfer
  (``GET /_sandbox/domains`` ``transfer.completed_at``). Target: at most one follow-up interval + 10 s.

Exit status 0 when every transfer succeeded, the busiest second of Gandi requests stayed <= R + B and every
completion reached ``succeeded`` within ``--follow`` + 10 s.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from bench.common import (
    FINAL,
    bench_stack,
    busiest_window,
    machine_notes,
    percentile,
    progress,
    redis_for_bench,
    show_figures,
    start_workers,
    wait_until,
    worker_groups,
)
from shared.jobs import parse_job
from shared.store import Store
from shared.store.schema import JobRow
from tasks.publish import submit
from testkit.factories import person

SLACK_SECONDS = 10.0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.transfers", description=__doc__.splitlines()[0])
    parser.add_argument("--transfers", type=int, default=500)
    parser.add_argument("--delay", type=float, default=45.0, help="seconds from start to completion")
    parser.add_argument("--follow", type=float, default=30.0, help="REGQ_TRANSFER_FOLLOW_SECONDS")
    parser.add_argument("--rate", type=float, default=50.0, help="REGQ_GANDI_RATE per second")
    parser.add_argument("--burst", type=int, default=20, help="REGQ_GANDI_BURST")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--redis-url", default=None)
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (logs, SQLite)")
    parser.add_argument("--json", action="store_true", help="print only a JSON document")
    return parser.parse_args(argv)


def _final(store: Store) -> int:
    """Transfer jobs in a final state: one COUNT query (polling each key would load the database)."""
    return sum(
        n for (kind, status), n in store.jobs.counts().items() if kind == "transfer" and status in FINAL
    )


def _finished(store: Store) -> dict[str, tuple[str, float]]:
    """domain -> (status, finished_at as unix time) of every transfer job."""
    query = sa.select(JobRow.domain, JobRow.status, JobRow.finished_at).where(JobRow.kind == "transfer")
    with store.db.session() as session:
        rows = session.execute(query).all()
    return {d: (s, _unix(f)) for d, s, f in rows}


def _unix(at: datetime | None) -> float:
    """A stored time (naive means UTC) as unix time."""
    if at is None:
        return float("nan")
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).timestamp()


def run(args: argparse.Namespace) -> dict[str, Any]:
    quiet = args.json
    limit = args.rate + args.burst
    env = {
        "REGQ_GANDI_RATE": f"{args.rate:g}/s",
        "REGQ_GANDI_BURST": str(args.burst),
        "REGQ_TRANSFER_FOLLOW_SECONDS": f"{args.follow:g}",
        "REGQ_TASK_RATE_LIMIT": "1000/s",  # Celery's own per-node limit out of the way: the bucket decides
    }
    with redis_for_bench(args.redis_url) as (redis_url, origin):
        load_start = round(os.getloadavg()[0], 2)
        with bench_stack(redis_url, env, name="transfers", keep=args.keep) as bs:
            sandbox = bs.stack.sandbox
            assert sandbox is not None
            sandbox.configure("gandi", transfer_delay=args.delay)
            tag = uuid.uuid4().hex[:6]
            names = [f"bench-xfer{tag}-{i}.com" for i in range(args.transfers)]
            progress(f"storing and publishing {len(names)} transfer jobs", quiet)
            for name in names:
                job = parse_job(
                    {"kind": "transfer", "domain": name, "auth_code": f"Code-{tag}", "owner": person()}
                )
                submit(job, store=bs.store, app=bs.runtime.producer)
            before = sandbox.stats("gandi")
            progress(f"starting {args.workers} x {args.concurrency} workers", quiet)
            started = start_workers(bs.stack, worker_groups(args.workers, args.concurrency))
            budget = args.transfers * 8 / args.rate + args.delay + args.follow * 3 + 120
            done = wait_until(lambda: _final(bs.store) >= len(names), budget, 1.0)
            wall = time.time() - started
            stats = sandbox.stats("gandi")
            listing = {d["fqdn"]: d.get("transfer") for d in sandbox.domains("gandi")}
            finished = _finished(bs.store)
    ops = {k: v - before["by_operation"].get(k, 0) for k, v in stats["by_operation"].items()}
    requests = stats["requests"] - before["requests"]
    reads = stats.get("operation_times", {}).get("transfer_info", [])
    lags, missing = [], 0
    for name in names:
        status, at = finished.get(name, ("missing", float("nan")))
        times = listing.get(name)
        if status != "succeeded" or not times:
            missing += 1
            continue
        lags.append(at - times["completed_at"])
    succeeded = sum(1 for s, _ in finished.values() if s == "succeeded")
    busiest_all = busiest_window(stats["request_times"])
    busiest_reads = busiest_window(reads)
    target = args.follow + SLACK_SECONDS
    n = max(args.transfers, 1)
    within = sum(x <= target for x in lags)
    figures: dict[str, Any] = {
        "transfers / succeeded / not final": f"{n} / {succeeded} / {n - _count(finished)}",
        "all final before the deadline": done,
        "completion delay / follow-up interval": f"{args.delay:g} s / {args.follow:g} s",
        "Gandi limit R + B": f"{args.rate:g}/s + {args.burst} = {limit:g}",
        "workers": f"{args.workers} x {args.concurrency}",
        "requests at the sandbox / per transfer": f"{requests} / {requests / n:.2f}",
        "by operation (non-zero)": ", ".join(f"{k} {v}" for k, v in sorted(ops.items()) if v),
        "status reads (transfer_info) per transfer": round(ops.get("transfer_info", 0) / n, 2),
        "busiest 1 s of status reads": busiest_reads,
        "busiest 1 s of all Gandi requests (<= R + B)": busiest_all,
        "status-read mean rate": f"{len(reads) / max(reads[-1] - reads[0], 1e-6):.1f}/s"
        if len(reads) > 1
        else "-",
        "completion -> succeeded p50 / p95 / max (s)": (
            f"{percentile(lags, 50):.1f} / {percentile(lags, 95):.1f} / {max(lags, default=float('nan')):.1f}"
        ),
        f"within follow + {SLACK_SECONDS:g} s = {target:g} s": f"{within} / {len(lags)}",
        "transfers without a completion time": missing,
        "wall time (workers up -> all final)": f"{wall:.1f} s",
        "load average at start -> end": f"{load_start} -> {round(os.getloadavg()[0], 2)}",
        "machine": machine_notes(redis_url, origin),
    }
    ok = done and succeeded == args.transfers and busiest_all <= limit and bool(lags) and max(lags) <= target
    figures["targets met"] = ok
    return figures


def _count(finished: dict[str, tuple[str, float]]) -> int:
    return sum(1 for s, _ in finished.values() if s in FINAL)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    figures = run(args)
    show_figures(figures, args.json, "transfers benchmark")
    return 0 if figures["targets met"] else 1


if __name__ == "__main__":
    sys.exit(main())
