"""Registration terms: adding years to an expiry date the way registries do."""

from __future__ import annotations

from datetime import date, timedelta

#: Registries disagree by a day around leap days and time zones; never more.
TOLERANCE = timedelta(days=1)


def add_years(day: date, years: int) -> date:
    """``day`` plus ``years`` calendar years; 29 February becomes 28 February in a common year."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def same_day(a: date | None, b: date | None) -> bool:
    """Equal within the registries' one-day tolerance."""
    return a is not None and b is not None and abs(a - b) <= TOLERANCE
