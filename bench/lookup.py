"""Lookups through real workers: cache-hot throughput against bare Celery, upstream requests per cold lookup.

::

    .venv/bin/python -m bench.lookup [--jobs 2000] [--workers 2] [--concurrency 2] [--json]

One run, one stack (embedded sandbox with its RDAP, WHOIS and DNS stand-ins, real Redis, a fresh Postgres
database found as the test suite finds one). Both workloads are queued BEFORE the workers start, so the
figures are what the workers drain, not how fast one producer publishes:

1. bare Celery: ``--jobs`` no-op ``regq.ping`` tasks on the lookup queue (each RPUSHes the time it ran);
2. cache-hot lookups: the caches are warmed in this process (one lookup of ``norway.no`` through the same
   Redis), then ``--jobs`` lookup jobs of that domain are submitted (row, then message) after the pings;
   each is answered from ``domain:<apex>``;
3. the workers start; throughput of each = jobs / (last completion - first completion). Target: lookups
   >= 0.5x bare Celery. The producer's submit rate is shown too (the bulk-submit issue is about it);
4. cold lookups, one at a time: upstream requests each made at the RDAP stand-in (registry, registrar,
   IP holders; the warmed names' nameserver addresses are already cached);
5. the synchronous API lookup: a real ``regq api`` (one uvicorn process, ``testkit.api.running_api``, its
   per-token limiter set out of the way) answers ``--api-requests`` ``GET /v1/lookup/norway.no`` from
   ``--api-clients`` concurrent clients (threads, one keep-alive ``http.client`` connection each: the
   cheapest client the standard library has, so the figure is the server's). Figures: requests / wall
   clock, p50 and p99 latency; every answer must be a complete 200, no job row and no upstream request
   made. Target: >= 1,000/s with 8 clients, p99 under 20 ms.
"""

from __future__ import annotations

import argparse
import http.client
import json
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

import redis
import sqlalchemy as sa
from rich.console import Console

from bench.common import (
    bench_stack,
    emit_json,
    machine_notes,
    percentile,
    progress,
    redis_for_bench,
    start_workers,
    table,
    wait_until,
    worker_groups,
)
from shared.jobs import FINAL_STATUSES, JobStatus, parse_job
from shared.store.schema import JobRow
from tasks.publish import submit
from testkit import services
from testkit.api import running_api

HOT = "norway.no"
COLD = ("google.com", "themarquetry.com", "example.cz")  # thin + hop, thin + hop, thick
FINAL = frozenset(s.value for s in FINAL_STATUSES)
HOT_TARGET = 0.5  # cache-hot lookup jobs / bare Celery no-op tasks, same run
API_RATE_TARGET = 1000.0  # GET /v1/lookup answered from the fresh cache, 8 clients
API_P99_TARGET_MS = 20.0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.lookup", description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--api-requests", type=int, default=5000, help="GET /v1/lookup requests")
    parser.add_argument("--api-clients", type=int, default=8, help="concurrent clients of GET /v1/lookup")
    parser.add_argument("--json", action="store_true", help="print only a JSON document")
    return parser.parse_args(argv)


def api_lookups(url: str, token: str, requests_total: int, clients: int) -> tuple[float, list[float]]:
    """``GET /v1/lookup/<HOT>`` ``requests_total`` times from ``clients`` threads: (requests/s, each
    request's latency in ms). Exits on any answer but a complete 200."""
    parsed = urlsplit(url)
    headers = {"Authorization": f"Bearer {token}", "Connection": "keep-alive"}

    def client(count: int) -> list[float]:
        latencies: list[float] = []
        conn = http.client.HTTPConnection(parsed.hostname or "127.0.0.1", parsed.port, timeout=30)
        try:
            for _ in range(count):
                began = time.perf_counter()
                conn.request("GET", f"/v1/lookup/{HOT}", headers=headers)
                answer = conn.getresponse()
                body = answer.read()
                latencies.append((time.perf_counter() - began) * 1000)
                if answer.status != 200 or json.loads(body)["partial"]:
                    raise SystemExit(f"GET /v1/lookup/{HOT}: {answer.status} {body[:500]!r}")
        finally:
            conn.close()
        return latencies

    shares = [requests_total // clients + (1 if n < requests_total % clients else 0) for n in range(clients)]
    client(20)  # the server's first answers (imports, pools, prepared statements) are not the figure
    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        latencies = [ms for part in pool.map(client, shares) for ms in part]
    return len(latencies) / (time.perf_counter() - started), latencies


def _final_lookups(store: Any) -> int:
    """Lookup jobs in a final state: one COUNT query (polling each key would load the database)."""
    return sum(n for (kind, status), n in store.jobs.counts().items() if kind == "lookup" and status in FINAL)


def _lookup_span(store: Any) -> tuple[float, float]:
    query = sa.select(sa.func.min(JobRow.finished_at), sa.func.max(JobRow.finished_at)).where(
        JobRow.kind == "lookup"
    )
    with store.db.session() as session:
        first, last = session.execute(query).one()
    return first.timestamp(), last.timestamp()


def run(args: argparse.Namespace) -> dict[str, Any]:
    quiet = args.json
    with redis_for_bench() as (redis_url, origin), services.postgres_database() as database_url:
        env = {"REGQ_RDAP_RATE": "200/s", "REGQ_RDAP_BURST": "50", "REGQ_DATABASE_URL": database_url}
        with bench_stack(redis_url, env, name="lookup") as bs:
            producer, store, rt = bs.runtime.producer, bs.store, bs.runtime
            store.upgrade()
            client = redis.Redis.from_url(redis_url)
            sandbox = bs.stack.sandbox
            assert sandbox is not None
            progress("warming the caches", quiet)
            assert not rt.lookups().lookup_domain(HOT).partial

            progress(f"queueing {args.jobs} no-op tasks, then {args.jobs} cache-hot lookups", quiet)
            counter = f"{bs.prefix}:bench:ping:{uuid.uuid4().hex[:6]}"
            for _ in range(args.jobs):
                producer.send_task("regq.ping", kwargs={"counter": counter})
            before = dict(sandbox.stats("rdap")["by_operation"])
            started = time.monotonic()
            tag = uuid.uuid4().hex[:8]  # one key each: a lookup without a key is one job per domain and day
            keys = [
                submit(
                    parse_job({"kind": "lookup", "domain": HOT, "idempotency_key": f"bench-hot-{tag}-{n}"}),
                    store=store,
                    app=producer,
                ).key
                for n in range(args.jobs)
            ]
            submit_rate = args.jobs / (time.monotonic() - started)

            progress(f"starting {args.workers} x {args.concurrency} lookup workers", quiet)
            start_workers(bs.stack, worker_groups(args.workers, args.concurrency, queue="lookup"))
            assert wait_until(lambda: client.llen(counter) >= args.jobs, 600, 0.1)
            assert wait_until(lambda: _final_lookups(store) >= len(keys), 900, 0.2)
            pings = sorted(float(t) for t in client.lrange(counter, 0, -1))
            bare = args.jobs / max(pings[-1] - pings[0], 1e-6)
            first, last = _lookup_span(store)
            hot = args.jobs / max(last - first, 1e-6)
            after = dict(sandbox.stats("rdap")["by_operation"])
            hot_upstream = sum(after.values()) - sum(before.values())
            succeeded = sum(1 for k in keys if store.jobs.require(k).status is JobStatus.SUCCEEDED)

            progress(f"cold lookups: {', '.join(COLD)}, one at a time", quiet)
            cold: dict[str, int] = {}
            for name in COLD:
                before = dict(sandbox.stats("rdap")["by_operation"])
                key = submit(parse_job({"kind": "lookup", "domain": name}), store=store, app=producer).key
                assert wait_until(lambda key=key: store.jobs.require(key).final, 60)  # type: ignore[misc]
                after = dict(sandbox.stats("rdap")["by_operation"])
                cold[name] = sum(after.values()) - sum(before.values())

            progress(f"GET /v1/lookup/{HOT}: {args.api_requests} requests, {args.api_clients} clients", quiet)
            unlimited = {"REGQ_API_RATE": "1000000/s", "REGQ_API_BURST": "1000000"}
            with running_api(bs.stack.env, bs.var_dir, unlimited) as api:
                jobs_before = sum(store.jobs.counts().values())
                before = dict(sandbox.stats("rdap")["by_operation"])
                api_rate, latencies = api_lookups(
                    api.url, api.token("read"), args.api_requests, args.api_clients
                )
                after = dict(sandbox.stats("rdap")["by_operation"])
                api_jobs = sum(store.jobs.counts().values()) - jobs_before
            api_upstream = sum(after.values()) - sum(before.values())
            client.close()
    return {
        "jobs": args.jobs,
        "workers": f"{args.workers} x {args.concurrency}",
        "bare_celery_per_s": round(bare, 1),
        "cache_hot_lookups_per_s": round(hot, 1),
        "ratio": round(hot / bare, 3),
        "submit_per_s": round(submit_rate, 1),
        "hot_succeeded": succeeded,
        "hot_upstream_requests": hot_upstream,
        "cold_upstream_requests": cold,
        "api_clients": args.api_clients,
        "api_lookups_per_s": round(api_rate, 1),
        "api_p50_p99_ms": [round(percentile(latencies, q), 1) for q in (50, 99)],
        "api_jobs_created": api_jobs,
        "api_upstream_requests": api_upstream,
        "machine": machine_notes(redis_url, origin),
    }


def targets_met(figures: dict[str, Any]) -> dict[str, bool]:
    return {
        f"cache_hot_>=_{HOT_TARGET}x_bare": figures["ratio"] >= HOT_TARGET,
        f"api_>=_{API_RATE_TARGET}/s": figures["api_lookups_per_s"] >= API_RATE_TARGET,
        f"api_p99_<_{API_P99_TARGET_MS}ms": figures["api_p50_p99_ms"][1] < API_P99_TARGET_MS,
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    figures = run(args)
    figures["targets_met"] = targets_met(figures)
    if args.json:
        emit_json(figures)
        return 0
    rows = [(k, v) for k, v in figures.items() if k != "machine"]
    Console().print(table("lookup benchmark", ("figure", "value"), rows))
    return 0 if all(figures["targets_met"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
