"""``CallPolicy``: everything one delivery asks of every upstream request it makes, in one object.

The runner builds one per delivery and hands it to the gateway, which hands it, untouched, to the
outbound client (``OutboundClient.call(..., policy=...)``); lookups hold one without a delivery. The
client calls it at four fixed points of every request (retries, redirects and Digest resends included)::

    OutboundClient.call(..., policy=p, effect=...) ─ for each try, redirect and Digest resend:
      │ p.before_send(provider, operation)    1. breaker: the delivery's permit, asked once ─> BreakerOpen
      │                                       2. limiter: a token (guard.before_request) ───> Throttled
      │                                       3. lease: still ours? (the lease keeper) ─────> LeaseLost
      │ p.before_effect(operation)            the request that makes the job's effect only, right before
      │   (Digest: at the credentialed send)  it leaves with credentials: the ONE call that records the
      │                                       job's phase (``sending``) in the store
      │ ── the request ──
      │ p.after_response(provider, status,    a 429/503 opens the block window (guard.after_response),
      │                  retry_after, verdict)  then the breaker hears this one call's verdict
      └ p.before_retry(provider, operation)   breaker opened meanwhile ─> BreakerOpen, no retry

The breaker is consulted here only (:class:`~shared.upstream.reporter.CallReporter`); the runner asks
:meth:`CallPolicy.admit` before the handler runs (an open breaker: the job waits, nothing else happens)
and :meth:`CallPolicy.settle` when it ends.
"""

from __future__ import annotations

from collections.abc import Callable

from shared.breaker.base import Permit
from shared.errors import BreakerVerdict
from shared.upstream.guard import Guard, route_to_rate_class
from shared.upstream.reporter import CallReporter

#: Every permit a policy without a breaker gives (lookups: RDAP/WHOIS hosts have no breaker).
ALWAYS = Permit(allowed=True, probe=False, state="closed", retry_after=0.0)


class CallPolicy:
    """One delivery's policy (or a lookup client's, without ``breaker``/``lease_check``).

    ``guard``: the process's limiter guard. ``breaker``: the delivery's :class:`CallReporter`.
    ``lease_check``: raises LeaseLost once the job's lease or domain lock is no longer ours.
    ``job_key``/``attempt``: written on every audit row. An effect is armed with :meth:`on_effect`.
    """

    def __init__(
        self,
        guard: Guard | None = None,
        *,
        breaker: CallReporter | None = None,
        lease_check: Callable[[], None] | None = None,
        job_key: str | None = None,
        attempt: int | None = None,
    ) -> None:
        self.guard = guard
        self.breaker = breaker
        self.lease_check = lease_check
        self.job_key = job_key
        self.attempt = attempt
        self._record_effect: Callable[[str], None] | None = None

    def __repr__(self) -> str:
        return f"CallPolicy(job_key={self.job_key!r}, attempt={self.attempt!r})"

    # -- the delivery's side ------------------------------------------------------------------------
    def on_effect(self, record: Callable[[str], None]) -> None:
        """Make ``record(operation)`` the call :meth:`before_effect` makes, once: right before the request
        that makes the job's effect leaves (after its limiter token, with its credentials), so a request
        throttled or challenged before that leaves nothing to reconcile."""
        self._record_effect = record

    def admit(self) -> Permit:
        """The breaker's permission for this delivery (asked once; every permit without a breaker)."""
        return self.breaker.admit() if self.breaker is not None else ALWAYS

    def settle(self, verdict: BreakerVerdict) -> None:
        """The delivery ended, its error (or success) saying ``verdict``: close the breaker account."""
        if self.breaker is not None:
            self.breaker.settle(verdict)

    def route(self, provider: str, rate_class: str) -> None:
        """Limiter key ``provider`` (a host met at run time) takes the rates of ``rate_class``."""
        route_to_rate_class(self.guard, provider, rate_class)

    # -- the fixed points the outbound client calls ------------------------------------------------
    def before_send(self, provider: str, operation: str) -> None:
        """Right before a request leaves: breaker permit, limiter token, lease check, in that order."""
        if self.breaker is not None:
            self.breaker.require()
        if self.guard is not None:
            self.guard.before_request(provider, operation)  # may sleep a little for its token
        if self.lease_check is not None:
            self.lease_check()  # as late as possible: LeaseLost stops the send

    def before_effect(self, operation: str) -> None:
        """Right before the request that makes the job's effect leaves with credentials."""
        record, self._record_effect = self._record_effect, None
        if record is not None:
            record(operation)

    def after_response(
        self, provider: str, status: int | None, retry_after: float | None, verdict: BreakerVerdict = "none"
    ) -> None:
        """After each request (``status`` None when no answer came): block windows, then the breaker hears
        this one call: ``success`` (it answered as itself), ``failure`` (down, 5xx, garbage), ``none``."""
        if self.guard is not None:
            self.guard.after_response(provider, status, retry_after)
        if self.breaker is not None:
            self.breaker(verdict)

    def before_retry(self, provider: str, operation: str) -> None:
        """Before a retry inside one call: BreakerOpen if the fleet's breaker opened meanwhile."""
        if self.breaker is not None:
            self.breaker.before_retry(operation)
