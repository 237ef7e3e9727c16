"""The singleflight interface: ``do(key, fetch)`` runs ``fetch`` once for every concurrent caller of ``key``.

The first caller leads: it runs ``lookup`` (e.g. the cache, filled meanwhile by a flight that just ended)
and, when that gives nothing, ``fetch``; its outcome is shared with every caller that arrived while it ran
(followers), who wait for it at most ``wait_seconds``. Outcomes travel as text (``encode``/``decode``,
JSON by default), so every follower gets its own copy, on every backend. What a follower gets:

* the leader's value, decoded;
* :class:`LeaderFailed` (a wait) when the leader's fetch raised: its error type, message and
  ``retry_after`` (the leader's own, else ``LOOKUP_FLIGHT_FAILED_RETRY_SECONDS``); followers do not each
  repeat a failing request;
* after ``wait_seconds`` without an outcome: :class:`FlightTimeout` (a wait) with ``on_timeout="raise"``,
  or its own ``fetch`` (not shared) with ``on_timeout="fetch"``;
* the lead itself, when the leader died or gave up without an outcome (see the backends: a dead Redis
  leader's lease lapses within ``lease_seconds``).

A flight's outcome is for its own followers only: a caller arriving after it ended starts a new flight
(its ``lookup`` finds the cache the old one filled), so a result that was not worth caching (a partial
lookup) is never served again from here.
"""

from __future__ import annotations

import json
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, TypeVar

from shared import defaults
from shared.errors import MustWait
from shared.settings import Settings

T = TypeVar("T")
OnTimeout = Literal["raise", "fetch"]
PROVIDER = "singleflight"


class FlightTimeout(MustWait):
    """The leader of ``key`` is alive but gave no outcome within the wait bound: try again later."""

    wait_code: ClassVar[str] = "shared_fetch"  # a waiting job's label (shared.wait_reasons)

    def __init__(self, key: str, waited: float, retry_after: float) -> None:
        super().__init__(
            PROVIDER, retry_after, f"another lookup of {key} is still fetching after {waited:.1f} s"
        )
        self.key = key
        self.waited = waited


class LeaderFailed(MustWait):
    """The leader's fetch of ``key`` raised ``error_type`` (``message``); try again after ``retry_after``."""

    wait_code: ClassVar[str] = "shared_fetch"  # a waiting job's label (shared.wait_reasons)

    def __init__(
        self, key: str, error_type: str, message: str, retry_after: float, provider: str = ""
    ) -> None:
        super().__init__(provider or PROVIDER, retry_after, f"the shared fetch of {key} failed: {message}")
        self.key = key
        self.error_type = error_type
        self.error_message = message


@dataclass(frozen=True)
class FlightConfig:
    """Lease of a leader (renewed every third of it), a follower's wait bound, how long an outcome stays
    readable, the followers' poll interval (first, largest), the wait after a failed fetch."""

    lease_seconds: float = defaults.LOOKUP_FLIGHT_LEASE_SECONDS
    wait_seconds: float = defaults.LOOKUP_FLIGHT_WAIT_SECONDS
    result_ttl_seconds: float = defaults.LOOKUP_FLIGHT_RESULT_TTL_SECONDS
    poll_seconds: tuple[float, float] = defaults.LOOKUP_FLIGHT_POLL_SECONDS
    failed_retry_seconds: float = defaults.LOOKUP_FLIGHT_FAILED_RETRY_SECONDS

    def __post_init__(self) -> None:
        for name in ("lease_seconds", "wait_seconds", "result_ttl_seconds", "failed_retry_seconds"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)!r}")
        if not 0 < self.poll_seconds[0] <= self.poll_seconds[1]:
            raise ValueError(
                f"poll_seconds must be (first, largest) with 0 < first <= largest: {self.poll_seconds}"
            )

    @classmethod
    def from_settings(cls, settings: Settings) -> FlightConfig:
        return cls(
            lease_seconds=settings.lookup_flight_lease_seconds,
            wait_seconds=settings.lookup_flight_wait_seconds,
        )


@dataclass
class FlightStats:
    """What this instance's callers did: led a fetch, got a leader's value, got its failure, timed out,
    took over from a leader that vanished; ``waiting`` is how many wait right now."""

    led: int = 0
    followed: int = 0
    failed: int = 0
    timed_out: int = 0
    took_over: int = 0
    waiting: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, name: str, delta: int = 1) -> None:
        with self._lock:
            setattr(self, name, getattr(self, name) + delta)


# --- outcomes as text: "v" + encoded value, or "e" + a JSON error summary --------------------------------
def value_outcome(text: str) -> str:
    return "v" + text


def error_outcome(exc: BaseException) -> str:
    retry_after = getattr(exc, "retry_after", None)
    summary = {
        "type": type(exc).__name__,
        "message": str(exc),
        "retry_after": retry_after if isinstance(retry_after, int | float) else None,
        "provider": str(getattr(exc, "provider", "") or ""),
    }
    return "e" + json.dumps(summary)


class Singleflight(ABC):
    """One fetch per key among concurrent callers, for the backend's reach (the fleet, or this process)."""

    def __init__(self, config: FlightConfig | None = None) -> None:
        self.config = config or FlightConfig()
        self.stats = FlightStats()

    @abstractmethod
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
        """``fetch()``'s value, from this caller's own fetch or the concurrent leader's (see the module)."""

    # --- shared by the backends -------------------------------------------------------------------
    def _wait_bound(self, wait_seconds: float | None) -> float:
        bound = self.config.wait_seconds if wait_seconds is None else wait_seconds
        if not bound > 0:
            raise ValueError(f"wait_seconds must be positive, got {bound!r}")
        return bound

    def _run_leader(
        self, fetch: Callable[[], T], encode: Callable[[T], str], lookup: Callable[[], T | None] | None
    ) -> tuple[T, str]:
        """The leader's value and its outcome text; the fetch's (or encode's) exception propagates."""
        value = lookup() if lookup is not None else None
        if value is None:
            value = fetch()
        return value, value_outcome(encode(value))

    def _followed(self, key: str, outcome: str, decode: Callable[[str], T]) -> T:
        """A follower's answer from the leader's outcome text: its value, or LeaderFailed."""
        if outcome.startswith("v"):
            self.stats.add("followed")
            return decode(outcome[1:])
        self.stats.add("failed")
        summary: dict[str, Any] = json.loads(outcome[1:])
        retry_after = summary.get("retry_after")
        raise LeaderFailed(
            key,
            str(summary.get("type")),
            str(summary.get("message")),
            float(retry_after) if retry_after is not None else self.config.failed_retry_seconds,
            str(summary.get("provider") or ""),
        )

    def _timed_out(
        self,
        key: str,
        waited: float,
        fetch: Callable[[], T],
        lookup: Callable[[], T | None] | None,
        on_timeout: OnTimeout,
    ) -> T:
        self.stats.add("timed_out")
        if on_timeout == "fetch":
            value = lookup() if lookup is not None else None
            return fetch() if value is None else value
        raise FlightTimeout(key, waited, self.config.lease_seconds)
