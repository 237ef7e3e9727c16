"""Bulk submit at broker speed: ``regq submit --file`` against plain Celery publishing, in one run.

::

    .venv/bin/python -m bench.submit [--jobs 10000] [--batch-size 500] [--repeat 3] [--subprocess] [--json]

On Postgres (a fresh database found as the test suite finds one: ``testkit.services.postgres_database``)
and a Redis broker (the local one, else an embedded one), each with unique prefixes, deleted afterwards:

1. plain Celery: ``--jobs`` messages of the same shape (``regq.register`` with key, domain, registrar)
   through ``producer.send_task``, i.e. ``apply_async`` by name, one pooled producer per call: what any
   Celery producer does, with no row anywhere;
2. ``regq submit --file`` of a JSONL file of ``--jobs`` distinct register lines (French owner, .com),
   called in-process through the Typer app with ``--json`` (the whole command: reading the file, parsing
   and validating every line, one INSERT per batch, one broker connection per batch, one UPDATE per batch,
   writing the JSON answer). With ``--subprocess`` also the installed ``regq`` as an operator runs it
   (interpreter start-up included);
3. for reference, the old path: ``tasks.publish.submit`` per job (its own transactions, its own publish)
   on ``min(--jobs, 1000)`` jobs.

Each figure is jobs / wall-clock seconds. A round is plain Celery, then ``regq submit --file`` (fresh keys
each round, same process), and one more plain Celery run closes the last round: each round's ratio is
its submit rate over the mean of the plain runs either side of it, so a neighbour's load on a shared
machine hits both sides alike. The verdict is the median ratio over ``--repeat`` rounds. Target: >= 0.5.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import uuid
from typing import Any

import redis

from bench.common import machine_notes, progress, show_figures
from bench.submission import register_lines, submit_file_rate, submit_subprocess_rate, submit_world
from shared.jobs import parse_job
from shared.settings import load_settings
from tasks.producer import producer_app
from tasks.publish import submit


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.submit", description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=3, help="rounds; the best of each is shown")
    parser.add_argument("--subprocess", action="store_true", help="also time the installed regq command")
    parser.add_argument("--json", action="store_true", help="print only a JSON document")
    return parser.parse_args(argv)


def _plain_celery(app: Any, count: int, tag: str) -> float:
    started = time.perf_counter()
    for i in range(count):
        domain = f"plain{tag}-{i}.com"
        app.send_task(
            "regq.register", kwargs={"key": f"register:{domain}", "domain": domain, "registrar": "gandi"}
        )
    return count / (time.perf_counter() - started)


def run(args: argparse.Namespace) -> dict[str, Any]:
    quiet = args.json
    with submit_world("submit") as world:
        prefix = world.prefix
        app = producer_app(load_settings(redis_url=world.redis_url, broker_key_prefix=f"{prefix}:"))
        client = redis.Redis.from_url(world.redis_url)
        plain: list[float] = []
        bulk: list[float] = []
        spawned: list[float] = []
        try:
            from tasks import runtime

            for n in range(args.repeat):
                tag = f"{n}{uuid.uuid4().hex[:4]}"
                progress(f"round {n + 1}: {args.jobs} plain Celery publishes", quiet)
                plain.append(_plain_celery(app, args.jobs, tag))
                path = world.jobs_file(f"jobs-{tag}.jsonl", args.jobs, f"bulk{tag}")
                progress(f"round {n + 1}: regq submit --file of {args.jobs} register lines", quiet)
                bulk.append(submit_file_rate(path, args.jobs, args.batch_size))
                if args.subprocess:
                    runtime.get().close()  # the child opens its own connections
                    path = world.jobs_file(f"jobs-{tag}-sub.jsonl", args.jobs, f"bulk{tag}s")
                    progress(f"round {n + 1}: the regq command in a subprocess", quiet)
                    spawned.append(submit_subprocess_rate(path, args.jobs, world.env, args.batch_size))
            progress(f"closing: {args.jobs} plain Celery publishes", quiet)
            plain.append(_plain_celery(app, args.jobs, "closing"))
            old_count = min(args.jobs, 1000)
            progress(f"the old path: tasks.publish.submit per job, {old_count} jobs", quiet)
            jobs = [parse_job(line) for line in register_lines(old_count, "bulkold")]
            started = time.perf_counter()
            for job in jobs:
                submit(job, store=world.store, app=app)
            per_job = old_count / (time.perf_counter() - started)
            queued = client.llen(f"{prefix}:registrar.gandi")
            runtime.get().close()
        finally:
            app.close()
            client.close()
        redis_url, origin = world.redis_url, world.origin
    expected = args.repeat * args.jobs * (3 if args.subprocess else 2) + args.jobs + old_count
    ratios = sorted(b / ((plain[n] + plain[n + 1]) / 2) for n, b in enumerate(bulk))
    figures: dict[str, Any] = {
        "jobs": args.jobs,
        "batch_size": args.batch_size,
        "rounds": args.repeat,
        "plain_celery_per_s": round(statistics.median(plain), 1),
        "submit_file_per_s": round(statistics.median(bulk), 1),
        "ratio": round(statistics.median(ratios), 3),
        "rounds_ratio": [round(r, 3) for r in ratios],
        "rounds_plain_per_s": [round(x, 1) for x in plain],
        "rounds_submit_file_per_s": [round(x, 1) for x in bulk],
    }
    if spawned:
        figures["submit_file_subprocess_per_s"] = round(max(spawned), 1)
    figures["old_submit_per_job_per_s"] = round(per_job, 1)
    figures["messages_queued"] = f"{queued} of {expected}"
    figures["machine"] = {**machine_notes(redis_url, origin), "database": "postgres"}
    return figures


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    figures = run(args)
    show_figures(figures, args.json, "bulk submit benchmark")
    return 0 if figures["ratio"] >= 0.5 else 1


if __name__ == "__main__":
    sys.exit(main())
