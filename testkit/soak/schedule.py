"""The fault schedule of a soak run: which fault happens when, deterministic from the seed.

Every ``every`` seconds from ``first_at`` until the submissions end, one event of the cycle
``kill, 5xx, kill, 429, kill, redis`` (kinds :data:`CYCLE`): a SIGKILL of a seeded registrar worker
(restarted at once), a phase of upstream 5xx answers or of 429 rate limiting on every provider
(``phase_seconds`` long), or a restart of the Redis that is also the broker (down ``redis_down_seconds``).
A 3-minute run at the defaults gets every kind at least once; a 10-minute one five Redis restarts.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

CYCLE = ("kill", "5xx", "kill", "429", "kill", "redis")
KINDS = frozenset(CYCLE)


@dataclass(frozen=True)
class FaultEvent:
    at: float  # seconds after the submissions started
    kind: str  # one of KINDS
    target: str = ""  # kill: the worker group's name
    seconds: float = 0.0  # 5xx / 429: how long the phase lasts; redis: how long it stays down
    index: int = 0  # position in the schedule (also seeds the sandbox's fault stream of a phase)

    def describe(self) -> str:
        what = {"kill": f"SIGKILL {self.target}", "redis": f"Redis restart ({self.seconds:g} s down)"}
        return f"t={self.at:5.0f} s  " + what.get(self.kind, f"{self.kind} phase for {self.seconds:g} s")


def build_schedule(
    seed: int,
    duration: float,
    workers: Sequence[str],
    *,
    every: float = 20.0,
    first_at: float = 15.0,
    phase_seconds: float = 10.0,
    redis_down_seconds: float = 2.0,
) -> list[FaultEvent]:
    """The events of a run whose submissions last ``duration`` seconds; ``workers`` may be killed."""
    if every <= 0:
        raise ValueError("every must be positive")
    rng = random.Random(seed + 31)
    events: list[FaultEvent] = []
    at, index = first_at, 0
    while at < duration:
        kind = CYCLE[index % len(CYCLE)]
        if kind == "kill":
            if workers:
                events.append(FaultEvent(at, kind, target=rng.choice(list(workers)), index=index))
        elif kind == "redis":
            events.append(FaultEvent(at, kind, seconds=redis_down_seconds, index=index))
        else:
            events.append(FaultEvent(at, kind, seconds=min(phase_seconds, every * 0.75), index=index))
        at += every
        index += 1
    return events


def phase_rules(kind: str, provider: str, index: int) -> list[dict[str, Any]]:
    """The sandbox rules of a 5xx or 429 phase (put in front of the provider's baseline rules).

    5xx: 70 % of every request answered 500 (Gandi, RDAP) or 503 (ROTLD's "service unavailable"),
    enough consecutive failures to open the breaker. 429: a bucket of 2 requests/s per provider, every
    request past it 429 with ``Retry-After``, in the seconds form on even phases and the HTTP-date form on
    odd ones (both are real)."""
    if kind == "5xx":
        status = 503 if provider == "rotld" else 500
        return [{"operation": "*", "kind": "status", "status": status, "probability": 0.7}]
    if kind == "429":
        form = "seconds" if index % 2 == 0 else "date"
        return [{"operation": "*", "kind": "rate_limit", "rate": 2, "burst": 2, "retry_after_form": form}]
    raise ValueError(f"not a phase: {kind!r}")
