"""In-process singleflight (``memory://``): threads of this process share one fetch per key.

One entry per key in flight, holding an event and the outcome text; the leader removes the entry and
sets the event when it ends. A leader that gives up without an outcome (an exception outside
``Exception``, such as KeyboardInterrupt) leaves none: a follower then leads.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from shared.registrydata.singleflight.base import (
    FlightConfig,
    OnTimeout,
    Singleflight,
    T,
    error_outcome,
)


@dataclass
class _Flight:
    done: threading.Event = field(default_factory=threading.Event)
    outcome: str | None = None


class MemorySingleflight(Singleflight):
    """Singleflight among the threads that share this instance."""

    def __init__(self, config: FlightConfig | None = None) -> None:
        super().__init__(config)
        self._flights: dict[str, _Flight] = {}
        self._lock = threading.Lock()

    def do(
        self,
        key: str,
        fetch: Callable[[], T],
        *,
        encode: Callable[[T], str] = json.dumps,
        decode: Callable[[str], T] = json.loads,
        lookup: Callable[[], T | None] | None = None,
        wait_seconds: float | None = None,
        on_timeout: OnTimeout = "raise",
    ) -> T:
        bound = self._wait_bound(wait_seconds)
        started = time.monotonic()
        waited_before = False
        while True:
            with self._lock:
                flight = self._flights.get(key)
                leading = flight is None
                if flight is None:
                    flight = self._flights[key] = _Flight()
            if leading:
                if waited_before:
                    self.stats.add("took_over")
                return self._lead(key, flight, fetch, encode, lookup)
            waited_before = True
            self.stats.add("waiting")
            try:
                finished = flight.done.wait(max(0.0, bound - (time.monotonic() - started)))
            finally:
                self.stats.add("waiting", -1)
            if not finished:
                return self._timed_out(key, time.monotonic() - started, fetch, lookup, on_timeout)
            if flight.outcome is not None:
                return self._followed(key, flight.outcome, decode)

    def _lead(
        self,
        key: str,
        flight: _Flight,
        fetch: Callable[[], T],
        encode: Callable[[T], str],
        lookup: Callable[[], T | None] | None,
    ) -> T:
        self.stats.add("led")
        try:
            value, flight.outcome = self._run_leader(fetch, encode, lookup)
            return value
        except Exception as exc:
            flight.outcome = error_outcome(exc)
            raise
        finally:
            with self._lock:
                self._flights.pop(key, None)
            flight.done.set()
