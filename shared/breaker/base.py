"""A circuit breaker per provider, shared by every worker, with a durable journal of its transitions.

States: ``closed`` (calls go through; their outcomes are counted), ``open`` (calls are refused until
``opened_until``), ``half_open`` (exactly ``probes`` calls are let through, fleet-wide; the first probe
outcome decides: success closes, failure opens a new window).

Two triggers open a closed breaker (the count-based model of resilience4j): ``failures`` consecutive
failed calls, or a failure rate of at least ``failure_rate`` percent over the last ``window_calls``
calls once the window holds ``min_calls`` of them. The rate trigger is what tells a sick upstream
(half its answers are 5xx) from bad luck (a few percent of timeouts) at any traffic level; the
consecutive trigger opens quickly on a dead upstream before the window has filled. Opening and
closing start a new, empty window. Each OUTCOME reported is one upstream call (one HTTP request, a
retry inside a delivery included): the execution layer reports every call when it is answered, not a
job's verdict at its end (:class:`shared.upstream.reporter.CallReporter`).

Only the CALLER decides what a failure is. The task layer reports ``record_failure`` for transient and
upstream-down errors only (timeouts, connection errors, 5xx, unparseable answers); an answer that shows
the upstream alive (a validation error, "domain taken", an auth error) is a ``record_success`` as far as
the breaker is concerned. A caller given a probe (``Permit.probe``) must report its outcome with
``probe=True``; a probe never reported frees its slot after ``probe_timeout_seconds``.

Every transition is recorded once in a :class:`BreakerJournal` (the backend tells exactly one caller that
it made the transition). When the backend has no state for a provider (Redis restarted or was flushed,
a fresh process for the memory backend) the last journal record restores it: still open if that record
was open/half_open with ``opened_until`` in the future, closed otherwise.
"""

from __future__ import annotations

import logging
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol

from shared.errors import ConfigError

if TYPE_CHECKING:
    from shared.settings import Settings

log = logging.getLogger(__name__)

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"
StateName = Literal["closed", "open", "half_open"]
Op = Literal["before", "success", "failure", "release", "state", "reset"]


@dataclass(frozen=True)
class BreakerConfig:
    """``failures`` consecutive failed calls, or ``failure_rate`` percent of the last ``window_calls``
    calls (once there are ``min_calls`` of them; ``window_calls=0`` turns this trigger off), open the
    breaker for ``reset_seconds``; then ``probes`` calls test the upstream; a probe not reported in
    ``probe_timeout_seconds`` frees its slot. Callers refused in half-open are told to come back after
    at most ``half_open_retry_seconds``."""

    failures: int
    reset_seconds: float
    probes: int
    probe_timeout_seconds: float
    half_open_retry_seconds: float = 5.0
    window_calls: int = 0
    min_calls: int = 1
    failure_rate: float = 50.0

    def __post_init__(self) -> None:
        if self.failures < 1 or self.probes < 1:
            raise ValueError("failures and probes must be at least 1")
        if self.reset_seconds <= 0 or self.probe_timeout_seconds <= 0 or self.half_open_retry_seconds <= 0:
            raise ValueError("reset, probe timeout and half-open retry must be positive")
        if not 0 <= self.window_calls <= 1000:
            raise ValueError("window_calls must be between 0 (off) and 1000")
        if self.window_calls and not 1 <= self.min_calls <= self.window_calls:
            raise ValueError("min_calls must be between 1 and window_calls")
        if not 0 < self.failure_rate <= 100:
            raise ValueError("failure_rate is a percentage in (0, 100]")

    @classmethod
    def from_settings(cls, settings: Settings) -> BreakerConfig:
        if settings.breaker_window_calls and settings.breaker_min_calls > settings.breaker_window_calls:
            raise ConfigError(
                "REGQ_BREAKER_MIN_CALLS",
                f"{settings.breaker_min_calls} is more than REGQ_BREAKER_WINDOW_CALLS "
                f"({settings.breaker_window_calls}): the failure rate would never be judged",
            )
        return cls(
            failures=settings.breaker_failures,
            reset_seconds=float(settings.breaker_reset_seconds),
            probes=settings.breaker_probes,
            probe_timeout_seconds=float(settings.breaker_probe_timeout_seconds),
            window_calls=settings.breaker_window_calls,
            min_calls=settings.breaker_min_calls,
            failure_rate=float(settings.breaker_failure_rate),
        )


@dataclass(frozen=True)
class Permit:
    """``allowed``: make the call. ``probe``: it is a half-open probe; report it with ``probe=True``.
    ``retry_after``: seconds to wait before asking again when refused."""

    allowed: bool
    probe: bool
    state: str
    retry_after: float


@dataclass(frozen=True)
class BreakerState:
    """``failures``: consecutive failed calls; ``calls``/``failed_calls``: the sliding window now."""

    provider: str
    state: str
    failures: int
    opened_until: float | None
    probes_in_flight: int
    calls: int = 0
    failed_calls: int = 0

    @property
    def failure_rate(self) -> float | None:
        """Percent of failed calls in the window, None while it is empty."""
        return 100.0 * self.failed_calls / self.calls if self.calls else None


@dataclass(frozen=True)
class Transition:
    """One journal record. ``at`` and ``opened_until`` are unix timestamps."""

    to_state: str
    opened_until: float | None
    failures: int
    at: float
    from_state: str = ""
    reason: str = ""
    provider: str = ""


class BreakerJournal(Protocol):
    """Durable record of breaker transitions (the store implements it; :class:`MemoryJournal` for tests)."""

    def record_transition(
        self,
        provider: str,
        from_state: str,
        to_state: str,
        reason: str,
        opened_until: float | None,
        failures: int,
    ) -> None: ...

    def last_transition(self, provider: str) -> Transition | None: ...


class MemoryJournal:
    """A :class:`BreakerJournal` in a list (thread-safe)."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self.records: list[Transition] = []

    def record_transition(
        self,
        provider: str,
        from_state: str,
        to_state: str,
        reason: str,
        opened_until: float | None,
        failures: int,
    ) -> None:
        record = Transition(to_state, opened_until, failures, self._clock(), from_state, reason, provider)
        with self._lock:
            self.records.append(record)

    def last_transition(self, provider: str) -> Transition | None:
        with self._lock:
            return next((r for r in reversed(self.records) if r.provider == provider), None)

    def transitions(self, provider: str | None = None) -> list[Transition]:
        with self._lock:
            return [r for r in self.records if provider is None or r.provider == provider]


@dataclass(frozen=True)
class Restore:
    """State to start from when the backend has none: ``open`` until ``opened_until`` (if still in the
    future by the backend's clock) or ``closed``."""

    state: str
    opened_until: float | None
    failures: int


@dataclass(frozen=True)
class Outcome:
    """What one backend operation did (internal to the breaker package)."""

    missing: bool
    state: str
    failures: int
    opened_until: float | None
    probes_in_flight: int
    transitioned: bool
    from_state: str
    allowed: bool
    probe: bool
    retry_after: float
    now: float
    #: the sliding window after the operation; for the transition that the failure rate made, the
    #: window that made it (an opened breaker starts a new, empty one)
    calls: int = 0
    failed_calls: int = 0


def transition_reason(out: Outcome, op: str, config: BreakerConfig, given: str) -> str:
    if op == "reset":
        return given or "manual reset"
    if out.state == HALF_OPEN:
        return "reset window elapsed"
    if out.state == CLOSED:
        return "probe succeeded"
    if out.from_state == HALF_OPEN:
        return "probe failed"
    if out.failures >= config.failures or not out.calls:
        return f"{out.failures} consecutive failures"
    rate = 100.0 * out.failed_calls / out.calls
    return f"failure rate {rate:.0f} % over the last {out.calls} calls ({out.failed_calls} failed)"


class Breaker(ABC):
    """The public API; backends implement :meth:`_run` (one atomic operation) and :meth:`providers`."""

    def __init__(self, config: BreakerConfig, journal: BreakerJournal) -> None:
        self.config = config
        self.journal = journal

    @abstractmethod
    def _run(self, provider: str, op: Op, probe: bool, restore: Restore | None) -> Outcome:
        """Apply ``op`` atomically. With ``restore=None`` and no stored state, change nothing and return
        ``missing=True``; with ``restore`` and no stored state, start from it first."""

    @abstractmethod
    def providers(self) -> list[str]:
        """Providers with stored breaker state, sorted."""

    def _restore(self, provider: str) -> Restore:
        last = self.journal.last_transition(provider)
        if last is not None and last.to_state in (OPEN, HALF_OPEN) and last.opened_until is not None:
            return Restore(OPEN, last.opened_until, last.failures)
        return Restore(CLOSED, None, 0)

    def _call(self, provider: str, op: Op, probe: bool = False, reason: str = "") -> Outcome:
        if not provider:
            raise ValueError("provider must not be empty")
        out = self._run(provider, op, probe, None)
        if out.missing:  # Redis lost the state: rebuild it from the journal, then apply op
            out = self._run(provider, op, probe, self._restore(provider))
        if out.transitioned:
            why = transition_reason(out, op, self.config, reason)
            try:
                self.journal.record_transition(
                    provider, out.from_state, out.state, why, out.opened_until, out.failures
                )
            except Exception:  # the transition stands (Redis is the truth); the record is lost
                log.exception("breaker %s: could not journal %s -> %s", provider, out.from_state, out.state)
        return out

    def before_call(self, provider: str) -> Permit:
        """May a call to ``provider`` go out now? Refusals carry ``retry_after`` seconds."""
        out = self._call(provider, "before")
        return Permit(allowed=out.allowed, probe=out.probe, state=out.state, retry_after=out.retry_after)

    def record_success(self, provider: str, probe: bool = False) -> None:
        """The call went through and the upstream answered (closed: failures reset; probe: closes)."""
        self._call(provider, "success", probe)

    def record_failure(self, provider: str, probe: bool = False) -> None:
        """The call failed in a way the caller counts (closed: +1, opens at the threshold; probe: re-opens).

        Reports arriving while open, and non-probe reports while half-open, are ignored: they describe
        calls started before the breaker opened.
        """
        self._call(provider, "failure", probe)

    def release_probe(self, provider: str) -> None:
        """A probe permit whose call never reached the upstream (throttled, lease lost) gives its slot
        back, deciding nothing; another caller may probe at once instead of after the probe timeout."""
        self._call(provider, "release", True)

    def state(self, provider: str) -> BreakerState:
        """Read-only view. Without stored state, what a restore from the journal would give."""
        out = self._run(provider, "state", False, None)
        if out.missing:
            restore = self._restore(provider)
            if restore.state == OPEN and restore.opened_until is not None and restore.opened_until > out.now:
                return BreakerState(provider, OPEN, restore.failures, restore.opened_until, 0)
            return BreakerState(provider, CLOSED, 0, None, 0)
        return BreakerState(
            provider, out.state, out.failures, out.opened_until, out.probes_in_flight, out.calls,
            out.failed_calls,
        )  # fmt: skip

    def reset(self, provider: str, reason: str) -> BreakerState:
        """Close the breaker now (an operator's decision); journaled with ``reason``."""
        out = self._call(provider, "reset", reason=reason)
        return BreakerState(provider, out.state, out.failures, out.opened_until, out.probes_in_flight)
