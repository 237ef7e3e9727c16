"""Submit throughput through the HTTP API against ``regq submit --file``, in one run.

::

    .venv/bin/python -m bench.api [--jobs 2000] [--clients 4] [--batch-lines 2000] [--repeat 2] [--json]

On Postgres (a fresh database, found as the test suite finds one: ``testkit.services.postgres_database``)
and a Redis broker (the local one, else an embedded one), with unique prefixes deleted afterwards, and a
real ``regq api`` process (uvicorn, one process, started by ``testkit.api.running_api``, its per-token
limiter set out of the way). Each round submits ``--jobs`` distinct register lines (French owner, .com)
four ways, fresh keys each time:

1. ``regq submit --file`` in-process through the Typer app (reading, validating, batched INSERT and
   publish, as ``bench.submit`` measures it);
2. ``regq submit --file`` as an operator runs it: the installed command in a subprocess (interpreter
   start-up and imports included);
3. ``POST /v1/jobs:batch``: NDJSON bodies of ``--batch-lines`` lines, one after the other, one client;
4. ``POST /v1/jobs``: one job per request, ``--clients`` concurrent clients (threads, a keep-alive
   session each).

Each figure is jobs / wall-clock seconds; each ratio is the API's rate over the in-process ``submit
--file`` rate of the same round (so a neighbour's load hits both alike); the verdict is the median over
``--repeat`` rounds. Every job of every round must end up as a row (checked at the end). Targets: the batch
endpoint at >= 0.5x ``regq submit --file``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests

from bench.common import machine_notes, progress, show_figures
from bench.submission import register_lines, submit_file_rate, submit_subprocess_rate, submit_world
from testkit.api import Api, running_api

BATCH_TARGET = 0.5


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.api", description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=4, help="concurrent clients of POST /v1/jobs")
    parser.add_argument("--batch-lines", type=int, default=2000, help="jobs per POST /v1/jobs:batch")
    parser.add_argument("--repeat", type=int, default=2, help="rounds; medians are shown")
    parser.add_argument("--json", action="store_true", help="print only a JSON document")
    return parser.parse_args(argv)


def _batch(api: Api, token: str, lines: list[str], per_request: int) -> float:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/x-ndjson"}
    accepted = 0
    with requests.Session() as session:
        started = time.perf_counter()
        for start in range(0, len(lines), per_request):
            body = "\n".join(lines[start : start + per_request]).encode()
            answer = session.post(f"{api.url}/v1/jobs:batch", data=body, headers=headers, timeout=600)
            if answer.status_code != 200:
                raise SystemExit(f"POST /v1/jobs:batch: {answer.status_code} {answer.text[:2000]}")
            accepted += answer.json()["accepted"]
        elapsed = time.perf_counter() - started
    if accepted != len(lines):
        raise SystemExit(f"POST /v1/jobs:batch accepted {accepted} of {len(lines)}")
    return len(lines) / elapsed


def _singles(api: Api, token: str, lines: list[str], clients: int) -> float:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def client(part: list[str]) -> int:
        created = 0
        with requests.Session() as session:
            for line in part:
                answer = session.post(f"{api.url}/v1/jobs", data=line.encode(), headers=headers, timeout=60)
                if answer.status_code != 201:
                    raise SystemExit(f"POST /v1/jobs: {answer.status_code} {answer.text[:2000]}")
                created += 1
        return created

    parts = [lines[n::clients] for n in range(clients)]
    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        created = sum(pool.map(client, parts))
    elapsed = time.perf_counter() - started
    if created != len(lines):
        raise SystemExit(f"POST /v1/jobs created {created} of {len(lines)}")
    return len(lines) / elapsed


def run(args: argparse.Namespace) -> dict[str, Any]:
    quiet = args.json
    rates: dict[str, list[float]] = {"file": [], "file_subprocess": [], "batch": [], "single": []}
    with submit_world("api") as world:
        api_env = {**os.environ, "REGQ_API_RATE": "1000000/s", "REGQ_API_BURST": "1000000"}
        with running_api(api_env, world.work) as api:
            from tasks import runtime

            token = api.token("submit,read")
            for n in range(args.repeat):
                tag = f"{n}{uuid.uuid4().hex[:4]}"
                path = world.jobs_file(f"file-{tag}.jsonl", args.jobs, f"apif{tag}")
                progress(f"round {n + 1}: regq submit --file of {args.jobs} lines (in-process)", quiet)
                rates["file"].append(submit_file_rate(path, args.jobs))
                runtime.get().close()  # the child opens its own connections
                path = world.jobs_file(f"sub-{tag}.jsonl", args.jobs, f"apis{tag}")
                progress(f"round {n + 1}: regq submit --file in a subprocess", quiet)
                rates["file_subprocess"].append(submit_subprocess_rate(path, args.jobs, world.env))
                progress(f"round {n + 1}: POST /v1/jobs:batch, {args.batch_lines} lines a request", quiet)
                rates["batch"].append(
                    _batch(api, token, register_lines(args.jobs, f"apib{tag}"), args.batch_lines)
                )
                progress(f"round {n + 1}: POST /v1/jobs, {args.clients} concurrent clients", quiet)
                rates["single"].append(
                    _singles(api, token, register_lines(args.jobs, f"apip{tag}"), args.clients)
                )
            runtime.get().close()
        rows = sum(world.store.jobs.counts().values())
        redis_url, origin = world.redis_url, world.origin
    expected = args.repeat * args.jobs * 4
    if rows != expected:
        raise SystemExit(f"expected {expected} job rows, found {rows}")
    ratios = {
        name: sorted(rates[name][n] / rates["file"][n] for n in range(args.repeat))
        for name in ("file_subprocess", "batch", "single")
    }
    figures: dict[str, Any] = {
        "jobs": args.jobs,
        "rounds": args.repeat,
        "clients": args.clients,
        "batch_lines": args.batch_lines,
        "submit_file_per_s": round(statistics.median(rates["file"]), 1),
        "submit_file_subprocess_per_s": round(statistics.median(rates["file_subprocess"]), 1),
        "api_batch_per_s": round(statistics.median(rates["batch"]), 1),
        "api_single_per_s": round(statistics.median(rates["single"]), 1),
        "ratio_batch_vs_file": round(statistics.median(ratios["batch"]), 3),
        "ratio_single_vs_file": round(statistics.median(ratios["single"]), 3),
        "ratio_subprocess_vs_file": round(statistics.median(ratios["file_subprocess"]), 3),
        "rounds_per_s": {name: [round(x, 1) for x in values] for name, values in rates.items()},
        "job_rows": f"{rows} of {expected}",
        "machine": {**machine_notes(redis_url, origin), "database": "postgres"},
    }
    return figures


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    figures = run(args)
    show_figures(figures, args.json, "submit through the API vs regq submit --file")
    return 0 if figures["ratio_batch_vs_file"] >= BATCH_TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
