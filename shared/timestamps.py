"""The one timestamp format regq shows outside: RFC 3339 in UTC with ``Z`` and milliseconds.

``2026-12-08T00:13:04.123Z`` (https://www.rfc-editor.org/rfc/rfc3339#section-5.6), in the API's
answers (jobs, domains, lookups, auth codes), completion webhooks' bodies (``occurred_at``) and the CLI's
``--json`` listings (API tokens, webhooks, replays). Why this one:

- UTC with ``Z``: one spelling of the offset (``+00:00`` and ``Z`` mean the same, but a client that
  compares strings or a strict parser sees two formats);
- always three fractional digits, never zero or six: a fixed width sorts as text and parses with one
  pattern; milliseconds keep the order of jobs created within a second, and are what JavaScript's
  ``Date`` holds (``toISOString()`` writes exactly this), so a JS client round-trips them unchanged.
  Go's ``time.RFC3339`` and Python's ``datetime.fromisoformat`` (3.11) read it as it is.

Days (a domain's expiry, ``current_expiry``) stay RFC 3339 ``full-date`` (``2027-03-01``): they are
dates at the registry, not instants. A naive datetime is taken as UTC (the store keeps UTC).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

from pydantic import PlainSerializer


def rfc3339(moment: datetime) -> str:
    """``moment`` as ``YYYY-MM-DDTHH:MM:SS.mmmZ`` (UTC; microseconds truncated to milliseconds)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def rfc3339_or_none(moment: datetime | None) -> str | None:
    return rfc3339(moment) if moment is not None else None


def day_or_instant(value: date | datetime | None) -> str | None:
    """A date as ``YYYY-MM-DD``, a datetime as :func:`rfc3339` (registration data has both)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return rfc3339(value)
    return value.isoformat()


#: A datetime field of a pydantic model that serializes (mode="json") as :func:`rfc3339`.
Timestamp = Annotated[datetime, PlainSerializer(rfc3339, return_type=str, when_used="json")]
