"""Reading the hook's trace back: each traced send to the provider, attributed to its attempt's permit,
and each request that reached the sandbox matched to the send it is."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.breaker.scenario import PROVIDER
from shared.breaker import CLOSED

# attribution of one request, from the permit of the attempt it belongs to
CLOSED_PERMIT = "permit granted while closed"
PROBE = "half-open probe"
AFTER_REPORT = "after its attempt's outcome was reported (no new permit)"
NO_PERMIT = "in a delivery that got no permit"
OUTSIDE = "outside any job delivery"
OPEN_PERMIT = "permit granted while open"
UNMATCHED = "not matched to a traced send"
# a PROBE request that arrived in an open window
PROBE_REOPENED = "probe in flight when the breaker re-opened"


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
