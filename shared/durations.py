"""Durations as an operator types them on the command line: ``30d``, ``12h``, ``90m``, ``45s``, ``2w``, or
a sum of them (``1d12h``). Used by ``regq api-token create --expires-in`` and ``rotate-secret --window``.

No library in regq's dependencies reads this form (pydantic reads ISO 8601 ``P30D`` and plain seconds,
which nobody types for a month), so this is the whole grammar: one or more ``<digits><unit>``, units
``w d h m s``, no sign, no spaces, no fraction; the total at least ``minimum`` and at most ten years.
"""

from __future__ import annotations

import re
from datetime import timedelta

_UNITS = {"w": 7 * 86400, "d": 86400, "h": 3600, "m": 60, "s": 1}
_PIECE = re.compile(r"(\d{1,6})([wdhms])")
_WHOLE = re.compile(r"(?:\d{1,6}[wdhms])+")
#: Longer than any sensible token lifetime or rotation window: a typo (``3000d``) is refused, not kept.
MAX_DURATION = timedelta(days=3650)


def parse_duration(text: str, field: str, minimum: timedelta = timedelta(seconds=1)) -> timedelta:
    """``text`` as a timedelta; a ValueError naming ``field`` and the reason otherwise."""
    value = text.strip().lower()
    if not _WHOLE.fullmatch(value):
        raise ValueError(
            f"{field}: {text!r} is not a duration: give a number and a unit (w, d, h, m, s), "
            "e.g. 30d, 12h, 1d12h"
        )
    seconds = sum(int(number) * _UNITS[unit] for number, unit in _PIECE.findall(value))
    duration = timedelta(seconds=seconds)
    if duration < minimum:
        raise ValueError(f"{field}: {text!r} is shorter than the minimum, {_show(minimum)}")
    if duration > MAX_DURATION:
        raise ValueError(f"{field}: {text!r} is longer than the maximum, {_show(MAX_DURATION)}")
    return duration


def _show(duration: timedelta) -> str:
    seconds = int(duration.total_seconds())
    for unit in ("d", "h", "m"):
        if seconds % _UNITS[unit] == 0:
            return f"{seconds // _UNITS[unit]}{unit}"
    return f"{seconds}s"
