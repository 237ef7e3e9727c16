"""The one place a delivery's failure becomes a decision: wait, retry or finish, and the breaker's verdict.

The facts come from the error classes themselves (``disposition``, ``breaker``, ``final_status``; the
tree and the table are in :mod:`shared.errors`); this module only reads them, plus the attempt rule:

* attempt ``n`` (1-based, counted when a delivery claims the job) may run while ``n <= max_attempts``;
* after a failed attempt ``n`` another is scheduled only while ``n < max_attempts``;
* waits (limiter, block windows, breaker, a contact being created, a registry not showing our change
  yet) give their attempt back: they never use one up.
"""

from __future__ import annotations

from dataclasses import dataclass

from shared import backoff
from shared.errors import BreakerVerdict, Disposition, FinalStatus, RegqError


@dataclass(frozen=True)
class Decision:
    disposition: Disposition
    breaker: BreakerVerdict
    final_status: FinalStatus


def decide(exc: RegqError) -> Decision:
    """What to do after ``exc``: read off its class."""
    return Decision(exc.disposition, exc.breaker, exc.final_status)


def may_run(attempt: int, max_attempts: int) -> bool:
    """May attempt number ``attempt`` (1-based) run at all?"""
    return attempt <= max_attempts


def may_retry(attempt: int, max_attempts: int) -> bool:
    """After attempt ``attempt`` failed, is another one allowed?"""
    return attempt < max_attempts


def backoff_seconds(attempt: int, base: float, cap: float, retry_after: float | None = None) -> float:
    """Exponential backoff after failed attempt ``attempt``, at least the upstream's ``retry_after``."""
    wait = backoff.exponential(attempt, base, cap)
    return max(wait, retry_after) if retry_after is not None else wait
