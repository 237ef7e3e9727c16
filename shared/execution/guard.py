"""The CallGuard the outbound client calls around every request: a token first, block windows after."""

from __future__ import annotations

import time

from shared.breaker.base import OPEN, Breaker
from shared.errors import BreakerOpen, Throttled
from shared.ratelimit.base import Limiter
from shared.settings import Settings

#: Answers whose Retry-After opens a block window for the whole fleet.
BLOCKING_STATUSES = frozenset({429, 503})


class LimiterGuard:
    """Every outbound request, retries included, takes a token from the provider's shared bucket; a retry
    inside one call also stops if the shared breaker opened since the call was permitted."""

    def __init__(
        self,
        limiter: Limiter,
        settings: Settings,
        breaker: Breaker | None = None,
        rate_class: dict[str, str] | None = None,
    ) -> None:
        self.limiter = limiter
        self.settings = settings
        self.breaker = breaker
        # provider key -> settings name for its rate (hosts of RDAP/WHOIS map to "rdap"/"whois").
        self.rate_class = rate_class or {}

    def before_request(self, provider: str, operation: str) -> None:
        rate, burst = self.settings.rate_for(self.rate_class.get(provider, provider))
        decision = self.limiter.acquire_or_wait(provider, rate, burst, self.settings.max_inline_wait_ms)
        if not decision.allowed:
            reason = decision.reason or ("block window" if decision.blocked else "rate limit")
            raise Throttled(provider, decision.wait_ms / 1000.0, reason)

    def before_retry(self, provider: str, operation: str) -> None:
        if self.breaker is None:
            return
        state = self.breaker.state(provider)
        if state.state == OPEN:  # half-open: this may be the probe's own retry, which is the probe
            wait = max(0.0, (state.opened_until or 0.0) - time.time())
            raise BreakerOpen(
                f"breaker opened during the call; {operation} not retried",
                provider=provider,
                retry_after=wait,
            )

    def after_response(self, provider: str, status: int | None, retry_after: float | None) -> None:
        if status in BLOCKING_STATUSES:
            seconds = retry_after if retry_after is not None else 1.0
            self.limiter.block(provider, seconds, f"HTTP {status} from {provider}")


def route_to_rate_class(guard: object, provider: str, rate_class: str) -> None:
    """Give limiter key ``provider`` (an RDAP or WHOIS host, known only when met) the rates of
    ``rate_class`` in a :class:`LimiterGuard` (other guards, e.g. tests' recorders, have no such map)."""
    if isinstance(guard, LimiterGuard):
        guard.rate_class.setdefault(provider, rate_class)
