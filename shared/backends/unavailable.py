"""One context manager turns "Redis did not answer" into :class:`~shared.errors.BackendUnavailable`.

redis-py raises ``ConnectionError`` (refused, reset, the server restarting: ``BusyLoadingError`` is one)
and ``TimeoutError``; a delivery must not die of them as an unexpected error (its job would sit
``running`` until its lease ran out), so the runner wraps its work in :func:`backend_errors` and gives
the job back to run again. Anything else redis-py raises (a script error, a wrong type) is a bug and
stays what it is.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import redis

from shared.errors import BackendUnavailable

#: What redis-py raises when the server cannot be reached or cannot answer now.
UNAVAILABLE: tuple[type[Exception], ...] = (redis.ConnectionError, redis.TimeoutError)


@contextmanager
def backend_errors() -> Iterator[None]:
    """Re-raise an unreachable Redis as :class:`BackendUnavailable` (naming no URL: it may hold a
    password)."""
    try:
        yield
    except UNAVAILABLE as exc:
        raise BackendUnavailable(
            f"Redis did not answer ({type(exc).__name__}): the delivery runs again"
        ) from None
