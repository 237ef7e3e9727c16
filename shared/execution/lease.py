"""Keeps a claimed job's lease (and its domain lock) alive while the delivery runs; stops it when lost.

A daemon thread renews both every third of the lease. The delivery asks :meth:`LeaseKeeper.check`
before every upstream request (the gateways' outbound client calls it) and before recording a phase:
once the lease or the domain lock was taken by someone else, or could not be renewed for most of its
length (the store or Redis unreachable, this process frozen), the delivery stops with
:class:`~shared.execution.context.LeaseLost` before its next call. That is the hinge of exactly-once:
two deliveries never both talk to the registrar about one job.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from types import TracebackType

from shared.execution.context import LeaseLost
from shared.store.jobs import JobStore

log = logging.getLogger(__name__)

#: A lease not renewed for this share of its length is treated as lost: the store may already let
#: another delivery take the job over when the whole lease has passed.
STALE_SHARE = 0.8


class LeaseKeeper:
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
        self.clock = clock
        self.lost = False
        self.reason = ""
        self._renewed_at = clock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"lease-{key[:40]}", daemon=True)

    def _lose(self, reason: str) -> None:
        self.lost, self.reason = True, reason
        log.warning("%s: %s", self.key, reason)

    def renew_once(self) -> bool:
        """One renewal of the lease and the domain lock; False once either is lost (then for good)."""
        if self.lost:
            return False
        try:
            if not self.jobs.renew_lease(self.key, self.owner, self.lease_seconds):
                self._lose("lease lost (another delivery took the job over)")
                return False
            if self.also is not None and not self.also():
                self._lose("domain lock lost (it expired and another job took it)")
                return False
        except Exception:  # the store or Redis unreachable: try again next tick; check() tells staleness
            log.exception("renewing the lease on %s failed", self.key)
            return True
        self._renewed_at = self.clock()
        return True

    def _run(self) -> None:
        while not self._stop.wait(self.lease_seconds / 3):
            if not self.renew_once():
                return

    def check(self) -> None:
        """Raise LeaseLost if this delivery may no longer act for the job."""
        if self.lost:
            raise LeaseLost(f"{self.key}: {self.reason}")
        stale = self.clock() - self._renewed_at
        if stale > self.lease_seconds * STALE_SHARE:
            self._lose(f"lease not renewed for {stale:.1f} s of {self.lease_seconds:g} s")
            raise LeaseLost(f"{self.key}: {self.reason}")

    def __enter__(self) -> LeaseKeeper:
        self._thread.start()
        return self

    def __exit__(self, *exc: object | TracebackType | None) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
