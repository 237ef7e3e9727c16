"""The figures of one breaker scenario (filled by :mod:`bench.breaker.windows`, reported as is)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

PROVIDER = "gandi"


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
