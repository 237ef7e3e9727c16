"""Thread-safe request, status, effect and fault counters of one sandbox server."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any


class Stats:
    """Counters served by ``GET /_sandbox/stats``. Admin requests are never recorded here.

    * ``requests``: every non-admin request that arrived (Digest challenges and 401s included);
    * ``request_times``: the arrival time (``time.time()``) of each of those, in order;
    * ``unauthorized``: how many of them were refused with 401;
    * ``by_operation``: authenticated requests only, by operation name (faulted ones included); every
      operation of the provider is listed, with 0 when unseen;
    * ``operation_times``: ``{operation: [arrival times]}`` of those (only operations seen), for a rate of
      one kind of request (a benchmark's busiest second of transfer status reads);
    * ``by_status``: every HTTP status actually sent (dropped connections send none);
    * ``effects``: ``{domain: {"create": n, "renew": n, "nameservers": n}}`` state changes applied (the
      day-2 ones, ``transfer``, ``lock``, ``contact``, ``glue_create``..., are listed in
      :mod:`sandbox.gandi_day2` and :mod:`sandbox.rotld_day2`);
    * ``faults_injected``: ``{kind: n}`` faults that fired.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._known: tuple[str, ...] = ()
        self._reset_unlocked()

    def declare_operations(self, names: tuple[str, ...]) -> None:
        """Operations always listed in ``by_operation`` (0 until seen), so readers need no ``.get``."""
        with self._lock:
            self._known = names
            for name in names:
                self._by_operation.setdefault(name, 0)

    def _reset_unlocked(self) -> None:
        self._requests = 0
        self._unauthorized = 0
        self._times: list[float] = []
        self._by_operation: Counter[str] = Counter(dict.fromkeys(self._known, 0))
        self._operation_times: dict[str, list[float]] = {}
        self._by_status: Counter[str] = Counter()
        self._effects: dict[str, Counter[str]] = {}
        self._faults: Counter[str] = Counter()

    def reset(self) -> None:
        with self._lock:
            self._reset_unlocked()

    def arrival(self, at: float) -> None:
        with self._lock:
            self._requests += 1
            self._times.append(at)

    def unauthorized(self) -> None:
        with self._lock:
            self._unauthorized += 1

    def operation(self, name: str, at: float | None = None) -> None:
        with self._lock:
            self._by_operation[name] += 1
            if at is not None:
                self._operation_times.setdefault(name, []).append(at)

    def status(self, code: int) -> None:
        with self._lock:
            self._by_status[str(code)] += 1

    def effect(self, domain: str, kind: str) -> None:
        with self._lock:
            self._effects.setdefault(domain, Counter())[kind] += 1

    def fault(self, kind: str) -> None:
        with self._lock:
            self._faults[kind] += 1

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "requests": self._requests,
                "unauthorized": self._unauthorized,
                "by_operation": dict(self._by_operation),
                "by_status": dict(self._by_status),
                "effects": {d: dict(c) for d, c in self._effects.items()},
                "faults_injected": dict(self._faults),
                "request_times": list(self._times),
                "operation_times": {name: list(times) for name, times in self._operation_times.items()},
            }
