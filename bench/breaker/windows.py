"""Closed / open / half-open windows from the breaker journal, and the figures counted per window."""

from __future__ import annotations

import bisect
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from bench.breaker.scenario import PROVIDER, Scenario
from bench.breaker.trace import (
    AFTER_REPORT,
    CLOSED_PERMIT,
    NO_PERMIT,
    OPEN_PERMIT,
    OUTSIDE,
    PROBE,
    PROBE_REOPENED,
    UNMATCHED,
    Send,
    match,
)
from shared.breaker import CLOSED, HALF_OPEN, OPEN, Transition


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
    """Fill ``scenario`` with the transitions, the requests per window and their attribution, and the
    probe attempts and refused asks of every half-open window, up to ``end``."""
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
            who = PROBE_REOPENED
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
    scenario.open_in_flight_probe = open_attr[PROBE_REOPENED]
    scenario.open_without_permit = open_attr[AFTER_REPORT] + open_attr[NO_PERMIT] + open_attr[OUTSIDE]
    scenario.open_granted_while_open = open_attr[OPEN_PERMIT]
    scenario.open_unattributed = open_attr[UNMATCHED]
    scenario.in_flight_lag_ms_max = round(max(lag_ms), 1) if lag_ms else 0.0
