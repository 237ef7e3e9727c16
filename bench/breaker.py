"""Circuit breaker under a dead upstream: requests that reach the sandbox while open and half-open.

::

    .venv/bin/python -m bench.breaker [--probes 1 2] [--seconds 24] [--workers 2] [--concurrency 2]
                                      [--jobs 100] [--reset 3] [--failures 5] [--max-attempts 5]
                                      [--bypass-demo] [--json]

One scenario per ``--probes`` value, each in a fresh embedded stack: the sandbox answers every Gandi
request with a 500 (fault rule ``{"operation": "*", "kind": "status", "status": 500}``), a backlog of
register jobs is published, then ``--workers`` celery worker nodes of ``--concurrency`` processes consume
``registrar.gandi`` for ``--seconds``: the breaker opens after ``REGQ_BREAKER_FAILURES`` failures, stays
open ``REGQ_BREAKER_RESET_SECONDS``, lets ``REGQ_BREAKER_PROBES`` probes through in half-open, re-opens
when a probe fails, and so on.

Windows come from the breaker journal (``Store.breaker_events.history()``): an ``open`` record starts an
open window at ``opened_until - reset`` (the exact moment of the transition, by the Redis clock; the
record's ``at`` is the journal write, a few ms later) and the open window ends at ``opened_until``: that
is exactly when the breaker refuses every caller. The next ``half_open`` record (made by the first ask
after ``opened_until``; its ``opened_until`` is the same) starts the half-open window at ``opened_until``,
the next transition ends it. The sandbox's ``request_times`` (arrivals) are counted per window. Redis
TIME, the sandbox's and the workers' ``time.time()`` are the one clock of this machine.

What one "call" is: the breaker is asked once per ATTEMPT (one delivery of a job, ``JobRunner``); an
attempt makes one or more HTTP requests through ``OutboundClient``. A register's first attempt starts
with ``POST /domain/domains`` (not idempotent: a 500 is never re-sent, 1 request). Its later attempts
start with a reconciliation ``GET /domain/domains/{fqdn}`` (the create may have happened): idempotent,
so a 500 is retried inside the attempt, ``REGQ_HTTP_TRIES`` (3) requests ~0.5 s and ~1 s apart. So a
half-open probe is 1 request or 3, and the target "exactly the probe count" is about probe ATTEMPTS.

Attribution (so "while open" can be split honestly): the worker processes are started with a tracing
hook (a ``sitecustomize`` in a temp dir on their PYTHONPATH; it only appends events to files) that
records every ``Breaker.before_call`` answer, every outcome report, every ``JobRunner.run`` delivery and
every HTTP send. Each request that reached the sandbox is matched to its send, hence to the permit of
its attempt: granted while closed (in flight when the breaker opened), a probe, or no permit at all.

``--bypass-demo`` adds a scenario with ``REGQ_MAX_ATTEMPTS=1``: every failed register then gives up and
``JobRunner._give_up`` reconciles (GET) once more, after the failure was reported, without asking the
breaker.
"""

from __future__ import annotations

import argparse
import bisect
import json
import os
import shutil
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console

from bench.common import (
    bench_stack,
    emit_json,
    machine_notes,
    progress,
    redis_for_bench,
    register_jobs,
    start_workers,
    table,
    worker_groups,
)
from shared.breaker import CLOSED, HALF_OPEN, OPEN, Transition

ALL_FAIL = [{"operation": "*", "kind": "status", "status": 500}]
PROVIDER = "gandi"
TRACE_ENV = "REGQ_BENCH_TRACE_DIR"

# Installed as sitecustomize.py for the worker processes only (via PYTHONPATH); it changes no behaviour.
TRACE_HOOK = """
import os
_DIR = os.environ.get("REGQ_BENCH_TRACE_DIR")
if _DIR:
    try:
        import json as _json
        import time as _time

        from shared.breaker.base import Breaker as _Breaker
        from shared.execution.runner import JobRunner as _Runner
        from shared.http.client import OutboundClient as _Client

        def _emit(**event):
            event["pid"] = os.getpid()
            with open(os.path.join(_DIR, "%d.jsonl" % os.getpid()), "a") as fh:
                fh.write(_json.dumps(event) + "\\n")

        _before, _failure, _success = _Breaker.before_call, _Breaker.record_failure, _Breaker.record_success
        _run, _send = _Runner.run, _Client._send

        def before_call(self, provider):
            t0 = _time.time()
            permit = _before(self, provider)
            _emit(ev="permit", t=t0, t1=_time.time(), provider=provider, allowed=permit.allowed,
                  probe=permit.probe, state=permit.state)
            return permit

        def record_failure(self, provider, probe=False):
            _emit(ev="report", t=_time.time(), provider=provider, ok=False, probe=probe)
            return _failure(self, provider, probe)

        def record_success(self, provider, probe=False):
            _emit(ev="report", t=_time.time(), provider=provider, ok=True, probe=probe)
            return _success(self, provider, probe)

        def run(self, key, owner):
            _emit(ev="run", t=_time.time(), key=key)
            try:
                return _run(self, key, owner)
            finally:
                _emit(ev="run_end", t=_time.time(), key=key)

        def send(self, method, target, kwargs):
            _emit(ev="send", t=_time.time(), provider=self.provider, method=method, path=target.path)
            return _send(self, method, target, kwargs)

        _Breaker.before_call, _Breaker.record_failure, _Breaker.record_success = (
            before_call, record_failure, record_success)
        _Runner.run, _Client._send = run, send
        _emit(ev="hook", t=_time.time())
    except Exception as exc:
        with open(os.path.join(_DIR, "hook-error-%d.txt" % os.getpid()), "a") as fh:
            fh.write(repr(exc) + "\\n")
"""

# attribution of one request, from the permit of the attempt it belongs to
CLOSED_PERMIT = "permit granted while closed"
PROBE = "half-open probe"
AFTER_REPORT = "after its attempt's outcome was reported (no new permit)"
NO_PERMIT = "in a delivery that got no permit"
OUTSIDE = "outside any job delivery"
OPEN_PERMIT = "permit granted while open"
UNMATCHED = "not matched to a traced send"


@dataclass
class Window:
    state: str
    start: float
    end: float
    requests: int = 0
    attribution: dict[str, int] = field(default_factory=dict)
    probe_attempts: int = 0  # half-open: probe permits handed out in this window
    probe_requests: int = 0  # half-open: requests those probe attempts made (wherever they arrived)
    refused: int = 0  # half-open: asks refused because every probe slot was taken


@dataclass
class Scenario:
    label: str
    probes: int
    failures: int
    reset_seconds: float
    max_attempts: int
    http_tries: int
    jobs: int
    seconds: float
    latency_ms: int = 0
    requests: int = 0
    by_operation: dict[str, int] = field(default_factory=dict)
    by_status: dict[str, int] = field(default_factory=dict)
    transitions: int = 0
    openings: int = 0
    half_opens: int = 0
    closes: int = 0
    journal_lag_ms_max: float = 0.0
    closed_requests: int = 0
    open_requests: int = 0
    open_in_flight_at_opening: int = 0
    open_in_flight_probe: int = 0
    open_without_permit: int = 0
    open_granted_while_open: int = 0
    open_unattributed: int = 0
    open_attribution: dict[str, int] = field(default_factory=dict)
    in_flight_lag_ms_max: float = 0.0
    half_open_requests: int = 0
    half_open_windows: list[dict[str, Any]] = field(default_factory=list)
    half_open_probe_attempts: list[int] = field(default_factory=list)
    half_open_refused: list[int] = field(default_factory=list)
    half_open_attribution: dict[str, int] = field(default_factory=dict)
    requests_per_probe_attempt: dict[str, int] = field(default_factory=dict)
    trace_ok: bool = False
    trace_note: str = ""
    job_statuses: dict[str, int] = field(default_factory=dict)


# --- trace --------------------------------------------------------------------------------------------
@dataclass
class Send:
    t: float
    pid: int
    method: str
    path: str
    attribution: str
    permit_t: float | None = None
    permit_state: str | None = None
    attempt_id: tuple[int, float] | None = None  # (pid, permit time): one per permitted attempt


def load_trace(trace_dir: Path) -> tuple[list[Send], list[dict[str, Any]], str]:
    """Sends to ``PROVIDER`` with their attribution, the permit events, and a note on problems."""
    errors = sorted(trace_dir.glob("hook-error-*.txt"))
    note = "; ".join(p.read_text().strip() for p in errors)
    sends: list[Send] = []
    permits: list[dict[str, Any]] = []
    for path in sorted(trace_dir.glob("*.jsonl")):
        in_run = False
        permit: dict[str, Any] | None = None
        reported = False
        for line in path.read_text().splitlines():
            try:
                event = json.loads(line)
            except ValueError:
                continue  # a line being written when the run stopped
            kind = event.get("ev")
            if kind == "run":
                in_run, permit, reported = True, None, False
            elif kind == "run_end":
                in_run, permit, reported = False, None, False
            elif kind == "permit" and event.get("provider") == PROVIDER:
                permit, reported = event, False
                permits.append(event)
            elif kind == "report" and event.get("provider") == PROVIDER:
                reported = True
            elif kind == "send" and event.get("provider") == PROVIDER:
                sends.append(_attribute(event, in_run, permit, reported))
    sends.sort(key=lambda s: s.t)
    return sends, permits, note


def _attribute(event: dict[str, Any], in_run: bool, permit: dict[str, Any] | None, reported: bool) -> Send:
    send = Send(event["t"], event["pid"], event["method"], event["path"], OUTSIDE)
    if not in_run:
        return send
    if permit is None or not permit["allowed"]:
        send.attribution = NO_PERMIT
        return send
    send.permit_t, send.permit_state = permit["t"], permit["state"]
    send.attempt_id = (event["pid"], permit["t"])
    if reported:
        send.attribution = AFTER_REPORT
    elif permit["probe"]:
        send.attribution = PROBE
    elif permit["state"] == CLOSED:
        send.attribution = CLOSED_PERMIT
    else:
        send.attribution = OPEN_PERMIT
    return send


def match(arrivals: list[float], sends: list[Send], max_delay: float = 1.0) -> list[Send | None]:
    """For each arrival (sorted), the send it is: the earliest unmatched send at or before it (FIFO)."""
    out: list[Send | None] = []
    i = 0
    for arrival in arrivals:
        while i < len(sends) and arrival - sends[i].t > max_delay:
            i += 1  # a send that never arrived (refused, reset): skip it
        if i < len(sends) and sends[i].t <= arrival + 0.0005:
            out.append(sends[i])
            i += 1
        else:
            out.append(None)
    return out


# --- windows ------------------------------------------------------------------------------------------
def windows_from(transitions: list[Transition], reset: float, start: float, end: float) -> list[Window]:
    """Closed / open / half-open windows covering [start, end], from the journal (oldest first)."""
    out: list[Window] = []
    state, since = CLOSED, start
    for tr in transitions:
        if tr.to_state == OPEN and tr.opened_until is not None:
            at = tr.opened_until - reset  # exact: opened_until = transition time + reset (Redis clock)
        elif tr.to_state == HALF_OPEN and tr.opened_until is not None:
            at = tr.opened_until  # the end of the refusal window; the first ask after it half-opens
        else:
            at = tr.at
        at = max(at, since)
        if at > end:
            break
        out.append(Window(state, since, at))
        state, since = tr.to_state, at
    out.append(Window(state, since, end))
    return out


def analyse(
    scenario: Scenario,
    arrivals: list[float],
    transitions: list[Transition],
    sends: list[Send],
    permits: list[dict[str, Any]],
    start: float,
    end: float,
) -> None:
    arrivals = [t for t in arrivals if t <= end]
    transitions = [t for t in transitions if t.provider == PROVIDER]
    scenario.transitions = len(transitions)
    scenario.openings = sum(t.to_state == OPEN for t in transitions)
    scenario.half_opens = sum(t.to_state == HALF_OPEN for t in transitions)
    scenario.closes = sum(t.to_state == CLOSED for t in transitions)
    lags = [
        (t.at - (t.opened_until - scenario.reset_seconds)) * 1000.0
        for t in transitions
        if t.to_state == OPEN and t.opened_until is not None
    ]
    scenario.journal_lag_ms_max = round(max(lags), 1) if lags else 0.0
    windows = windows_from(transitions, scenario.reset_seconds, min([start, *arrivals]), end)
    matched = match(arrivals, sends) if scenario.trace_ok else [None] * len(arrivals)
    starts = [w.start for w in windows]
    opens_at = [w.start for w in windows if w.state == OPEN]
    lag_ms: list[float] = []
    for arrival, send in zip(arrivals, matched, strict=True):
        window = windows[max(0, bisect.bisect_right(starts, arrival) - 1)]
        window.requests += 1
        who = send.attribution if send is not None else UNMATCHED
        if who == PROBE and window.state == OPEN:
            who = "probe in flight when the breaker re-opened"
        window.attribution[who] = window.attribution.get(who, 0) + 1
        if window.state == OPEN and who == CLOSED_PERMIT:
            k = bisect.bisect_right(opens_at, arrival) - 1
            lag_ms.append((arrival - opens_at[k]) * 1000.0)
    # probe attempts per half-open window, and how many requests each probe attempt made
    per_attempt = Counter(s.attempt_id for s in sends if s.attribution == PROBE and s.t <= end)
    scenario.requests_per_probe_attempt = {
        str(k): v for k, v in sorted(Counter(per_attempt.values()).items())
    }
    for window in windows:
        if window.state != HALF_OPEN:
            continue
        # t1: the permit was answered (after the Redis decision, hence after the window started)
        inside = [p for p in permits if p["probe"] and window.start <= p["t1"] < window.end]
        window.probe_attempts = len(inside)
        window.probe_requests = sum(per_attempt.get((p["pid"], p["t"]), 0) for p in inside)
        # refusals answered with state half_open, asked during this window (the Redis decision lies
        # between t and t1)
        window.refused = sum(
            1
            for p in permits
            if not p["allowed"]
            and p["state"] == HALF_OPEN
            and p["t"] < window.end
            and p["t1"] >= window.start
        )
    _summarise(scenario, windows, lag_ms)


def _summarise(scenario: Scenario, windows: list[Window], lag_ms: list[float]) -> None:
    open_attr: Counter[str] = Counter()
    half_attr: Counter[str] = Counter()
    for w in windows:
        if w.state == CLOSED:
            scenario.closed_requests += w.requests
        elif w.state == OPEN:
            scenario.open_requests += w.requests
            open_attr.update(w.attribution)
        else:
            scenario.half_open_requests += w.requests
            half_attr.update(w.attribution)
            scenario.half_open_probe_attempts.append(w.probe_attempts)
            scenario.half_open_refused.append(w.refused)
            scenario.half_open_windows.append(
                {
                    "seconds": round(w.end - w.start, 3),
                    "requests": w.requests,
                    "probe_attempts": w.probe_attempts,
                    "probe_requests": w.probe_requests,
                    "refused_asks": w.refused,
                }
            )
    scenario.open_attribution = dict(open_attr)
    scenario.half_open_attribution = dict(half_attr)
    scenario.open_in_flight_at_opening = open_attr[CLOSED_PERMIT]
    scenario.open_in_flight_probe = open_attr["probe in flight when the breaker re-opened"]
    scenario.open_without_permit = open_attr[AFTER_REPORT] + open_attr[NO_PERMIT] + open_attr[OUTSIDE]
    scenario.open_granted_while_open = open_attr[OPEN_PERMIT]
    scenario.open_unattributed = open_attr[UNMATCHED]
    scenario.in_flight_lag_ms_max = round(max(lag_ms), 1) if lag_ms else 0.0


# --- running ------------------------------------------------------------------------------------------
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
    scenario = Scenario(label, probes, failures, reset, max_attempts, 3, jobs, seconds, latency_ms)
    hook_dir = Path(tempfile.mkdtemp(prefix="regq-bench-hook-"))
    trace_dir = hook_dir / "trace"
    trace_dir.mkdir()
    (hook_dir / "sitecustomize.py").write_text(TRACE_HOOK)
    pythonpath = os.pathsep.join(p for p in (str(hook_dir), os.environ.get("PYTHONPATH", "")) if p)
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
        "PYTHONPATH": pythonpath,
        TRACE_ENV: str(trace_dir),
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
    sends, permits, note = load_trace(trace_dir)
    sends_before_end = [s for s in sends if s.t <= end]
    scenario.trace_ok = not note and bool(sends)
    scenario.trace_note = note or (
        f"{len(sends_before_end)} traced sends before the snapshot, {len(arrivals)} arrivals"
    )
    analyse(scenario, arrivals, [t for t in history if t.at <= end + 0.3], sends, permits, start, end)
    if keep:
        progress(f"kept {hook_dir} (trace)", quiet)
    else:
        shutil.rmtree(hook_dir, ignore_errors=True)
    progress(
        f"{label}: {scenario.requests} requests, {scenario.openings} openings; while open "
        f"{scenario.open_requests} (in flight at opening {scenario.open_in_flight_at_opening}, "
        f"without permit {scenario.open_without_permit}); half-open {scenario.half_open_requests} "
        f"requests from probe attempts {scenario.half_open_probe_attempts}",
        quiet,
    )
    return scenario


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.breaker", description=__doc__.splitlines()[0])
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
    verdict = {s.label: _verdict(s) for s in scenarios}
    data: dict[str, Any] = {
        "benchmark": "breaker",
        "worker_nodes": args.workers,
        "processes_per_node": args.concurrency,
        "scenarios": [asdict(s) for s in scenarios],
        "verdict": verdict,
        "elapsed_s": round(time.time() - started, 1),
        "machine": notes,
    }
    if args.json:
        emit_json(data)
    else:
        _print(data, scenarios, args)
    return 0 if all(v["ok"] for v in verdict.values()) else 1


def _verdict(s: Scenario) -> dict[str, Any]:
    granted_while_open = s.open_granted_while_open + s.open_without_permit + s.open_unattributed
    # per half-open window: never more than `probes` probes; exactly `probes` whenever someone was refused
    windows = list(zip(s.half_open_probe_attempts, s.half_open_refused, strict=True))
    probes_ok = bool(windows) and all(
        granted <= s.probes and (refused == 0 or granted == s.probes) for granted, refused in windows
    )
    return {
        "ok": s.trace_ok and s.openings >= 2 and granted_while_open == 0 and probes_ok,
        "requests_while_open_not_in_flight": granted_while_open,
        "probe_grants_exact": probes_ok,
        "windows_with_demand_beyond_probes": sum(1 for _, refused in windows if refused),
    }


def _print(data: dict[str, Any], scenarios: list[Scenario], args: argparse.Namespace) -> None:
    console = Console(width=None if sys.stdout.isatty() else 150)
    verdicts = data["verdict"]
    lines: list[tuple[str, Callable[[Scenario], Any]]] = [
        ("breaker failures / reset s / probes", lambda s: f"{s.failures} / {s.reset_seconds:g} / {s.probes}"),
        ("REGQ_MAX_ATTEMPTS / REGQ_HTTP_TRIES", lambda s: f"{s.max_attempts} / {s.http_tries}"),
        ("requests at the sandbox (all 500)", lambda s: s.requests),
        ("  by operation", lambda s: _kv(s.by_operation)),
        ("transitions: open / half_open / closed", lambda s: f"{s.openings} / {s.half_opens} / {s.closes}"),
        ("requests while closed", lambda s: s.closed_requests),
        ("requests while OPEN (target 0)", lambda s: s.open_requests),
        ("  in flight at opening (permit granted while closed)", lambda s: s.open_in_flight_at_opening),
        ("  probe in flight when another probe re-opened it", lambda s: s.open_in_flight_probe),
        ("  without a permit (bypass)", lambda s: s.open_without_permit),
        ("  permit granted while open", lambda s: s.open_granted_while_open),
        ("  not attributed (trace mismatch)", lambda s: s.open_unattributed),
        ("  while open, by attribution", lambda s: _kv(s.open_attribution)),
        ("  latest in-flight arrival after opening (ms)", lambda s: s.in_flight_lag_ms_max),
        ("requests while HALF-OPEN", lambda s: s.half_open_requests),
        ("  probe attempts per half-open window (<= probes)", lambda s: _list(s.half_open_probe_attempts)),
        ("  asks refused (slots taken) per half-open window", lambda s: _list(s.half_open_refused)),
        ("  requests per probe attempt {requests: attempts}", lambda s: _kv(s.requests_per_probe_attempt)),
        ("  half-open requests by attribution", lambda s: _kv(s.half_open_attribution)),
        ("journal write after the transition, max (ms)", lambda s: s.journal_lag_ms_max),
        ("trace", lambda s: ("ok: " if s.trace_ok else "FAILED: ") + s.trace_note),
        ("jobs after the run", lambda s: _kv(s.job_statuses)),
        ("verdict", lambda s: _verdict_text(verdicts[s.label])),
    ]  # fmt: skip
    rows = [[name, *(cell(s) for s in scenarios)] for name, cell in lines]
    title = (
        f"Breaker, every Gandi request answered 500: {args.workers} worker nodes x {args.concurrency} "
        f"processes, {args.jobs} register jobs, {args.seconds:g} s per scenario"
        + (f", {args.latency_ms} ms latency before each answer" if args.latency_ms else "")
    )
    console.print(table(title, ["", *(s.label for s in scenarios)], rows))
    machine = data["machine"]
    console.print(
        f"machine: {machine['cpus']} CPUs, load {machine['load_avg_1_5_15']} -> {machine['load_avg_after']}, "
        f"Python {machine['python']}, Celery {machine.get('celery')}, Redis {machine.get('redis')}; "
        f"run took {data['elapsed_s']} s"
    )


def _verdict_text(v: dict[str, Any]) -> str:
    if v["ok"]:
        return f"ok ({v['windows_with_demand_beyond_probes']} half-open windows had more asks than probes)"
    probes = "" if v["probe_grants_exact"] else ", probe grants not exact"
    return f"MISSED ({v['requests_while_open_not_in_flight']} while open not in flight{probes})"


def _kv(counts: dict[str, int]) -> str:
    return ", ".join(f"{k}: {v}" for k, v in counts.items()) or "-"


def _list(values: list[int]) -> str:
    return " ".join(str(v) for v in values) or "-"


if __name__ == "__main__":
    raise SystemExit(main())
