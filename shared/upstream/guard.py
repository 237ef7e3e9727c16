"""The process-wide half of every upstream request's policy: a limiter token first, block windows after.

One :class:`LimiterGuard` per process (``shared.services``), shared by every delivery and lookup. It knows
rates, not jobs: the per-delivery half (breaker, lease, effect phase, audit identity) is
:class:`~shared.upstream.policy.CallPolicy`, which calls this guard at its fixed points.
"""

from __future__ import annotations

from typing import Protocol

from shared.errors import Throttled
from shared.ratelimit.base import Limiter
from shared.settings import Settings

#: Answers whose Retry-After opens a block window for the whole fleet.
BLOCKING_STATUSES = frozenset({429, 503})


class Guard(Protocol):
    """What a :class:`~shared.upstream.policy.CallPolicy` asks of the shared limiter (tests record it)."""

    def before_request(self, provider: str, operation: str) -> None:
        """Take a limiter token; raise ``shared.errors.Throttled`` to stop the request."""

    def after_response(self, provider: str, status: int | None, retry_after: float | None) -> None:
        """Called after each request: ``status`` None when no answer came (timeout, reset)."""


class LimiterGuard:
    """Every outbound request, retries and Digest resends included, takes a token from the provider's
    shared bucket; a 429/503 opens the provider's block window for the fleet."""

    def __init__(
        self, limiter: Limiter, settings: Settings, rate_class: dict[str, str] | None = None
    ) -> None:
        self.limiter = limiter
        self.settings = settings
        # provider key -> settings name for its rate (hosts of RDAP/WHOIS map to "rdap"/"whois").
        self.rate_class = rate_class or {}

    def before_request(self, provider: str, operation: str) -> None:
        rate, burst = self.settings.rate_for(self.rate_class.get(provider, provider))
        decision = self.limiter.acquire_or_wait(provider, rate, burst, self.settings.max_inline_wait_ms)
        if not decision.allowed:
            reason = decision.reason or ("block window" if decision.blocked else "rate limit")
            raise Throttled(provider, decision.wait_ms / 1000.0, reason)

    def after_response(self, provider: str, status: int | None, retry_after: float | None) -> None:
        if status in BLOCKING_STATUSES:
            seconds = retry_after if retry_after is not None else 1.0
            self.limiter.block(provider, seconds, f"HTTP {status} from {provider}")


def route_to_rate_class(guard: object, provider: str, rate_class: str) -> None:
    """Give limiter key ``provider`` (an RDAP or WHOIS host, known only when met) the rates of
    ``rate_class`` in a :class:`LimiterGuard` (other guards, e.g. tests' recorders, have no such map)."""
    if isinstance(guard, LimiterGuard):
        guard.rate_class.setdefault(provider, rate_class)
