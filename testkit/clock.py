"""The calendar day a test sees, and a guard that keeps a test from straddling UTC midnight.

Code under test reads the date when it runs (renewal horizons, ``days_left``, per-day job keys such as
``sync:<domain>:<day>``). A test that computed "today" at import, or that ran across midnight, compared
two different days: the CI run of 2026-12-07 started at 23:58 and failed nine such tests after 00:00.
So: tests read the day with :func:`utc_today` when they need it, and the autouse fixture in
``tests/conftest.py`` calls :func:`clear_of_midnight` first, which waits (a deadline on the clock, not a
guess) until the UTC day has at least ``margin`` seconds left.
"""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta

#: Longer than any single test in ``make test`` takes (the slowest e2e test is under a minute).
MARGIN_SECONDS = 150.0


def utc_today() -> date:
    return datetime.now(UTC).date()


def seconds_to_midnight(now: datetime | None = None) -> float:
    now = now or datetime.now(UTC)
    midnight = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), UTC)
    return (midnight - now).total_seconds()


def clear_of_midnight(margin: float = MARGIN_SECONDS) -> float:
    """Return at once when the UTC day has ``margin`` seconds left; else wait until the next day has
    begun (at most ``margin`` + 1 seconds). Returns the seconds waited."""
    left = seconds_to_midnight()
    if left >= margin:
        return 0.0
    deadline = time.monotonic() + left + 1.0
    start = time.monotonic()
    day = utc_today()
    while utc_today() == day:
        if time.monotonic() > deadline + 5.0:
            raise AssertionError("the UTC day did not change when the clock said it would")
        time.sleep(min(1.0, max(0.05, seconds_to_midnight())))
    return time.monotonic() - start
