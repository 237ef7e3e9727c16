"""The in-process breaker: the same transitions as ``breaker.lua``, guarded by a lock.

For unit tests (inject ``clock``) and a single-process embedded mode. A new instance has no state, so
its first operation per provider restores from the journal, exactly like Redis after a flush.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from shared.breaker.base import (
    CLOSED,
    HALF_OPEN,
    OPEN,
    Breaker,
    BreakerConfig,
    BreakerJournal,
    Op,
    Outcome,
    Restore,
)


@dataclass
class _Entry:
    state: str = CLOSED
    failures: int = 0
    opened_until: float | None = None  # ms
    probe_deadlines: list[float] = field(default_factory=list)  # ms
    window: list[bool] = field(default_factory=list)  # the last calls, oldest first: True = failed


#: (transitioned, allowed, probe granted, retry ms, the window that tripped the failure rate or None)
_Applied = tuple[bool, bool, bool, float, tuple[int, int] | None]


class MemoryBreaker(Breaker):
    """Breaker state in a dict. ``clock`` returns unix seconds."""

    def __init__(
        self, config: BreakerConfig, journal: BreakerJournal, clock: Callable[[], float] = time.time
    ) -> None:
        super().__init__(config, journal)
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: dict[str, _Entry] = {}
        self.round_trips = 0

    def forget(self, provider: str) -> None:
        """Drop a provider's state (what a Redis flush does to the Redis backend)."""
        with self._lock:
            self._entries.pop(provider, None)

    def providers(self) -> list[str]:
        with self._lock:
            return sorted(self._entries)

    def _run(self, provider: str, op: Op, probe: bool, restore: Restore | None) -> Outcome:
        with self._lock:
            self.round_trips += 1
            now = self._clock() * 1000.0
            e = self._entries.get(provider)
            if e is None:
                if restore is None:
                    return Outcome(True, "", 0, None, 0, False, "", False, False, 0.0, now / 1000.0)
                e = _Entry()
                ou = None if restore.opened_until is None else restore.opened_until * 1000.0
                if restore.state == OPEN and ou is not None and ou > now:
                    e.state, e.failures, e.opened_until = OPEN, restore.failures, ou
                if op != "state":
                    self._entries[provider] = e
            live = [d for d in e.probe_deadlines if d > now]  # expired probe slots are freed
            from_state = e.state
            transitioned = allowed = granted = False
            retry = 0.0
            tripped: tuple[int, int] | None = None
            if op != "state":
                e.probe_deadlines = live
                transitioned, allowed, granted, retry, tripped = self._apply(e, op, probe, now)
                live = e.probe_deadlines
            calls, failed = tripped or (len(e.window), sum(e.window))
            return Outcome(
                missing=False,
                state=e.state,
                failures=e.failures,
                opened_until=None if e.opened_until is None else e.opened_until / 1000.0,
                probes_in_flight=len(live),
                transitioned=transitioned,
                from_state=from_state,
                allowed=allowed,
                probe=granted,
                retry_after=math.ceil(retry) / 1000.0,
                now=now / 1000.0,
                calls=calls,
                failed_calls=failed,
            )

    def _apply(self, e: _Entry, op: Op, probe: bool, now: float) -> _Applied:
        """Mutate ``e`` for ``op``; returns (transitioned, allowed, probe granted, retry ms, the window
        that tripped the failure-rate trigger as (calls, failed) or None)."""
        cfg = self.config

        def open_window(tripped: tuple[int, int] | None = None) -> _Applied:
            e.state, e.opened_until, e.probe_deadlines = OPEN, now + cfg.reset_seconds * 1000.0, []
            e.window = []
            return True, False, False, 0.0, tripped

        def push(failed: bool) -> None:
            if cfg.window_calls:
                e.window = [*e.window, failed][-cfg.window_calls :]

        if op == "before":
            if e.state == CLOSED:
                return False, True, False, 0.0, None
            transitioned = False
            if e.state == OPEN:
                if e.opened_until is not None and now < e.opened_until:
                    return False, False, False, e.opened_until - now, None
                e.state, e.probe_deadlines, transitioned = HALF_OPEN, [], True
            if len(e.probe_deadlines) < cfg.probes:
                e.probe_deadlines.append(now + cfg.probe_timeout_seconds * 1000.0)
                return transitioned, True, True, 0.0, None
            retry = min(cfg.half_open_retry_seconds * 1000.0, min(e.probe_deadlines) - now)
            return transitioned, False, False, max(1.0, retry), None
        if op == "success":
            if e.state == CLOSED:
                e.failures = 0
                push(False)
            elif e.state == HALF_OPEN and probe:
                e.state, e.failures, e.opened_until, e.probe_deadlines = CLOSED, 0, None, []
                e.window = []
                return True, False, False, 0.0, None
        elif op == "failure":
            if e.state == CLOSED:
                e.failures += 1
                push(True)
                if e.failures >= cfg.failures:
                    return open_window()
                calls, failed = len(e.window), sum(e.window)
                if cfg.window_calls and calls >= cfg.min_calls and failed * 100 >= cfg.failure_rate * calls:
                    return open_window((calls, failed))
            elif e.state == HALF_OPEN and probe:
                e.failures += 1
                return open_window()
        elif op == "release":
            if e.state == HALF_OPEN and probe and e.probe_deadlines:
                e.probe_deadlines = sorted(e.probe_deadlines)[1:]
        elif op == "reset":
            e.state, e.failures, e.opened_until, e.probe_deadlines = CLOSED, 0, None, []
            e.window = []
            return True, False, False, 0.0, None
        return False, False, False, 0.0, None
