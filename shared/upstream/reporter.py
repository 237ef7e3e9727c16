"""The breaker's side of one delivery: its permission, every call's outcome, and its end.

The ONLY place a delivery consults the breaker (:class:`~shared.upstream.policy.CallPolicy` holds one):

* :meth:`CallReporter.admit`: the breaker's permission (:meth:`Breaker.before_call`), asked once per
  delivery, before its first request; refused -> the delivery waits;
* :meth:`CallReporter.__call__`: each HTTP request the delivery makes (retries inside it included)
  reports its own verdict the moment it is answered or fails: a job whose first call failed and whose
  second succeeded is one failure and one success, told as they happen, not a verdict at the job's end.
  The breaker's sliding window then judges the failure rate of calls, fleet-wide;
* :meth:`CallReporter.before_retry`: a retry inside one call stops if the breaker opened meanwhile (the
  permit was for the first try, not for a sick upstream);
* :meth:`CallReporter.settle`: the delivery's end.

A half-open probe permit is the delivery's FIRST reported call: that call decides (closes or reopens);
the delivery's later calls are ordinary reports. ``settle`` closes the delivery's account: a failure no
call reported (the upstream's name did not resolve, an answer the gateway could not use after the call)
counts as one failed call, and a probe that reached nobody gives its half-open slot back. A report Redis
could not take is logged and dropped: the call's answer stands.
"""

from __future__ import annotations

import logging
import time

from shared.backends import backend_errors
from shared.breaker.base import OPEN, Breaker, Permit
from shared.errors import BackendUnavailable, BreakerOpen, BreakerVerdict

log = logging.getLogger(__name__)


class CallReporter:
    """The breaker account of one delivery to one provider (a delivery runs on one thread). ``permit``:
    one already asked for; without it, :meth:`admit` asks."""

    def __init__(self, breaker: Breaker, provider: str, permit: Permit | None = None) -> None:
        self.breaker = breaker
        self.provider = provider
        self.permit = permit
        self._probe = permit.probe if permit is not None else False
        self.reported = 0
        self.last: BreakerVerdict | None = None

    def admit(self) -> Permit:
        """The breaker's permission for this delivery, asked once (later calls give the same answer)."""
        if self.permit is None:
            self.permit = self.breaker.before_call(self.provider)
            self._probe = self.permit.probe
        return self.permit

    def require(self) -> None:
        """Before a request: BreakerOpen unless the delivery is admitted."""
        permit = self.admit()
        if not permit.allowed:
            raise BreakerOpen(
                f"circuit breaker for {self.provider} is {permit.state}; retry in {permit.retry_after:.0f} s",
                provider=self.provider,
                retry_after=permit.retry_after,
            )

    def before_retry(self, operation: str) -> None:
        state = self.breaker.state(self.provider)
        if state.state == OPEN:  # half-open: this may be the probe's own retry, which is the probe
            wait = max(0.0, (state.opened_until or 0.0) - time.time())
            raise BreakerOpen(
                f"breaker opened during the call; {operation} not retried",
                provider=self.provider,
                retry_after=wait,
            )

    def __call__(self, verdict: BreakerVerdict) -> None:
        if verdict == "none":
            return
        probe, self._probe = self._probe, False
        self.reported += 1
        self.last = verdict
        try:
            with backend_errors():
                if verdict == "failure":
                    self.breaker.record_failure(self.provider, probe=probe)
                else:
                    self.breaker.record_success(self.provider, probe=probe)
        except BackendUnavailable as exc:  # one report lost; the answer the call got stands
            log.warning("breaker %s: a %s report was lost: %s", self.provider, verdict, exc)

    def settle(self, verdict: BreakerVerdict) -> None:
        """The delivery ended, its error (or success) saying ``verdict``."""
        if self.permit is None:
            return  # never admitted: nothing reached the upstream, nothing to close
        if verdict == "failure" and self.last != "failure":
            self(verdict)  # a failure that no call reported
        if self._probe:
            self._probe = False
            try:
                with backend_errors():
                    self.breaker.release_probe(self.provider)
            except BackendUnavailable as exc:  # the slot frees itself after the probe timeout
                log.warning("breaker %s: a probe slot was not given back: %s", self.provider, exc)
