"""What a delivery ends in: the job is done (ack), or it must run again later (re-schedule)."""

from __future__ import annotations

from dataclasses import dataclass

from shared.jobs import JobOutcome


@dataclass(frozen=True)
class Done:
    """Nothing more to do for this message; ``outcome`` is None for a key the store does not know."""

    outcome: JobOutcome | None


@dataclass(frozen=True)
class Defer:
    """Run the job again in ``countdown`` seconds. ``counted`` says whether this delivery used an attempt."""

    countdown: float
    reason: str
    counted: bool


Step = Done | Defer
