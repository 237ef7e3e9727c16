"""Two breaker models under a partly failing upstream: per-job consecutive failures vs per-call window.

::

    .venv/bin/python -m bench.breaker.models [--fault-rates 10 28 50 100] [--minutes 30] [--workers 8]
                                             [--calls-per-job 3] [--call-ms 200] [--seed 7] [--json]

The question (issue 14): with the old model, a job's calls were reported once, at the job's end, and
only consecutive failures counted; five jobs whose first call failed opened the breaker while other
calls succeeded, and at 28 % faults it opened within seconds and stalled the fleet for the 300 s
default. The new model reports every call as it ends and opens on a failure rate over a sliding window
(with a minimum number of calls), keeping consecutive failures as a second trigger.

How: a discrete-event simulation of ``--workers`` workers on one simulated clock, each taking jobs of
``--calls-per-job`` sequential calls of ``--call-ms`` each; a call fails with the fault rate,
independently; a failed call ends the job's attempt (the job would be retried later). Before a job a
worker asks the breaker (``before_call``); refused, it waits ``retry_after`` (at most 5 s, as the
runner's Defer does) and asks again. The breakers are the real ones (:class:`MemoryBreaker`, the
same transitions as ``breaker.lua``; the backends are tested against each other in
``tests/test_breaker*.py``) on a fake clock, so 30 simulated minutes take a second or two:

* ``per-job``: the old model: ``window_calls=0`` (consecutive failures only), the old defaults
  (5 failures, 300 s open), ONE report per job at its end (failure if any call failed).
* ``per-call``: the new model: the new defaults (``shared.defaults``: 10 consecutive failures, or 50 %
  of the last 50 calls once there are 20; 60 s open), every call reported as it ends through the
  runner's own :class:`~shared.upstream.reporter.CallReporter` (which also settles probes).

Figures per (model, fault rate): times opened, the share of the run the breaker was not closed (the
fleet stalled), seconds to the first open, calls that reached the upstream, jobs whose every call
succeeded per simulated minute. What a breaker should do (the target checked, exit status 1 if missed):
stay closed up to 30 % (retries absorb it), open at 50 % and above (the upstream is sick), and open at
once at 100 %.

``--real-seconds S`` adds, for each fault rate, a run of the new model in a real embedded stack (2
celery worker nodes x 2 processes on ``registrar.gandi``, the shipped breaker defaults, the sandbox
answering 500 on that share of ALL Gandi requests, a backlog of registers) for S seconds, with the
opens and the stalled share read from the breaker journal. The old model's code is gone, so it exists
in the simulation only.
"""

from __future__ import annotations

import argparse
import heapq
import random
import time
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from rich.console import Console
from rich.table import Table

from bench.common import (
    bench_stack,
    emit_json,
    progress,
    redis_for_bench,
    register_jobs,
    start_workers,
    worker_groups,
)
from shared import defaults
from shared.breaker import BreakerConfig, MemoryBreaker, MemoryJournal, Transition
from shared.upstream.reporter import CallReporter

PROVIDER = "gandi"
OLD = BreakerConfig(failures=5, reset_seconds=300, probes=1, probe_timeout_seconds=60, window_calls=0)
NEW = BreakerConfig(
    failures=defaults.BREAKER_FAILURES,
    reset_seconds=defaults.BREAKER_RESET_SECONDS,
    probes=defaults.BREAKER_PROBES,
    probe_timeout_seconds=defaults.BREAKER_PROBE_TIMEOUT_SECONDS,
    window_calls=defaults.BREAKER_WINDOW_CALLS,
    min_calls=defaults.BREAKER_MIN_CALLS,
    failure_rate=defaults.BREAKER_FAILURE_RATE,
)
MAX_WAIT = 5.0  # a refused delivery is deferred at most this long before it asks again (simulated s)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Figures:
    model: str
    fault_rate: int
    opened: int
    stalled_share: float
    first_open_s: float | None
    calls: int
    refusals: int
    jobs_ok_per_min: float


@dataclass
class _Job:
    reporter: CallReporter | None
    left: int
    probe: bool = False


def _stalled_seconds(records: Sequence[Transition], start: float, end: float) -> float:
    """Seconds of [start, end] the breaker was not closed: from an open record to the next close."""
    stalled, since = 0.0, None
    for r in records:
        if r.to_state == "open" and since is None:
            since = max(r.at, start)
        elif r.to_state == "closed" and since is not None:
            stalled, since = stalled + (r.at - since), None
    if since is not None:
        stalled += end - since
    return stalled


def simulate(
    model: str, fault_rate: float, minutes: float, workers: int, calls_per_job: int, call_s: float, seed: int
) -> Figures:
    clock = Clock()
    journal = MemoryJournal(clock=clock)
    breaker = MemoryBreaker(OLD if model == "per-job" else NEW, journal, clock=clock)
    rng = random.Random(seed)
    end = minutes * 60.0
    events: list[tuple[float, int]] = [(rng.uniform(0, call_s), w) for w in range(workers)]
    heapq.heapify(events)
    jobs: dict[int, _Job | None] = dict.fromkeys(range(workers))
    calls = refusals = ok = 0
    while events:
        t, w = heapq.heappop(events)
        if t > end:
            break
        clock.now = t
        job = jobs[w]
        if job is None:  # a new delivery asks the breaker first
            permit = breaker.before_call(PROVIDER)
            if not permit.allowed:
                refusals += 1
                heapq.heappush(events, (t + min(max(permit.retry_after, 0.05), MAX_WAIT), w))
                continue
            reporter = CallReporter(breaker, PROVIDER, permit) if model == "per-call" else None
            job = jobs[w] = _Job(reporter, calls_per_job, permit.probe)
            heapq.heappush(events, (t + call_s, w))
            continue
        calls += 1  # the call that just ended
        failed = rng.random() < fault_rate
        job.left -= 1
        if job.reporter is not None:
            job.reporter("failure" if failed else "success")
        if failed or job.left == 0:
            if job.reporter is not None:
                job.reporter.settle("failure" if failed else "success")
            elif failed:
                breaker.record_failure(PROVIDER, probe=job.probe)
            else:
                breaker.record_success(PROVIDER, probe=job.probe)
            ok += 0 if failed else 1
            jobs[w] = None
            heapq.heappush(events, (t, w))
        else:
            heapq.heappush(events, (t + call_s, w))
    records = journal.transitions(PROVIDER)
    opens = [r for r in records if r.to_state == "open"]
    stalled = _stalled_seconds(records, 0.0, end)
    return Figures(
        model=model,
        fault_rate=round(fault_rate * 100),
        opened=len(opens),
        stalled_share=round(stalled / end, 3),
        first_open_s=round(opens[0].at, 1) if opens else None,
        calls=calls,
        refusals=refusals,
        jobs_ok_per_min=round(ok / minutes, 1),
    )


@dataclass
class RealFigures:
    fault_rate: int
    seconds: float
    opened: int
    stalled_share: float
    first_open_s: float | None
    requests: int
    succeeded: int


def run_real(redis_url: str, fault_rate: float, seconds: float, quiet: bool) -> RealFigures:
    env = {
        "REGQ_GANDI_RATE": "1000/s",  # the limiter must not be what holds requests back here
        "REGQ_GANDI_BURST": "1000",
        "REGQ_GANDI_VISIBILITY_WAIT_SECONDS": "5",
        "REGQ_RETRY_BACKOFF_SECONDS": "0.5",
        "REGQ_MAX_ATTEMPTS": "50",
    }
    with bench_stack(redis_url, env, name="brm", keep=False) as bench:
        sandbox = bench.stack.sandbox
        assert sandbox is not None
        rule = {"operation": "*", "kind": "status", "status": 500, "probability": fault_rate}
        sandbox.set_faults(PROVIDER, [rule], seed=7)
        bench.producer_submit(register_jobs(4000, uuid.uuid4().hex[:6]))
        progress(f"real stack, {fault_rate:.0%} faults: 2 nodes x 2 processes for {seconds:g} s", quiet)
        start = start_workers(bench.stack, worker_groups(2, 2))
        time.sleep(seconds)
        end = time.time()
        requests = sandbox.stats(PROVIDER)["requests"]
        time.sleep(0.3)
        history = list(reversed(bench.store.breaker_events.history(PROVIDER, limit=100_000)))
        counts = bench.store.jobs.counts()
    history = [r for r in history if r.at <= end]
    opens = [r for r in history if r.to_state == "open"]
    stalled = _stalled_seconds(history, start, end)
    return RealFigures(
        fault_rate=round(fault_rate * 100),
        seconds=round(end - start, 1),
        opened=len(opens),
        stalled_share=round(stalled / (end - start), 3),
        first_open_s=round(opens[0].at - start, 1) if opens else None,
        requests=requests,
        succeeded=sum(n for (_, status), n in counts.items() if status == "succeeded"),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.breaker.models", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--fault-rates", type=int, nargs="+", default=[10, 28, 50, 100], help="percent")
    parser.add_argument("--minutes", type=float, default=30.0, help="simulated minutes per run")
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--calls-per-job", type=int, default=3, help="e.g. a renew: info, renew, info")
    parser.add_argument("--call-ms", type=float, default=200.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--real-seconds", type=float, default=0.0, help="also run real stacks (0: off)")
    parser.add_argument("--redis-url", default=None, help="for --real-seconds; default 127.0.0.1:6379")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    rows = [
        simulate(
            m, r / 100.0, args.minutes, args.workers, args.calls_per_job, args.call_ms / 1000.0, args.seed
        )
        for r in args.fault_rates
        for m in ("per-job", "per-call")
    ]
    # what a breaker should do: stay closed up to 30 % (retries absorb it), open from 50 % on
    ok = all(
        (f.opened == 0) if f.fault_rate <= 30 else (f.opened > 0)
        for f in rows
        if f.model == "per-call" and not 30 < f.fault_rate < 50
    )
    real: list[RealFigures] = []
    if args.real_seconds > 0:
        with redis_for_bench(args.redis_url) as (url, _origin):
            real = [run_real(url, r / 100.0, args.real_seconds, args.json) for r in args.fault_rates]
        ok = ok and all(
            (f.opened == 0) if f.fault_rate <= 30 else (f.opened > 0)
            for f in real
            if not 30 < f.fault_rate < 50
        )
    if args.json:
        emit_json(
            {"figures": [asdict(f) for f in rows], "real": [asdict(f) for f in real], "targets_met": ok}
        )
        return 0 if ok else 1
    table = Table(
        title=f"breaker models, {args.workers} workers, {args.minutes:g} simulated min, seed {args.seed}"
    )
    for col in ("model", "faults", "opened", "stalled", "first open", "calls", "refused", "jobs ok/min"):
        table.add_column(col, justify="right" if col not in ("model",) else "left")
    for f in rows:
        first = "-" if f.first_open_s is None else f"{f.first_open_s:g} s"
        table.add_row(
            f.model, f"{f.fault_rate} %", str(f.opened), f"{f.stalled_share:.0%}", first, str(f.calls),
            str(f.refusals), f"{f.jobs_ok_per_min:g}",
        )  # fmt: skip
    console = Console()
    console.print(table)
    if real:
        live = Table(title="per-call model in a real stack (2 nodes x 2 processes, shipped breaker defaults)")
        for col in ("faults", "seconds", "opened", "stalled", "first open", "requests", "succeeded"):
            live.add_column(col, justify="right")
        for r in real:
            first = "-" if r.first_open_s is None else f"{r.first_open_s:g} s"
            live.add_row(
                f"{r.fault_rate} %", f"{r.seconds:g}", str(r.opened), f"{r.stalled_share:.0%}", first,
                str(r.requests), str(r.succeeded),
            )  # fmt: skip
        console.print(live)
    console.print(
        "target (per-call): never opens at <= 30 % faults, opens at >= 50 %: " + ("met" if ok else "MISSED")
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
