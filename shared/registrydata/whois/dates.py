"""Dates as WHOIS servers write them, to ``date`` (a day) or an aware UTC ``datetime`` (an instant).

A time without a zone (``1999-12-10 00:00:00`` at .it, ``1999.10.27 13:00:00`` at .pl) cannot be placed
on the UTC line, so only its day is kept; a time with a zone (``Z``, ``+01:00``, ``UTC``, ``(JST)``) is
converted to UTC. Anything unreadable (``before Aug-1996`` at Nominet) is None, never a guess.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone

_MONTHS = {m: i for i, m in enumerate("jan feb mar apr may jun jul aug sep oct nov dec".split(), start=1)}
#: Zone names seen in WHOIS answers (JPRS prints "(JST)").
_ZONES = {"utc": 0, "gmt": 0, "z": 0, "jst": 9 * 60, "cet": 60, "cest": 120, "msk": 180}

_ISO = re.compile(
    r"(?P<y>\d{4})[-./](?P<m>\d{1,2})[-./](?P<d>\d{1,2})"
    r"(?:[T ]+(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?:\.(?P<f>\d+))?)?)?"
    r"\s*(?P<z>Z|[+-]\d{2}:?\d{2}|\(?(?:UTC|GMT|JST|CET|CEST|MSK)\)?)?",
    re.I,
)
_DMY = re.compile(
    r"(?P<d>\d{1,2})[- ](?P<mon>[a-z]{3})[a-z]*[- ](?P<y>\d{4})"
    r"(?:[T ]+(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2}))?)?"
    r"\s*(?P<z>Z|[+-]\d{2}:?\d{2}|UTC|GMT)?",
    re.I,
)
_COMPACT = re.compile(r"(?<!\d)(?P<y>(?:19|20)\d{2})(?P<m>\d{2})(?P<d>\d{2})(?!\d)")


def _zone(text: str | None) -> timezone | None:
    if not text:
        return None
    text = text.strip("()").lower()
    if text in _ZONES:
        return timezone(timedelta(minutes=_ZONES[text]))
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    return timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:4])))


def _build(y: int, m: int, d: int, parts: dict[str, str | None]) -> date | datetime | None:
    try:
        day = date(y, m, d)
    except ValueError:
        return None
    zone = _zone(parts.get("z"))
    if parts.get("H") is None or zone is None:
        return day  # no time, or a time on no known clock: the day is what is known
    fraction = (parts.get("f") or "0")[:6].ljust(6, "0")
    try:
        moment = datetime(
            y, m, d, int(parts["H"] or 0), int(parts["M"] or 0), int(parts.get("S") or 0), int(fraction)
        )
    except ValueError:
        return day
    return moment.replace(tzinfo=zone).astimezone(UTC)


def parse_date(value: str | None) -> date | datetime | None:
    """The first date in ``value`` (see the module doc), or None."""
    if not value:
        return None
    text = value.strip()
    if (match := _ISO.search(text)) is not None:
        return _build(int(match["y"]), int(match["m"]), int(match["d"]), match.groupdict())
    if (match := _DMY.search(text)) is not None:
        month = _MONTHS.get(match["mon"].lower())
        if month is None:
            return None
        return _build(int(match["y"]), month, int(match["d"]), match.groupdict())
    if (match := _COMPACT.search(text)) is not None:
        return _build(int(match["y"]), int(match["m"]), int(match["d"]), {})
    return None
