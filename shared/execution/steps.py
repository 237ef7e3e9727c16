"""What a delivery ends in: the job is done (ack), or it must run again later (re-schedule)."""

from __future__ import annotations

from dataclasses import dataclass

from shared.jobs import JobOutcome


@dataclass(frozen=True)
class Done:
    """Nothing more to do for this message; ``outcome`` is None for a key the store does not know.
    ``webhooks``: the outbox rows (delivery ids) recorded with the outcome, for the caller to publish."""

    outcome: JobOutcome | None
    webhooks: tuple[int, ...] = ()


@dataclass(frozen=True)
class Defer:
    """Run the job again in ``countdown`` seconds. ``counted`` says whether this delivery used an attempt;
    ``webhooks``: the outbox rows recorded with it (a lookup's partial answer), for the caller to publish."""

    countdown: float
    reason: str
    counted: bool
    webhooks: tuple[int, ...] = ()


Step = Done | Defer
