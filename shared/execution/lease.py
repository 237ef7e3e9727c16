"""Keeps a claimed job's lease (and its domain lock) alive while the delivery runs; stops it when lost.

A :class:`~shared.locks.Keeper` thread renews both every third of the lease. The delivery asks
:meth:`LeaseKeeper.check` before every upstream request (the gateways' outbound client calls it) and before
recording a phase: once the lease or the domain lock was taken by someone else, or could not be renewed
for most of its length (the store or Redis unreachable, this process frozen), the delivery stops with
:class:`~shared.execution.context.LeaseLost` before its next call. That is the hinge of exactly-once:
two deliveries never both talk to the registrar about one job.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from shared.execution.context import LeaseLost
from shared.locks import Keeper
from shared.store.jobs import JobStore


class LeaseKeeper(Keeper):
    """Renews the lease every third of its length; ``lost`` once a renewal says it is no longer ours."""

    def __init__(
        self,
        jobs: JobStore,
        key: str,
        owner: str,
        lease_seconds: float,
        also: Callable[[], bool] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.jobs, self.key, self.owner, self.lease_seconds = jobs, key, owner, lease_seconds
        self.also = also  # renewed on the same tick, e.g. the domain lock; False when no longer ours
        super().__init__(self._renew, lease_seconds, f"lease-{key[:40]}", clock)

    def _renew(self) -> bool:
        """The lease, then the domain lock; the first one no longer ours says why."""
        if not self.jobs.renew_lease(self.key, self.owner, self.lease_seconds):
            self.lose("lease lost (another delivery took the job over)")
            return False
        if self.also is not None and not self.also():
            self.lose("domain lock lost (it expired and another job took it)")
            return False
        return True

    def check(self) -> None:
        """Raise LeaseLost if this delivery may no longer act for the job."""
        if self.lost:
            raise LeaseLost(f"{self.key}: {self.reason}")
