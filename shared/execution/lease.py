"""Keeps a claimed job's lease alive while the delivery runs, so only a dead worker loses it."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from types import TracebackType

from shared.store.jobs import JobStore

log = logging.getLogger(__name__)


class LeaseKeeper:
    """A daemon thread renewing the lease every third of its length; ``lost`` if renewal failed."""

    def __init__(
        self,
        jobs: JobStore,
        key: str,
        owner: str,
        lease_seconds: float,
        also: Callable[[], object] | None = None,
    ) -> None:
        self.jobs, self.key, self.owner, self.lease_seconds = jobs, key, owner, lease_seconds
        self.also = also  # renewed on the same tick, e.g. the domain lock
        self.lost = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"lease-{key[:40]}", daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.lease_seconds / 3):
            try:
                if not self.jobs.renew_lease(self.key, self.owner, self.lease_seconds):
                    self.lost = True
                    log.warning("lease on %s was lost (another delivery took over)", self.key)
                    return
                if self.also is not None:
                    self.also()
            except Exception:
                log.exception("renewing the lease on %s failed", self.key)

    def __enter__(self) -> LeaseKeeper:
        self._thread.start()
        return self

    def __exit__(self, *exc: object | TracebackType | None) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
