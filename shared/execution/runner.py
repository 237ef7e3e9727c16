"""One delivery of one job, from claim to recorded outcome.

::

    claim ── missing/final ──> Done (no upstream call)
      │ busy (a live lease elsewhere) ──> Defer (not an attempt)
      ▼ claimed
    breaker ── open ──> waiting, Defer until it may close (not an attempt)
      ▼ allowed
    handler (register / renew / lookup: phases around each outside call)
      ├─ success ─────────────────────────> succeeded
      ├─ Throttled, RateLimited ──────────> waiting, Defer (not an attempt)
      ├─ transient, ambiguous, protocol ──> waiting, Defer with backoff; failed after max attempts
      ├─ unavailable, not found, auth… ───> failed
      └─ registrar validation ────────────> rejected
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from shared.breaker.base import Breaker
from shared.errors import (
    AnswerPending,
    AuthError,
    BreakerOpen,
    DomainUnavailable,
    JobValidationError,
    NotFound,
    OutboundRefused,
    ProtocolError,
    RateLimited,
    Throttled,
    TransientError,
    UpstreamError,
    ValidationRejected,
)
from shared.execution.context import Execution, LeaseLost
from shared.execution.lease import LeaseKeeper
from shared.execution.lookup import run_lookup
from shared.execution.register import SENDING, Inconsistent, reconcile_register, run_register
from shared.execution.renew import run_renew
from shared.execution.steps import Defer, Done, Step
from shared.gateways.base import Gateway
from shared.jobs import JobStatus, LookupJob, RegisterJob, RenewJob, parse_job
from shared.locks import DomainLock
from shared.names import parse_domain, registrar_for
from shared.settings import Settings
from shared.store import ClaimState, Store
from shared.store.jobs import JobRecord
from shared.store.schema import utcnow

log = logging.getLogger(__name__)

HANDLERS: dict[str, Callable[[Execution], dict[str, Any]]] = {
    "register": run_register,
    "renew": run_renew,
    "lookup": run_lookup,
}
#: Errors that say the upstream is sick: they count toward opening the breaker.
BREAKER_FAILURES = (TransientError, ProtocolError)


def _jitter(seconds: float) -> float:
    return seconds + random.uniform(0, min(1.0, seconds / 4 + 0.1))


class JobRunner:
    def __init__(
        self,
        store: Store,
        settings: Settings,
        breaker: Breaker,
        gateways: Callable[[str], Gateway],
        locks: DomainLock,
    ) -> None:
        self.store = store
        self.settings = settings
        self.breaker = breaker
        self.gateways = gateways
        self.locks = locks

    def run(self, key: str, owner: str) -> Step:
        claim = self.store.jobs.claim(key, owner, self.settings.lease_seconds)
        if claim.state is ClaimState.MISSING:
            log.warning("no job %s in the store (purged, or not ours): acked without action", key)
            return Done(None)
        record = claim.record
        assert record is not None
        if claim.state is ClaimState.FINAL:
            return Done(record.outcome(duplicate=True))
        if claim.state is ClaimState.BUSY:
            remaining = (record.lease_until - utcnow()).total_seconds() if record.lease_until else 1.0
            return Defer(_jitter(max(1.0, remaining)), "another delivery holds the lease", counted=False)
        lease = self.settings.lease_seconds
        if record.kind == "lookup":
            with LeaseKeeper(self.store.jobs, key, owner, lease):
                return self._run_claimed(record, owner)
        # One registrar-changing job per domain at a time, fleet-wide.
        if not self.locks.acquire(record.domain, owner, lease):
            return self._defer(
                record, owner, lease / 2, f"another job for {record.domain} is running", counted=False
            )
        try:
            renew_lock = lambda: self.locks.renew(record.domain, owner, lease)  # noqa: E731
            with LeaseKeeper(self.store.jobs, key, owner, lease, also=renew_lock):
                return self._run_claimed(record, owner)
        finally:
            self.locks.release(record.domain, owner)

    # --- a claimed job ---------------------------------------------------------------------------------
    def _run_claimed(self, record: JobRecord, owner: str) -> Step:
        try:
            job = parse_job({**record.params, "idempotency_key": record.key})
        except JobValidationError as exc:
            return self._finish(record, owner, JobStatus.REJECTED, code="validation", message=str(exc))
        provider = self._provider(job)
        if provider is None:
            return self._finish(
                record,
                owner,
                JobStatus.REJECTED,
                code="unsupported",
                message=f"no lookup source for .{parse_domain(job.domain).tld} yet",
            )
        if record.attempts > self.settings.max_attempts:
            return self._give_up(record, owner, job, provider, "attempts exhausted")
        permit = self.breaker.before_call(provider)
        if not permit.allowed:
            reason = f"circuit breaker for {provider} is {permit.state}; retry in {permit.retry_after:.0f} s"
            return self._defer(record, owner, permit.retry_after, reason, counted=False)
        ex = Execution(self.store, self.settings, self.gateways(provider), record, job, owner)
        try:
            result = HANDLERS[job.kind](ex)
        except LeaseLost:
            if permit.probe:
                self.breaker.release_probe(provider)
            return Done(None)  # the delivery that took over records the outcome
        except Throttled as exc:
            if permit.probe:
                self.breaker.release_probe(provider)
            return self._defer(record, owner, exc.retry_after, str(exc), counted=False)
        except BreakerOpen as exc:  # opened by other workers while this call was retrying
            wait = exc.retry_after if exc.retry_after is not None else self.settings.breaker_reset_seconds
            return self._defer(record, owner, wait, str(exc), counted=False)
        except RateLimited as exc:
            self.breaker.record_success(provider, probe=permit.probe)  # it answered: alive
            wait = exc.retry_after if exc.retry_after is not None else 1.0
            return self._defer(record, owner, wait, f"{provider} answered 429", counted=False)
        except BREAKER_FAILURES as exc:
            self.breaker.record_failure(provider, probe=permit.probe)
            return self._retry_or_fail(record, owner, job, provider, exc)
        except (AuthError, AnswerPending) as exc:
            self.breaker.record_success(provider, probe=permit.probe)
            return self._retry_or_fail(record, owner, job, provider, exc)
        except (DomainUnavailable, NotFound, Inconsistent, OutboundRefused, UpstreamError) as exc:
            self.breaker.record_success(provider, probe=permit.probe)
            status = JobStatus.REJECTED if isinstance(exc, ValidationRejected) else JobStatus.FAILED
            return self._finish(record, owner, status, code=_code(exc), message=str(exc))
        self.breaker.record_success(provider, probe=permit.probe)
        self._update_inventory(job, provider, result)
        return self._finish(record, owner, JobStatus.SUCCEEDED, result=result)

    @staticmethod
    def _provider(job: RegisterJob | RenewJob | LookupJob) -> str | None:
        if isinstance(job, RegisterJob | RenewJob):
            return job.registrar.value if job.registrar else None
        try:
            return registrar_for(parse_domain(job.domain)).value
        except ValueError:
            return None

    def _update_inventory(
        self, job: RegisterJob | RenewJob | LookupJob, provider: str, result: dict[str, Any]
    ) -> None:
        if isinstance(job, RegisterJob | RenewJob) and not getattr(job, "dry_run", False):
            expires = result.get("expires_at")
            from datetime import date

            self.store.inventory.upsert(
                job.domain, provider, date.fromisoformat(expires) if expires else None
            )

    # --- outcomes --------------------------------------------------------------------------------------
    def _finish(
        self,
        record: JobRecord,
        owner: str,
        status: JobStatus,
        result: dict[str, Any] | None = None,
        code: str | None = None,
        message: str | None = None,
    ) -> Step:
        finished = self.store.jobs.finish(record.key, owner, status, result, code, message)
        if finished is None:
            log.warning("lease on %s lost before its outcome was recorded", record.key)
            return Done(None)
        return Done(finished.outcome())

    def _defer(self, record: JobRecord, owner: str, seconds: float, reason: str, counted: bool) -> Step:
        countdown = min(_jitter(max(seconds, 0.05)), float(self.settings.max_countdown_seconds))
        due = utcnow() + timedelta(seconds=countdown)
        if not self.store.jobs.defer(record.key, owner, due, reason, count_attempt=counted):
            return Done(None)
        return Defer(countdown, reason, counted)

    def _retry_or_fail(
        self,
        record: JobRecord,
        owner: str,
        job: RegisterJob | RenewJob | LookupJob,
        provider: str,
        exc: UpstreamError,
    ) -> Step:
        if record.attempts >= self.settings.max_attempts:
            return self._give_up(record, owner, job, provider, f"{_code(exc)}: {exc}")
        backoff = min(
            self.settings.retry_backoff_seconds * 2 ** (record.attempts - 1),
            self.settings.max_countdown_seconds,
        )
        if exc.retry_after is not None:
            backoff = max(backoff, exc.retry_after)
        return self._defer(
            record, owner, backoff, f"attempt {record.attempts} failed: {_code(exc)}: {exc}", counted=True
        )

    def _give_up(
        self, record: JobRecord, owner: str, job: RegisterJob | RenewJob | LookupJob, provider: str, last: str
    ) -> Step:
        """Out of attempts. A register whose last send went unanswered is reconciled once more first,
        with the breaker's permission like any other call: refused, the job waits rather than guess."""
        fresh = self.store.jobs.require(record.key)
        if isinstance(job, RegisterJob) and fresh.phase == SENDING:
            permit = self.breaker.before_call(provider)
            if not permit.allowed:
                reason = f"final reconciliation waits for the {provider} breaker ({permit.state})"
                return self._defer(record, owner, permit.retry_after, reason, counted=False)
            ex = Execution(self.store, self.settings, self.gateways(provider), fresh, job, owner)
            try:
                found = reconcile_register(ex, job, settle=True)
            except (UpstreamError, Inconsistent) as exc:
                if isinstance(exc, BREAKER_FAILURES):
                    self.breaker.record_failure(provider, probe=permit.probe)
                else:
                    self.breaker.record_success(provider, probe=permit.probe)
                last = f"{last}; the last send is unconfirmed ({exc}): check the registrar"
            else:
                self.breaker.record_success(provider, probe=permit.probe)
                if found is not None:
                    self._update_inventory(job, provider, found)
                    return self._finish(record, owner, JobStatus.SUCCEEDED, result=found)
        message = f"gave up after {record.attempts} attempts; last error {last}"
        return self._finish(record, owner, JobStatus.FAILED, code="attempts_exhausted", message=message)


def _code(exc: Exception) -> str:
    if isinstance(exc, Inconsistent):
        return "inconsistent"
    code = getattr(exc, "code", None)
    return str(code.value if hasattr(code, "value") else code or type(exc).__name__)
