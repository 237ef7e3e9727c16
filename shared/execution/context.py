"""Everything one delivery needs: the store, the gateway, its call policy, and how to record a phase."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shared.gateways.base import Gateway
from shared.jobs import AnyJob
from shared.registrydata.pipeline import Pipeline
from shared.settings import Settings
from shared.store import Store
from shared.store.job_record import JobRecord
from shared.upstream.policy import CallPolicy


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
    #: the delivery's policy: every registrar request gets it (limiter, breaker, lease check, effect)
    policy: CallPolicy
    #: the registration-data lookups (RDAP/WHOIS/DNS), for a lookup job
    lookups: Pipeline | None = None

    @property
    def registrar(self) -> Gateway:
        """The registrar's gateway (register, renew, nameservers and availability jobs have one)."""
        if self.gateway is None:
            raise RuntimeError(f"{self.record.key}: this job has no registrar gateway")
        return self.gateway

    @property
    def key(self) -> str:
        return self.record.key

    def set_phase(self, phase: str, data: dict[str, Any] | None = None) -> None:
        """Record the phase before/after an outside call; fails if the lease was lost."""
        if self.policy.lease_check is not None:
            self.policy.lease_check()
        if not self.store.jobs.set_phase(self.key, self.owner, phase, data):
            raise LeaseLost(self.key)

    def record_before_effect(self, phase: str, data: dict[str, Any]) -> None:
        """Record ``phase`` (with ``data`` and the request's operation) right before the request that
        makes the job's effect leaves: the one call the policy makes at that point."""
        self.policy.on_effect(lambda operation: self.set_phase(phase, {**data, "operation": operation}))
