"""Keeps a held thing with a time to live (a lease, a lock) alive: a thread renews it every third of it.

Three holders use it: a delivery's job lease and domain lock (``shared.execution.lease.LeaseKeeper``),
the renewal scan's lock (``shared.renewal_scan``) and a singleflight leader's lease
(``shared.registrydata.singleflight.redis``). Renewing every third leaves two more tries before the time to
live runs out, so one failed renewal (a Redis or database blip) costs nothing.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Self

log = logging.getLogger(__name__)

#: Not renewed for this share of its time to live, a hold is treated as lost: the store may let another
#: holder take it once the whole time has passed.
STALE_SHARE = 0.8


class Keeper:
    """Calls ``renew()`` every ``ttl_seconds / 3`` from a daemon thread, from ``start`` to ``stop``.

    ``renew()`` answers True while the hold is still ours and False once it is not: the keeper then stops
    for good. An exception is a blip: logged, tried again at the next tick. ``lost`` is true once a renewal
    answered False, or none went through for ``STALE_SHARE`` of the time to live (the store unreachable,
    this process frozen); ``reason`` says which. A ``renew`` may call :meth:`lose` first to say why itself.
    """

    def __init__(
        self,
        renew: Callable[[], bool],
        ttl_seconds: float,
        name: str,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.renew, self.ttl, self.name, self.clock = renew, ttl_seconds, name, clock
        self.reason = ""
        self._lost = False
        self._renewed_at = clock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name[:60], daemon=True)

    @property
    def lost(self) -> bool:
        if not self._lost:
            stale = self.clock() - self._renewed_at
            if stale > self.ttl * STALE_SHARE:
                self.lose(f"not renewed for {stale:.1f} s of {self.ttl:g} s")
        return self._lost

    def lose(self, reason: str) -> None:
        """Mark the hold lost (the first reason stays) and say so in the log."""
        if not self._lost:
            self._lost, self.reason = True, reason
            log.warning("%s: %s", self.name, reason)

    def renew_once(self) -> bool:
        """One renewal; False once the hold is lost (then for good)."""
        if self._lost:
            return False
        try:
            held = self.renew()
        except Exception:  # the store unreachable: try again next tick; ``lost`` tells staleness
            log.exception("%s: renewal failed", self.name)
            return True
        if not held:
            self.lose("lost (another holder has it)")
            return False
        self._renewed_at = self.clock()
        return True

    def _run(self) -> None:
        while not self._stop.wait(self.ttl / 3):
            if not self.renew_once():
                return

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object | TracebackType | None) -> None:
        self.stop()
