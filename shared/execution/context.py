"""Everything one delivery needs: the store, the gateway, its lease, and how to record a phase."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from shared.errors import BreakerVerdict
from shared.gateways.base import CallContext, Gateway
from shared.jobs import AnyJob
from shared.registrydata.pipeline import Pipeline
from shared.settings import Settings
from shared.store import Store
from shared.store.job_record import JobRecord


class LeaseLost(Exception):
    """Another delivery took the job over; this one must stop touching it."""


@dataclass
class Execution:
    store: Store
    settings: Settings
    gateway: Gateway | None  # the registrar's; None for a registration-data lookup
    record: JobRecord
    job: AnyJob
    owner: str
    #: raises LeaseLost once the lease or the domain lock is no longer ours (LeaseKeeper.check)
    check_alive: Callable[[], None] | None = None
    #: the registration-data lookups (RDAP/WHOIS/DNS), for a lookup job
    lookups: Pipeline | None = None
    #: hears each registrar call's outcome as it ends (the breaker's CallReporter)
    after_call: Callable[[BreakerVerdict], None] | None = None
    _armed: tuple[str, dict[str, Any] | None] | None = field(default=None, repr=False)

    @property
    def registrar(self) -> Gateway:
        """The registrar's gateway (register, renew, nameservers and availability jobs have one)."""
        if self.gateway is None:
            raise RuntimeError(f"{self.record.key}: this job has no registrar gateway")
        return self.gateway

    @property
    def key(self) -> str:
        return self.record.key

    @property
    def call(self) -> CallContext:
        return CallContext(
            job_key=self.record.key,
            attempt=self.record.attempts,
            before_effect=self._fire,
            before_request=self.check_alive,
            after_call=self.after_call,
        )

    def arm(self, phase: str, data: dict[str, Any] | None = None) -> None:
        """Record ``phase`` when the request that makes the job's effect leaves (after its limiter token,
        with credentials): a request throttled or challenged before that leaves nothing to reconcile."""
        self._armed = (phase, data)

    def _fire(self, operation: str) -> None:
        if self._armed is not None:
            phase, data = self._armed
            self.set_phase(phase, {**(data or {}), "operation": operation})
            self._armed = None

    def set_phase(self, phase: str, data: dict[str, Any] | None = None) -> None:
        """Record the phase before/after an outside call; fails if the lease was lost."""
        if self.check_alive is not None:
            self.check_alive()
        if not self.store.jobs.set_phase(self.key, self.owner, phase, data):
            raise LeaseLost(self.key)
