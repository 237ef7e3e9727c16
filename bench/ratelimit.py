"""Fleet-wide token bucket vs Celery's per-worker ``rate_limit``, measured at the sandbox; acquire cost.

::

    .venv/bin/python -m bench.ratelimit [--rate 20] [--burst 10] [--workers 2] [--concurrency 2]
                                        [--drain-seconds 18] [--acquires 5000] [--json]

Two drains in the same run, each in a fresh embedded stack (sandbox, SQLite, real ``celery worker``
processes on the ``registrar.gandi`` queue), each of a backlog of Gandi register jobs published BEFORE the
workers start:

1. shared bucket: ``REGQ_GANDI_RATE=R/s``, ``REGQ_GANDI_BURST=B``, Celery's ``rate_limit`` out of the way
   (``REGQ_TASK_RATE_LIMIT=1000/s``);
2. Celery alone: the shared bucket effectively off (``REGQ_GANDI_RATE=100000/s``), and
   ``REGQ_TASK_RATE_LIMIT`` set so that each worker node is allowed R requests/s. Celery limits task
   STARTS, per worker node (one token bucket, capacity 1, in each node's consumer); with the sandbox's
   ``visibility_delay=0`` a register is exactly 2 requests (POST create, GET the domain), so the task rate
   is R/2 tasks/s per node. Both drains are therefore compared in requests/s at the sandbox.

Figures from the sandbox's ``request_times`` (arrival timestamps): the most requests in any 1-second
sliding window (``workers.demo.busiest_window``) and the mean rate = requests / (last - first arrival).
Targets: busiest window <= R + B and mean >= 0.95 R for the shared bucket.

Acquire cost: a ``RedisLimiter`` on the same Redis, one key, a rate nothing can exhaust (every acquire is
allowed and writes the bucket: the longer path of the script). After a warm-up, ``--acquires`` timed
acquires: p50/p99 latency and ``limiter.round_trips`` per acquire; then the EVALSHA count from
``INFO commandstats`` (server-wide: exact only when nobody else runs scripts meanwhile) and, exact on a
shared Redis, a MONITOR pass counting the commands our connection sent.
"""

from __future__ import annotations

import argparse
import math
import sys
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any

import redis
from rich.console import Console

from bench.common import (
    FINAL,
    bench_stack,
    busiest_window,
    emit_json,
    machine_notes,
    percentile,
    progress,
    redis_for_bench,
    register_jobs,
    start_workers,
    table,
    wait_until,
    worker_groups,
)
from shared.ratelimit import Rate, RedisLimiter

REQUESTS_PER_REGISTER = 2  # POST /domain/domains + GET /domain/domains/{fqdn} (visibility_delay=0)
CELERY_OUT_OF_THE_WAY = "1000/s"
BUCKET_OFF_RATE, BUCKET_OFF_BURST = "100000/s", 100000


@dataclass
class Drain:
    """One drain of a backlog, measured at the sandbox."""

    label: str
    gandi_rate: str
    gandi_burst: int
    task_rate_limit: str
    jobs: int
    statuses: dict[str, int] = field(default_factory=dict)
    finished: bool = False
    requests: int = 0
    by_operation: dict[str, int] = field(default_factory=dict)
    by_status: dict[str, int] = field(default_factory=dict)
    drain_seconds: float = 0.0
    busiest_1s: int = 0
    mean_rate: float = 0.0
    requests_per_job: float = 0.0
    workers_ready_s: float = 0.0


@dataclass
class AcquireCost:
    acquires: int
    p50_us: float
    p90_us: float
    p99_us: float
    max_us: float
    round_trips_per_acquire: float
    evalsha_delta: int
    evalsha_per_acquire: float
    other_script_clients: bool
    monitor_acquires: int
    monitor_commands: dict[str, int]
    monitor_commands_per_acquire: float


def fmt_rate(per_second: float) -> str:
    return f"{per_second:g}/s"


def run_drain(
    redis_url: str,
    *,
    label: str,
    gandi_rate: str,
    gandi_burst: int,
    task_rate_limit: str,
    jobs: int,
    workers: int,
    concurrency: int,
    timeout: float,
    quiet: bool,
    keep: bool,
) -> Drain:
    result = Drain(label, gandi_rate, gandi_burst, task_rate_limit, jobs)
    env = {
        "REGQ_GANDI_RATE": gandi_rate,
        "REGQ_GANDI_BURST": str(gandi_burst),
        "REGQ_TASK_RATE_LIMIT": task_rate_limit,
        "REGQ_GANDI_VISIBILITY_WAIT_SECONDS": "5",
    }
    tag = uuid.uuid4().hex[:6]
    with bench_stack(redis_url, env, name="rl", sandbox_args=("--visibility-delay", "0"), keep=keep) as bench:
        sandbox = bench.stack.sandbox
        assert sandbox is not None
        progress(f"{label}: publishing {jobs} register jobs", quiet)
        keys = bench.producer_submit(register_jobs(jobs, tag))
        progress(f"{label}: starting {workers} worker nodes x {concurrency} processes", quiet)
        t0 = time.time()
        start_workers(bench.stack, worker_groups(workers, concurrency))
        result.workers_ready_s = round(time.time() - t0, 2)

        def done() -> bool:
            counts = bench.store.jobs.counts()
            return sum(n for (_, status), n in counts.items() if status in FINAL) >= len(keys)

        result.finished = wait_until(done, timeout)
        stats = sandbox.stats("gandi")
        result.statuses = {s: n for (_, s), n in sorted(bench.store.jobs.counts().items())}
    times = sorted(stats["request_times"])
    result.requests = len(times)
    result.by_operation = {k: v for k, v in stats["by_operation"].items() if v}
    result.by_status = stats["by_status"]
    if len(times) >= 2:
        result.drain_seconds = round(times[-1] - times[0], 3)
        result.mean_rate = round(len(times) / (times[-1] - times[0]), 2)
    result.busiest_1s = busiest_window(times, 1.0)
    result.requests_per_job = round(len(times) / jobs, 3) if jobs else 0.0
    progress(
        f"{label}: {result.requests} requests in {result.drain_seconds} s, busiest 1 s window "
        f"{result.busiest_1s}, mean {result.mean_rate}/s",
        quiet,
    )
    return result


def _monitor_count(url: str, client: redis.Redis, work: Any) -> dict[str, int]:
    """Run ``work()`` while a MONITOR connection counts the commands ``client``'s connection sends."""
    addr = client.client_info()["addr"]
    stop = f"regq-bench-monitor-stop-{uuid.uuid4().hex}"
    seen: dict[str, int] = {}
    ready = threading.Event()
    failed: list[BaseException] = []

    def watch() -> None:
        try:
            with redis.Redis.from_url(url, protocol=2).monitor() as monitor:
                ready.set()
                for entry in monitor.listen():
                    if f"{entry['client_address']}:{entry['client_port']}" != addr:
                        continue
                    command = str(entry["command"])
                    if stop in command:
                        return
                    name = command.split(" ", 1)[0].upper()
                    seen[name] = seen.get(name, 0) + 1
        except (redis.RedisError, OSError) as exc:  # reported by the caller
            failed.append(exc)
            ready.set()

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    ready.wait(10)
    time.sleep(0.2)  # MONITOR is registered once the server answered OK; give it a moment
    work()
    client.echo(stop)
    thread.join(30)
    if failed:
        raise RuntimeError(f"MONITOR failed: {failed[0]!r}")
    return seen


def _evalsha_calls(client: redis.Redis) -> int:
    stats = client.info("commandstats")
    return int(stats.get("cmdstat_evalsha", {}).get("calls", 0))


def acquire_cost(url: str, acquires: int, warmup: int = 500, monitored: int = 1000) -> AcquireCost:
    client = redis.Redis.from_url(url)
    prefix = f"regq-bench-acq-{uuid.uuid4().hex[:8]}"
    limiter = RedisLimiter(client, prefix)
    rate, burst = Rate(1e9, 1.0), 1_000_000_000
    key = "bench-acquire"
    try:
        for _ in range(warmup):
            limiter.acquire(key, rate, burst)
        # another process running scripts meanwhile would show up in the server-wide EVALSHA count
        before = _evalsha_calls(client)
        limiter.round_trips = 0
        samples: list[float] = []
        clock = time.perf_counter_ns
        for _ in range(acquires):
            start = clock()
            decision = limiter.acquire(key, rate, burst)
            samples.append((clock() - start) / 1000.0)
            if not decision.allowed:
                raise RuntimeError("an acquire was denied: the benchmark bucket should never run dry")
        round_trips = limiter.round_trips
        delta = _evalsha_calls(client) - before
        seen = _monitor_count(
            url, client, lambda: [limiter.acquire(key, rate, burst) for _ in range(monitored)]
        )
    finally:
        client.delete(limiter.redis_key(key))
        client.close()
    commands = sum(seen.values())
    return AcquireCost(
        acquires=acquires,
        p50_us=round(percentile(samples, 50), 1),
        p90_us=round(percentile(samples, 90), 1),
        p99_us=round(percentile(samples, 99), 1),
        max_us=round(max(samples), 1),
        round_trips_per_acquire=round(round_trips / acquires, 4),
        evalsha_delta=delta,
        evalsha_per_acquire=round(delta / acquires, 4),
        other_script_clients=delta != acquires,
        monitor_acquires=monitored,
        monitor_commands=seen,
        monitor_commands_per_acquire=round(commands / monitored, 4),
    )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.ratelimit", description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=20.0, help="R: shared bucket rate, requests/s")
    parser.add_argument("--burst", type=int, default=10, help="B: shared bucket burst")
    parser.add_argument("--workers", type=int, default=2, help="celery worker nodes")
    parser.add_argument("--concurrency", type=int, default=2, help="pool processes per node")
    parser.add_argument(
        "--drain-seconds", type=float, default=18.0, help="size each backlog to drain in about this long"
    )
    parser.add_argument("--acquires", type=int, default=5000)
    parser.add_argument("--skip-drains", action="store_true", help="only the acquire cost")
    parser.add_argument("--redis-url", default=None, help="default: 127.0.0.1:6379 if it answers")
    parser.add_argument("--keep", action="store_true", help="keep the temp dirs (logs, SQLite)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON only")
    args = parser.parse_args(argv)
    if args.rate <= 0 or args.burst < 1 or args.workers < 1 or args.concurrency < 1 or args.acquires < 1:
        parser.error("rate, burst, workers, concurrency and acquires must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    quiet = args.json
    rate, burst, nodes = args.rate, args.burst, args.workers
    per_node_tasks = rate / REQUESTS_PER_REGISTER
    # backlog sizes: shared bucket drains at R (after the burst); Celery alone at nodes x R
    jobs_shared = math.ceil((args.drain_seconds * rate + burst) / REQUESTS_PER_REGISTER)
    jobs_celery = math.ceil(args.drain_seconds * nodes * rate / REQUESTS_PER_REGISTER)
    started = time.time()
    drains: list[Drain] = []
    with redis_for_bench(args.redis_url) as (url, origin):
        notes = machine_notes(url, origin)
        if not args.skip_drains:
            common = dict(workers=nodes, concurrency=args.concurrency, quiet=quiet, keep=args.keep)
            drains.append(
                run_drain(
                    url,
                    label="shared bucket",
                    gandi_rate=f"{rate:g}/s",
                    gandi_burst=burst,
                    task_rate_limit=CELERY_OUT_OF_THE_WAY,
                    jobs=jobs_shared,
                    timeout=max(60.0, 4 * args.drain_seconds),
                    **common,  # type: ignore[arg-type]
                )
            )
            drains.append(
                run_drain(
                    url,
                    label="Celery rate_limit alone",
                    gandi_rate=BUCKET_OFF_RATE,
                    gandi_burst=BUCKET_OFF_BURST,
                    task_rate_limit=f"{per_node_tasks:g}/s",
                    jobs=jobs_celery,
                    timeout=max(60.0, 4 * args.drain_seconds),
                    **common,  # type: ignore[arg-type]
                )
            )
        progress(f"acquire cost: {args.acquires} acquires", quiet)
        cost = acquire_cost(url, args.acquires)
        notes["load_avg_after"] = machine_notes()["load_avg_1_5_15"]
    elapsed = round(time.time() - started, 1)
    verdict = _verdict(drains, cost, rate, burst)
    data: dict[str, Any] = {
        "benchmark": "ratelimit",
        "rate_per_s": rate,
        "burst": burst,
        "worker_nodes": nodes,
        "processes_per_node": args.concurrency,
        "requests_per_register": REQUESTS_PER_REGISTER,
        "celery_task_rate_per_node": f"{per_node_tasks:g}/s",
        "drains": [asdict(d) for d in drains],
        "acquire": asdict(cost),
        "verdict": verdict,
        "elapsed_s": elapsed,
        "machine": notes,
    }
    if args.json:
        emit_json(data)
    else:
        _print(data, drains, cost, rate, burst, nodes, args.concurrency)
    return 0 if all(v["ok"] for v in verdict.values()) else 1


def _verdict(drains: list[Drain], cost: AcquireCost, rate: float, burst: int) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    if drains:
        shared = drains[0]
        out["busiest_window_le_R_plus_B"] = {
            "ok": shared.finished and shared.busiest_1s <= rate + burst,
            "measured": shared.busiest_1s,
            "target": rate + burst,
        }
        out["mean_ge_0.95R"] = {
            "ok": shared.finished and shared.mean_rate >= 0.95 * rate,
            "measured": shared.mean_rate,
            "target": round(0.95 * rate, 2),
        }
    if len(drains) > 1:
        celery, shared = drains[1], drains[0]
        out["celery_alone_mean_over_shared_mean"] = {
            "ok": True,  # informative: what the shared bucket prevents
            "measured": round(celery.mean_rate / shared.mean_rate, 2) if shared.mean_rate else None,
            "target": None,
        }
    out["one_round_trip_per_acquire"] = {
        "ok": cost.round_trips_per_acquire == 1.0 and cost.monitor_commands_per_acquire == 1.0,
        "measured": cost.round_trips_per_acquire,
        "target": 1.0,
    }
    return out


def _print(
    data: dict[str, Any],
    drains: list[Drain],
    cost: AcquireCost,
    rate: float,
    burst: int,
    nodes: int,
    concurrency: int,
) -> None:
    console = Console(width=None if sys.stdout.isatty() else 150)
    if drains:
        columns = ["", *(d.label for d in drains)]
        rows: list[list[Any]] = [
            ["REGQ_GANDI_RATE / BURST", *(f"{d.gandi_rate} / {d.gandi_burst}" for d in drains)],
            ["REGQ_TASK_RATE_LIMIT (per node)", *(d.task_rate_limit for d in drains)],
            ["register jobs (backlog)", *(d.jobs for d in drains)],
            ["jobs final / statuses", *(_statuses(d) for d in drains)],
            ["requests at the sandbox", *(d.requests for d in drains)],
            ["requests per job", *(d.requests_per_job for d in drains)],
            ["requests by operation", *(_ops(d.by_operation) for d in drains)],
            ["answers by HTTP status", *(_ops(d.by_status) for d in drains)],
            ["drain: first -> last arrival (s)", *(d.drain_seconds for d in drains)],
            ["busiest 1 s window (requests)", *(d.busiest_1s for d in drains)],
            ["mean rate (requests/s)", *(d.mean_rate for d in drains)],
            ["mean rate / R", *(round(d.mean_rate / rate, 2) for d in drains)],
        ]
        title = (
            f"Drain at the sandbox: R={rate:g}/s, B={burst}, {nodes} worker nodes x {concurrency} "
            f"processes; targets (shared bucket): busiest <= R+B = {rate + burst:g}, "
            f"mean >= 0.95 R = {0.95 * rate:g}/s"
        )
        console.print(table(title, columns, rows))
    console.print(
        table(
            "Acquire cost (RedisLimiter, one key, always allowed)",
            ["", "value"],
            [
                ["acquires timed", cost.acquires],
                [
                    "p50 / p90 / p99 / max (us)",
                    f"{cost.p50_us} / {cost.p90_us} / {cost.p99_us} / {cost.max_us}",
                ],
                ["limiter.round_trips per acquire", cost.round_trips_per_acquire],
                [
                    "INFO commandstats EVALSHA delta per acquire",
                    f"{cost.evalsha_per_acquire} ({cost.evalsha_delta} calls"
                    + (", other clients ran scripts meanwhile)" if cost.other_script_clients else ")"),
                ],
                [
                    f"MONITOR: our connection's commands per acquire ({cost.monitor_acquires})",
                    f"{cost.monitor_commands_per_acquire} {cost.monitor_commands}",
                ],
            ],
        )
    )
    verdict_rows = [
        [name, "ok" if v["ok"] else "MISSED", v["measured"], "" if v["target"] is None else v["target"]]
        for name, v in data["verdict"].items()
    ]
    console.print(table("Verdict", ["check", "result", "measured", "target"], verdict_rows))
    machine = data["machine"]
    console.print(
        f"machine: {machine['cpus']} CPUs, load {machine['load_avg_1_5_15']} -> {machine['load_avg_after']}, "
        f"Python {machine['python']}, Celery {machine.get('celery')}, Redis {machine.get('redis')}; "
        f"run took {data['elapsed_s']} s"
    )


def _ops(counts: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))


def _statuses(drain: Drain) -> str:
    text = ", ".join(f"{s} {n}" for s, n in drain.statuses.items())
    return text if drain.finished else f"NOT FINISHED: {text}"


if __name__ == "__main__":
    raise SystemExit(main())
