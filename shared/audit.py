"""The audit trail of upstream calls: one :class:`ApiCall` per request sent (or attempted)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class ApiCall:
    """One upstream call. ``path`` is the URL path only: never a query string, body or header."""

    provider: str
    operation: str
    method: str
    path: str
    status: int | None
    latency_ms: float
    error_code: str | None = None
    job_key: str | None = None
    attempt: int | None = None


class AuditSink(Protocol):
    def record_call(self, call: ApiCall) -> None: ...


@dataclass
class MemoryAudit:
    """An in-memory sink for tests and tools."""

    calls: list[ApiCall] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record_call(self, call: ApiCall) -> None:
        with self._lock:
            self.calls.append(call)
