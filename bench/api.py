"""Submit throughput through the HTTP API: single ``POST /v1/jobs`` against a minimal app with the same
guarantee, and the batch endpoint against ``regq submit --file``, in one run.

::

    .venv/bin/python -m bench.api [--rounds 5] [--clients 4,16] [--single-jobs 1000] [--jobs 2000]
                                  [--batch-lines 2000] [--profile PATH] [--json]

On Postgres (a fresh database, found as the test suite finds one: ``testkit.services.postgres_database``)
and a Redis broker (the local one, else an embedded one), with unique prefixes deleted afterwards, two
servers under the same uvicorn settings (one process each): a real ``regq api`` (started by
``testkit.api.running_api``, its per-token limiter set out of the way) and ``bench.minimal_app`` (one
committed ``INSERT ... ON CONFLICT``, one publish of the same Celery message, 201: the least an app can do
for "a 201 means the row is committed and the message is in the broker"). Each round, fresh keys:

1. ``regq submit --file`` of ``--jobs`` lines in-process through the Typer app (as ``bench.submit``);
2. the installed ``regq submit --file`` in a subprocess (interpreter start-up and imports included);
3. ``POST /v1/jobs:batch``: NDJSON bodies of ``--batch-lines`` lines, one after the other, one client;
4. for each ``--clients`` count: ``POST /v1/jobs`` of ``--single-jobs`` jobs, one job a request, that many
   concurrent clients (threads, a keep-alive session each), to regq and to the minimal app one after
   the other (which goes first alternates by round), so a neighbour's load hits both alike.

Figures: jobs / wall-clock seconds (median over the rounds), request latency p50/p95 (over every request
of every round), and ratios, each the median of the rounds' own ratios: regq's single POST over the
minimal app's at the same client count, the batch endpoint over the in-process ``submit --file``. Every
job of every round must end up as a row (checked at the end). Targets: single POST >= 0.7x the minimal
app at each client count, its rate not falling as clients grow (16 clients >= 0.95x 4 clients); the batch
endpoint >= 0.5x ``regq submit --file``; p50 at 4 clients <= 10 ms is for an idle machine (shown, not
enforced: the load average is in the machine notes). ``--profile PATH`` records the regq process with
py-spy (speedscope JSON) during its last single-POST run at the most clients, when py-spy is installed.
Round trips per request are counted by ``bench.api_costs``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests

from bench.common import machine_notes, percentile, progress, show_figures
from bench.submission import register_lines, submit_file_rate, submit_subprocess_rate, submit_world
from testkit.api import Api, running_api
from testkit.stacks import wait_for
from workers.embedded.redis_server import free_port

BATCH_TARGET = 0.5
SINGLE_TARGET = 0.7
#: "not falling as clients grow", with room for a shared machine's noise
SCALING_TARGET = 0.95
P50_TARGET_MS = 10.0
APPS = ("regq", "minimal")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.api", description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", "--repeat", type=int, default=5, help="interleaved rounds; medians")
    parser.add_argument(
        "--clients", default="4,16", help="concurrent clients of POST /v1/jobs, comma-separated"
    )
    parser.add_argument("--single-jobs", type=int, default=1000, help="jobs per single-POST run")
    parser.add_argument("--jobs", type=int, default=2000, help="lines of submit --file and of the batch run")
    parser.add_argument("--batch-lines", type=int, default=2000, help="jobs per POST /v1/jobs:batch")
    parser.add_argument("--profile", type=Path, help="py-spy speedscope output of regq at the most clients")
    parser.add_argument("--json", action="store_true", help="print only a JSON document")
    args = parser.parse_args(argv)
    args.client_counts = sorted({int(c) for c in args.clients.split(",") if c.strip()})
    return args


def cpu_seconds(pid: int | None) -> float:
    """CPU time (user + system) process ``pid`` used so far, from ``/proc`` (0 where there is none)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


@contextmanager
def running_minimal(env: dict[str, str], work: Path) -> Iterator[tuple[str, int]]:
    """``bench.minimal_app`` on a free port with ``env`` (the world's settings): its base URL and pid."""
    port = free_port()
    log = work / f"minimal-{port}.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "bench.minimal_app", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=out,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        if proc.poll() is not None:
            raise SystemExit(f"bench.minimal_app exited: {log.read_text()[-2000:]}")
        try:
            return requests.get(url + "/v1/health", timeout=2).status_code == 200
        except requests.ConnectionError:
            return False

    try:
        wait_for(up, 30, "bench.minimal_app to answer /v1/health")
        yield url, proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


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


def singles(url: str, token: str | None, lines: list[str], clients: int) -> tuple[float, list[float]]:
    """``POST /v1/jobs`` of every line, ``clients`` at a time: (jobs/s, each request's latency in ms)."""
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"

    def client(part: list[str]) -> list[float]:
        latencies: list[float] = []
        with requests.Session() as session:
            for line in part:
                began = time.perf_counter()
                answer = session.post(f"{url}/v1/jobs", data=line.encode(), headers=headers, timeout=60)
                latencies.append((time.perf_counter() - began) * 1000)
                if answer.status_code != 201:
                    raise SystemExit(f"POST {url}/v1/jobs: {answer.status_code} {answer.text[:2000]}")
        return latencies

    parts = [lines[n::clients] for n in range(clients)]
    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        latencies = [ms for part in pool.map(client, parts) for ms in part]
    elapsed = time.perf_counter() - started
    if len(latencies) != len(lines):
        raise SystemExit(f"POST {url}/v1/jobs created {len(latencies)} of {len(lines)}")
    return len(lines) / elapsed, latencies


@contextmanager
def profiling(pid: int | None, path: Path | None) -> Iterator[None]:
    """py-spy recording ``pid`` for the block (speedscope JSON at ``path``), when asked and installed."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if path is None or pid is None or not Path(spy).exists():
        yield
        return
    command = [
        spy,
        "record",
        "--pid",
        str(pid),
        "--format",
        "speedscope",
        "--output",
        str(path),
        "--rate",
        "250",
    ]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert proc.stdout is not None
    started = proc.stdout.readline()  # "py-spy> Sampling process ..." once attached ('' if it could not)
    progress(f"py-spy: {started.decode(errors='replace').strip()}")
    try:
        yield
    finally:
        proc.send_signal(2)  # SIGINT: py-spy writes its profile and exits
        out, _err = proc.communicate(timeout=60)
        progress(f"py-spy: {out.decode(errors='replace').strip().splitlines()[:1]} -> {path}")


def _single_round(
    n: int,
    args: argparse.Namespace,
    servers: dict[str, tuple[str, int | None]],
    token: str,
    api: Api,
    samples: dict[str, Any],
) -> None:
    """One round of single POSTs: each client count, both apps, the first one alternating by round."""
    quiet = args.json
    order = APPS if n % 2 == 0 else APPS[::-1]
    for clients in args.client_counts:
        for app in order:
            tag = f"{app[0]}{clients}r{n}{uuid.uuid4().hex[:4]}"
            progress(f"round {n + 1}: POST /v1/jobs to {app}, {clients} clients", quiet)
            last = n == args.rounds - 1 and clients == args.client_counts[-1] and app == "regq"
            url, pid = servers[app]
            lines = register_lines(args.single_jobs, tag)
            with profiling(api.pid if last else None, args.profile):
                cpu = cpu_seconds(pid)
                rate, latencies = singles(url, token if app == "regq" else None, lines, clients)
                cpu = cpu_seconds(pid) - cpu
            sample = samples[f"{app}@{clients}"]
            sample["rates"].append(rate)
            sample["latencies"].extend(latencies)
            sample["cpu_ms"].append(1000 * cpu / len(lines))


def run(args: argparse.Namespace) -> dict[str, Any]:
    quiet = args.json
    rates: dict[str, list[float]] = {"file": [], "file_subprocess": [], "batch": []}
    samples: dict[str, Any] = {
        f"{app}@{c}": {"rates": [], "latencies": [], "cpu_ms": []} for c in args.client_counts for app in APPS
    }
    with submit_world("api") as world:
        api_env = {**os.environ, "REGQ_API_RATE": "1000000/s", "REGQ_API_BURST": "1000000"}
        with running_api(api_env, world.work) as api, running_minimal(api_env, world.work) as minimal:
            from tasks import runtime

            servers = {"regq": (api.url, api.pid), "minimal": minimal}
            token = api.token("submit,read")
            for n in range(args.rounds):
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
                _single_round(n, args, servers, token, api, samples)
            runtime.get().close()
        rows = sum(world.store.jobs.counts().values())
        redis_url, origin = world.redis_url, world.origin
    expected = args.rounds * (3 * args.jobs + 2 * len(args.client_counts) * args.single_jobs)
    if rows != expected:
        raise SystemExit(f"expected {expected} job rows, found {rows}")
    return figures(args, rates, samples, f"{rows} of {expected}", machine_notes(redis_url, origin))


def _median_ratio(over: list[float], under: list[float]) -> float:
    return round(statistics.median(a / b for a, b in zip(over, under, strict=True)), 3)


def figures(
    args: argparse.Namespace,
    rates: dict[str, list[float]],
    samples: dict[str, Any],
    rows: str,
    machine: dict[str, Any],
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "rounds": args.rounds,
        "single_jobs": args.single_jobs,
        "jobs": args.jobs,
        "batch_lines": args.batch_lines,
    }
    for key, sample in samples.items():
        app, clients = key.split("@")
        out[f"{app}_single_{clients}c_per_s"] = round(statistics.median(sample["rates"]), 1)
        p50, p95 = (round(percentile(sample["latencies"], q), 1) for q in (50, 95))
        out[f"{app}_single_{clients}c_p50_p95_ms"] = [p50, p95]
        out[f"{app}_single_{clients}c_server_cpu_ms"] = round(statistics.median(sample["cpu_ms"]), 2)
    for clients in args.client_counts:
        regq, minimal = samples[f"regq@{clients}"]["rates"], samples[f"minimal@{clients}"]["rates"]
        out[f"ratio_single_vs_minimal_{clients}c"] = _median_ratio(regq, minimal)
    low, high = args.client_counts[0], args.client_counts[-1]
    if high != low:
        regq_high, regq_low = samples[f"regq@{high}"]["rates"], samples[f"regq@{low}"]["rates"]
        out[f"regq_scaling_{high}c_vs_{low}c"] = _median_ratio(regq_high, regq_low)
    out |= {
        "submit_file_per_s": round(statistics.median(rates["file"]), 1),
        "submit_file_subprocess_per_s": round(statistics.median(rates["file_subprocess"]), 1),
        "api_batch_per_s": round(statistics.median(rates["batch"]), 1),
        "ratio_batch_vs_file": _median_ratio(rates["batch"], rates["file"]),
        "ratio_subprocess_vs_file": _median_ratio(rates["file_subprocess"], rates["file"]),
        "rounds_per_s": {
            **{name: [round(x, 1) for x in values] for name, values in rates.items()},
            **{key: [round(x, 1) for x in s["rates"]] for key, s in samples.items()},
        },
        "job_rows": rows,
        "machine": {**machine, "database": "postgres"},
    }
    out["targets_met"] = targets_met(out, args.client_counts)
    return out


def targets_met(out: dict[str, Any], client_counts: list[int]) -> dict[str, bool]:
    met = {
        f"single_{c}c_>=_{SINGLE_TARGET}x": out[f"ratio_single_vs_minimal_{c}c"] >= SINGLE_TARGET
        for c in client_counts
    }
    met |= {f"scaling_>=_{SCALING_TARGET}": out.get(k, 1.0) >= SCALING_TARGET for k in out if "scaling" in k}
    met[f"batch_>=_{BATCH_TARGET}x"] = out["ratio_batch_vs_file"] >= BATCH_TARGET
    if 4 in client_counts:
        met[f"p50_4c_<=_{P50_TARGET_MS}ms (idle machine only)"] = (
            out["regq_single_4c_p50_p95_ms"][0] <= P50_TARGET_MS
        )
    return met


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    result = run(args)
    show_figures(
        result, args.json, "submit through the API: single POST vs a minimal app, batch vs submit --file"
    )
    enforced = {k: v for k, v in result["targets_met"].items() if "idle machine" not in k}
    return 0 if all(enforced.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
