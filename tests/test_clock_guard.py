"""testkit/clock.py: the guard that keeps a test from straddling UTC midnight (CI of 2026-12-07)."""

from __future__ import annotations

from datetime import UTC, datetime

from testkit.clock import MARGIN_SECONDS, clear_of_midnight, seconds_to_midnight


def test_seconds_to_midnight_counts_to_the_next_utc_day() -> None:
    assert seconds_to_midnight(datetime(2026, 12, 7, 23, 58, 0, tzinfo=UTC)) == 120.0
    assert seconds_to_midnight(datetime(2026, 12, 8, 0, 0, 0, tzinfo=UTC)) == 86_400.0


def test_the_guard_returns_at_once_when_the_day_has_time_left() -> None:
    if seconds_to_midnight() > MARGIN_SECONDS + 5:
        assert clear_of_midnight() == 0.0
    assert clear_of_midnight(margin=0.0) == 0.0
