"""``Retry-After``: delta-seconds or an HTTP-date, rounded up, never negative, never a crash."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

#: A Retry-After beyond a week is nonsense (or hostile); it is capped rather than believed.
MAX_RETRY_AFTER = 7 * 24 * 3600.0


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value; None when absent or unparsable.

    ``"120"`` -> 120.0; ``"1.2"`` -> 2.0 (rounded UP: waiting a fraction less gets a second 429);
    ``"Wed, 21 Oct 2015 07:28:00 GMT"`` -> seconds from ``now`` (UTC) to then, rounded up, 0 if past.
    """
    if value is None:
        return None
    text = str(value).strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        seconds = None
    if seconds is not None:
        if not math.isfinite(seconds):
            return None
        return float(min(MAX_RETRY_AFTER, max(0, math.ceil(seconds))))
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:  # "-0000" or no zone: RFC 9110 dates are GMT
        when = when.replace(tzinfo=UTC)
    current = now or datetime.now(UTC)
    if current.tzinfo is None:
        current = current.replace(tzinfo=UTC)
    delta = (when - current).total_seconds()
    return float(min(MAX_RETRY_AFTER, max(0, math.ceil(delta))))
