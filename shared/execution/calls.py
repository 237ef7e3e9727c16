"""What the breaker hears from one delivery: every upstream call's outcome, when the call ends.

A delivery asks the breaker once, before its first call (:meth:`Breaker.before_call`); then each HTTP
request it makes to the registrar (retries inside the delivery included) reports its own verdict
through :attr:`CallContext.after_call`, the moment it is answered or fails: a job whose first call
failed and whose second succeeded is one failure and one success, told as they happen, not a verdict
at the job's end. The breaker's sliding window then judges the failure rate of calls, fleet-wide.

A half-open probe permit is the delivery's FIRST reported call: that call decides (closes or reopens);
the delivery's later calls are ordinary reports. :meth:`CallReporter.settle` closes the delivery's
account: a failure no call reported (the upstream's name did not resolve, an answer the gateway could
not use after the call) counts as one failed call, and a probe that reached nobody gives its half-open
slot back. A report Redis could not take is logged and dropped: the call's answer stands.
"""

from __future__ import annotations

import logging

from shared.backends import backend_errors
from shared.breaker.base import Breaker, Permit
from shared.errors import BackendUnavailable, BreakerVerdict

log = logging.getLogger(__name__)


class CallReporter:
    """The ``after_call`` hook of one delivery to one provider (a delivery runs on one thread)."""

    def __init__(self, breaker: Breaker, provider: str, permit: Permit) -> None:
        self.breaker = breaker
        self.provider = provider
        self._probe = permit.probe
        self.reported = 0
        self.last: BreakerVerdict | None = None

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
        if verdict == "failure" and self.last != "failure":
            self(verdict)  # a failure that no call reported
        if self._probe:
            self._probe = False
            try:
                with backend_errors():
                    self.breaker.release_probe(self.provider)
            except BackendUnavailable as exc:  # the slot frees itself after the probe timeout
                log.warning("breaker %s: a probe slot was not given back: %s", self.provider, exc)
