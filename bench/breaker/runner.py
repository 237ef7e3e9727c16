"""Running one breaker scenario: a fresh stack whose Gandi answers every request 500, traced workers."""

from __future__ import annotations

import shutil
import time
import uuid

from bench.breaker.hook import install_hook
from bench.breaker.scenario import PROVIDER, Scenario
from bench.breaker.trace import load_trace
from bench.breaker.windows import analyse
from bench.common import bench_stack, progress, register_jobs, start_workers, worker_groups

ALL_FAIL = [{"operation": "*", "kind": "status", "status": 500}]


def run_scenario(
    redis_url: str,
    *,
    label: str,
    probes: int,
    failures: int,
    reset: float,
    max_attempts: int,
    jobs: int,
    seconds: float,
    workers: int,
    concurrency: int,
    latency_ms: int,
    quiet: bool,
    keep: bool,
) -> Scenario:
    """Publish ``jobs`` registers, run the workers for ``seconds``, then count what reached the sandbox."""
    scenario = Scenario(label, probes, failures, reset, max_attempts, 3, jobs, seconds, latency_ms)
    hook = install_hook()
    env = {
        "REGQ_BREAKER_FAILURES": str(failures),
        "REGQ_BREAKER_RESET_SECONDS": f"{reset:g}",
        "REGQ_BREAKER_PROBES": str(probes),
        "REGQ_MAX_ATTEMPTS": str(max_attempts),
        "REGQ_RETRY_BACKOFF_SECONDS": "0.5",
        # the limiter must not be what holds requests back here
        "REGQ_GANDI_RATE": "1000/s",
        "REGQ_GANDI_BURST": "1000",
        "REGQ_GANDI_VISIBILITY_WAIT_SECONDS": "5",
        **hook.env(),
    }
    with bench_stack(redis_url, env, name="br", keep=keep) as bench:
        sandbox = bench.stack.sandbox
        assert sandbox is not None
        scenario.http_tries = bench.stack.settings().http_tries
        rules = ([{"operation": "*", "kind": "latency", "ms": latency_ms}] if latency_ms else []) + ALL_FAIL
        sandbox.set_faults(PROVIDER, rules)
        progress(f"{label}: publishing {jobs} register jobs; every Gandi call answers 500", quiet)
        bench.producer_submit(register_jobs(jobs, uuid.uuid4().hex[:6]))
        progress(f"{label}: starting {workers} worker nodes x {concurrency} processes", quiet)
        start = start_workers(bench.stack, worker_groups(workers, concurrency))
        time.sleep(seconds)
        end = time.time()
        stats = sandbox.stats(PROVIDER)
        time.sleep(0.3)  # journal writes of transitions made just before `end`
        history = list(reversed(bench.store.breaker_events.history(PROVIDER, limit=100_000)))
        counts = bench.store.jobs.counts()
    scenario.job_statuses = {s: n for (_, s), n in sorted(counts.items())}
    scenario.by_operation = {k: v for k, v in stats["by_operation"].items() if v}
    scenario.by_status = stats["by_status"]
    arrivals = sorted(stats["request_times"])
    scenario.requests = len(arrivals)
    sends, permits, note = load_trace(hook.trace_dir)
    sends_before_end = [s for s in sends if s.t <= end]
    scenario.trace_ok = not note and bool(sends)
    scenario.trace_note = note or (
        f"{len(sends_before_end)} traced sends before the snapshot, {len(arrivals)} arrivals"
    )
    analyse(scenario, arrivals, [t for t in history if t.at <= end + 0.3], sends, permits, start, end)
    if keep:
        progress(f"kept {hook.hook_dir} (trace)", quiet)
    else:
        shutil.rmtree(hook.hook_dir, ignore_errors=True)
    progress(
        f"{label}: {scenario.requests} requests, {scenario.openings} openings; while open "
        f"{scenario.open_requests} (in flight at opening {scenario.open_in_flight_at_opening}, "
        f"without permit {scenario.open_without_permit}); half-open {scenario.half_open_requests} "
        f"requests from probe attempts {scenario.half_open_probe_attempts}",
        quiet,
    )
    return scenario
