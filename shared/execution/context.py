"""Everything one delivery needs: the store, the gateway, its lease, and how to record a phase."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from shared.gateways.base import CallContext, Gateway
from shared.jobs import LookupJob, RegisterJob, RenewJob
from shared.settings import Settings
from shared.store import Store
from shared.store.jobs import JobRecord


class LeaseLost(Exception):
    """Another delivery took the job over; this one must stop touching it."""


@dataclass
class Execution:
    store: Store
    settings: Settings
    gateway: Gateway
    record: JobRecord
    job: RegisterJob | RenewJob | LookupJob
    owner: str
    _armed: tuple[str, dict[str, Any] | None] | None = field(default=None, repr=False)

    @property
    def key(self) -> str:
        return self.record.key

    @property
    def call(self) -> CallContext:
        return CallContext(
            job_key=self.record.key, attempt=self.record.attempts, before_unsafe_send=self._fire
        )

    def arm(self, phase: str, data: dict[str, Any] | None = None) -> None:
        """Record ``phase`` when the next request that changes something at the registrar leaves: after
        its limiter token, so a request throttled before sending leaves nothing to reconcile."""
        self._armed = (phase, data)

    def _fire(self, operation: str) -> None:
        if self._armed is not None:
            phase, data = self._armed
            self.set_phase(phase, {**(data or {}), "operation": operation})
            self._armed = None

    def set_phase(self, phase: str, data: dict[str, Any] | None = None) -> None:
        """Record the phase before/after an outside call; fails if the lease was lost."""
        if not self.store.jobs.set_phase(self.key, self.owner, phase, data):
            raise LeaseLost(self.key)
