"""The CallGuard the outbound client calls around every request: a token first, block windows after."""

from __future__ import annotations

from shared.errors import Throttled
from shared.ratelimit.base import Limiter
from shared.settings import Settings

#: Answers whose Retry-After opens a block window for the whole fleet.
BLOCKING_STATUSES = frozenset({429, 503})


class LimiterGuard:
    """Every outbound request, retries included, takes a token from the provider's shared bucket."""

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
