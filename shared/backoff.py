"""Backoff and jitter: the one formula for every wait regq chooses itself.

Used by the outbound client between tries inside one call, by the Gandi read-back poll, and by the
runner when it re-schedules a job. The jitter only ever lengthens a wait (by up to a quarter, at most a
second), so a wait an upstream asked for (Retry-After) is never cut short.

Worst case a worker may block inside one delivery (no re-schedule in between), with the defaults:
``HTTP_TRIES`` x (connect + read timeout) + the in-call backoffs, per request, plus a registrar's
read-back window (``GANDI_VISIBILITY_WAIT_SECONDS`` / ``REGISTRY_READBACK_SECONDS``) and limiter waits
of at most ``MAX_INLINE_WAIT_MS`` per request: :func:`worst_case_request_seconds` computes the first
part. Longer waits are never slept: the job is re-scheduled. The lease is renewed meanwhile, so a
blocked worker keeps its job; a frozen one loses it and stops (shared.execution.lease).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence

#: The jitter lengthens a wait by up to this share of it.
SPREAD = 0.25
#: ... and by at most this many seconds (long waits need no more spreading).
MAX_EXTRA_SECONDS = 1.0


def jitter(seconds: float, rng: Callable[[], float] = random.random) -> float:
    """``seconds`` plus up to a quarter (at most 1 s, at least 0.1 s of room for tiny waits)."""
    return seconds + rng() * min(MAX_EXTRA_SECONDS, seconds * SPREAD + 0.1)


def exponential(attempt: int, base: float, cap: float) -> float:
    """``base`` doubled per attempt after the first, at most ``cap``."""
    return min(base * 2 ** max(0, attempt - 1), cap)


def worst_case_request_seconds(
    tries: int, connect: float, read: float, backoff: Sequence[float], inline_wait_ms: float
) -> float:
    """The longest one logical request may block a worker: every try timing out, every backoff at its
    longest, every token wait at its inline maximum."""
    waits = [jitter(backoff[min(n, len(backoff) - 1)], lambda: 1.0) for n in range(tries - 1)]
    return tries * (connect + read + inline_wait_ms / 1000.0) + sum(waits)
