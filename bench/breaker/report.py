"""The verdict on a breaker scenario and the table of figures printed by ``python -m bench.breaker``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from rich.console import Console

from bench.breaker.scenario import Scenario
from bench.common import table


def verdict(s: Scenario) -> dict[str, Any]:
    """Whether ``s`` met the targets: nothing while open but in-flight work, exact probe grants."""
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


def print_report(data: dict[str, Any], scenarios: list[Scenario], args: argparse.Namespace) -> None:
    """The figures of every scenario as one table (a column each), then the machine notes."""
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
