"""The nightly renewal scan at inventory scale: wall time, jobs submitted per second, peak memory.

::

    .venv/bin/python -m bench.renewals [--sizes 10000,100000] [--due-share 0.1] [--batch 500]
                                       [--baseline] [--json]

For each inventory size: a fresh Postgres database (found as the test suite finds one), real Redis as
the broker (unique key prefixes, deleted afterwards), ``size`` domains of which ``due-share`` expire
within the 30-day window (spread over it, 80 % .com at Gandi, 20 % .ro at ROTLD; the rest expire 60 to
700 days out). Then, through the same runtime the workers use (``tasks.renewals.run_scan``):

1. scan: every due domain submitted (row + message); wall time and jobs/s; the messages are counted in
   the broker queues;
2. re-scan: the same scan again (a second beat by mistake): every term already queued, nothing sent;
3. traced scan: the jobs and messages removed, the scan again under ``tracemalloc``: the peak of
   Python allocations while it runs (the figure that must stay flat between sizes: one page in memory);
4. with ``--baseline``: the first version's loop (one ``tasks.publish.submit`` per domain: its own
   transactions and publish) over the same due domains, for comparison.

Target: the 10,000 due domains of the 100,000 inventory submitted within 30 s on a 2-core machine, and
peak memory flat between the two sizes.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
import tracemalloc
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import redis
import sqlalchemy as sa
from rich.console import Console

from bench.common import delete_prefixed, emit_json, machine_notes, progress, redis_for_bench, table
from shared import defaults
from shared.jobs import RenewJob
from shared.renewal_scan import FINISHED
from shared.settings import load_settings
from shared.store.schema import DomainRow, JobRow, utcnow
from tasks.publish import submit
from tasks.renewals import run_scan
from tasks.runtime import Runtime
from testkit.services import postgres_database

QUEUES = ("registrar.gandi", "registrar.rotld")
SEED_BATCH = 10_000


def seed_inventory(rt: Runtime, size: int, due: int) -> None:
    """``size`` domains, the first ``due`` expiring within the window, in INSERTs of SEED_BATCH rows."""
    today, now = utcnow().date(), utcnow()
    window = rt.settings.renew_window_days
    for start in range(0, size, SEED_BATCH):
        rows = []
        for n in range(start, min(size, start + SEED_BATCH)):
            ro = n % 5 == 4
            days = 1 + n % (window - 1) if n < due else 60 + n % 640
            rows.append(
                dict(
                    domain=f"bench-renew-{n}.{'ro' if ro else 'com'}",
                    registrar="rotld" if ro else "gandi",
                    expires_at=today + timedelta(days=days),
                    auto_renew=True,
                    status="active",
                    created_at=now,
                    updated_at=now,
                )
            )
        with rt.store.db.session() as session:
            session.execute(sa.insert(DomainRow), rows)
    with rt.store.db.engine.connect() as conn:
        conn.execute(sa.text("ANALYZE domains"))
        conn.commit()


def queued(rt: Runtime) -> int:
    client = redis.Redis.from_url(rt.settings.effective_redis_url)
    try:
        return sum(int(client.llen(f"{rt.settings.broker_key_prefix}{q}")) for q in QUEUES)
    finally:
        client.close()


def forget_jobs(rt: Runtime, prefix: str) -> None:
    """Remove the scan's jobs and messages, so the next scan submits every due domain again."""
    with rt.store.db.session() as session:
        session.execute(sa.delete(JobRow))
    client = redis.Redis.from_url(rt.settings.effective_redis_url)
    try:
        client.delete(*(f"{prefix}:{q}" for q in QUEUES))
    finally:
        client.close()


def timed_scan(rt: Runtime, batch: int) -> dict[str, Any]:
    started = time.perf_counter()
    result = run_scan(rt, trigger="bench", batch_size=batch)
    wall = time.perf_counter() - started
    assert result.status == FINISHED, result.status
    c = result.counts
    return {
        "wall_s": round(wall, 2),
        "scanned": c.scanned,
        "submitted": c.submitted,
        "already_queued": c.already_queued,
        "per_s": round((c.submitted or c.scanned) / wall),
    }


def traced_scan(rt: Runtime, batch: int) -> dict[str, Any]:
    tracemalloc.start()
    try:
        result = run_scan(rt, trigger="bench", batch_size=batch)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return {"submitted": result.counts.submitted, "peak_mib": round(peak / 2**20, 1)}


def baseline_loop(rt: Runtime, batch: int) -> dict[str, Any]:
    """The first version of the scan: one ``submit`` (own transactions, own publish) per due domain."""
    horizon = utcnow().date() + timedelta(days=rt.settings.renew_window_days)
    started, submitted = time.perf_counter(), 0
    for page in rt.store.inventory.expiring_pages(horizon, batch):
        for held in page:
            job = RenewJob.model_validate(
                {"domain": held.domain, "years": 1, "current_expiry": held.expires_at}
            )
            submitted += 0 if submit(job, store=rt.store, app=rt.producer).duplicate else 1
    wall = time.perf_counter() - started
    return {"wall_s": round(wall, 2), "submitted": submitted, "per_s": round(submitted / wall)}


@contextmanager
def bench_runtime(redis_url: str, database_url: str) -> Iterator[tuple[Runtime, str]]:
    prefix = f"regq-bench-renewals-{uuid.uuid4().hex[:8]}"
    settings = load_settings(
        redis_url=redis_url, database_url=database_url, redis_prefix=prefix, broker_key_prefix=f"{prefix}:"
    )
    rt = Runtime(settings)
    try:
        rt.store.upgrade()
        yield rt, prefix
    finally:
        rt.close()
        delete_prefixed(redis_url, prefix)


def run_size(
    redis_url: str, size: int, share: float, batch: int, baseline: bool, quiet: bool
) -> dict[str, Any]:
    due = int(size * share)
    with postgres_database() as url, bench_runtime(redis_url, url) as (rt, prefix):
        progress(f"{size}: seeding {size} domains ({due} due)", quiet)
        seed_inventory(rt, size, due)
        progress(f"{size}: scan", quiet)
        first = timed_scan(rt, batch)
        messages = queued(rt)
        assert first["submitted"] == due == messages, (first, due, messages)
        progress(f"{size}: re-scan", quiet)
        again = timed_scan(rt, batch)
        assert again["submitted"] == 0 and again["already_queued"] == due and queued(rt) == due
        forget_jobs(rt, prefix)
        progress(f"{size}: traced scan", quiet)
        traced = traced_scan(rt, batch)
        assert traced["submitted"] == due
        row: dict[str, Any] = {
            "domains": size,
            "due": due,
            "scan": first,
            "messages": messages,
            "rescan": again,
            "traced": traced,
            "maxrss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        }
        if baseline:
            forget_jobs(rt, prefix)
            progress(f"{size}: baseline (one submit per domain)", quiet)
            row["baseline"] = baseline_loop(rt, batch)
        return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.renewals", description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000", help="inventory sizes, comma-separated")
    parser.add_argument("--due-share", type=float, default=0.1, help="share of each inventory that is due")
    parser.add_argument("--batch", type=int, default=defaults.RENEWAL_SCAN_BATCH, help="keyset page size")
    parser.add_argument("--baseline", action="store_true", help="also time one submit() per due domain")
    parser.add_argument("--redis-url", default=None)
    parser.add_argument("--json", action="store_true", help="figures as JSON on stdout")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    with redis_for_bench(args.redis_url) as (redis_url, origin):
        rows = [run_size(redis_url, s, args.due_share, args.batch, args.baseline, args.json) for s in sizes]
        notes = machine_notes(redis_url, origin)
    if args.json:
        emit_json({"machine": notes, "batch": args.batch, "runs": rows})
        return 0
    columns = ["domains", "due", "scan", "jobs/s", "re-scan", "peak (tracemalloc)", "max RSS"]
    if args.baseline:
        columns += ["one submit per domain", "jobs/s"]
    lines = []
    for r in rows:
        line = [
            r["domains"],
            r["due"],
            f"{r['scan']['wall_s']} s",
            r["scan"]["per_s"],
            f"{r['rescan']['wall_s']} s",
            f"{r['traced']['peak_mib']} MiB",
            f"{r['maxrss_mib']} MiB",
        ]
        if args.baseline:
            line += [f"{r['baseline']['wall_s']} s", r["baseline"]["per_s"]]
        lines.append(line)
    console = Console() if sys.stdout.isatty() else Console(width=160)  # a file or pipe: no wrapping
    console.print(table(f"renewal scan, Postgres, batch {args.batch}", columns, lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
