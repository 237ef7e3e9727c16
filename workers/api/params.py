"""Every value a request carries is checked here before it reaches SQL: range, characters, NUL.

Postgres refuses NUL in text (``ValueError`` from the driver) and integers past the column's type
("integer out of range"); ``str.isdigit()`` accepts digits ``int()`` does not ("²", other scripts' digits).
A bad value is a 422 naming the parameter and the reason (:class:`workers.api.answers.Invalid`).
"""

from __future__ import annotations

import re

from shared.jobs import MAX_KEY_LENGTH
from shared.names import parse_domain
from workers.api.answers import Invalid

__all__ = ["Invalid", "cursor", "domain", "job_key"]

#: Jobs' ids are a 32-bit Postgres ``integer`` (``serial``): a cursor is at most this.
MAX_CURSOR = 2**31 - 1
#: ASCII digits only (``\d`` and ``isdigit()`` take any script's digits), at most 10 of them.
CURSOR_PATTERN = r"^[0-9]{1,10}$"
_CURSOR = re.compile(CURSOR_PATTERN)
#: A job key as the job models accept one: printable (no NUL, no control or separator characters).
KEY_PATTERN = r"^[^\x00-\x1f\x7f]+$"


def cursor(value: str | None) -> int:
    """``next_cursor`` of a previous page (an id), or 0 for the first page."""
    if value is None:
        return 0
    if not _CURSOR.fullmatch(value) or int(value) > MAX_CURSOR:
        raise Invalid("query", "cursor", "not a cursor this API gave (pass next_cursor back as it came)")
    return int(value)


def job_key(value: str) -> str:
    """A job key from the path: 1-200 printable characters, as ``idempotency_key`` is checked."""
    if not value:
        raise Invalid("path", "key", "must not be empty")
    if len(value) > MAX_KEY_LENGTH:
        raise Invalid("path", "key", f"longer than {MAX_KEY_LENGTH} characters: no job has such a key")
    if not value.isprintable():
        raise Invalid("path", "key", "must contain printable characters only (no NUL or control characters)")
    return value


def domain(value: str, where: str, name: str = "domain") -> str:
    """A domain name as its lower-cased A-label; IDNA refuses NUL, control characters and over-long names."""
    try:
        return parse_domain(value).ascii
    except ValueError as exc:
        raise Invalid(where, name, str(exc)) from None
