"""One delivery of one job, from claim to recorded outcome.

::

    claim ── missing/final ──> Done (no upstream call)
      │ busy (a live lease elsewhere) ──> Defer (not an attempt)
      ▼ claimed
    domain lock (registrar jobs) ── held elsewhere ──> waiting, Defer (not an attempt)
      ▼
    attempts used up ──> give up (a register's unanswered send is reconciled once more first)
    the delivery's CallPolicy (shared.upstream: limiter guard, breaker account, lease check, job key)
    call_policy.admit(): the breaker ── open ──> waiting, Defer until it may close (not an attempt)
      ▼ allowed
    handler (register / renew / nameservers / sync / lookup: phases around each outside call)
      │ gateway method(job, call_policy) ─> OutboundClient.call(..., policy=call_policy): before_send,
      │ before_effect
      │ (the ``sending`` phase), after_response (block window, this call's breaker verdict), before_retry
      ├─ success ───────────────────────────────> succeeded (warnings in the result, if any)
      ├─ lease or domain lock lost ─────────────> stop at once; the delivery that took over records it
      └─ an error: its class says (shared.errors, read in shared.execution.policy)
           ├─ wait  (Throttled, RateLimited, BreakerOpen, …) ─> waiting, Defer (not an attempt)
           ├─ retry (transient, ambiguous, protocol, pending) ─> waiting, Defer with backoff;
           │                                                    give up after REGQ_MAX_ATTEMPTS
           └─ final (auth, unavailable, not found, refused…) ──> failed, or rejected (validation)
    call_policy.settle(verdict): the breaker account closes (an unreported failure, an unused probe slot)
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from shared import backoff
from shared.backends import backend_errors
from shared.breaker.base import Breaker
from shared.errors import (
    BackendUnavailable,
    BreakerOpen,
    JobValidationError,
    PartialLookup,
    RegqError,
)
from shared.execution import policy
from shared.execution.contacts import run_contacts
from shared.execution.context import Execution, LeaseLost
from shared.execution.glue import run_glue
from shared.execution.lease import LeaseKeeper
from shared.execution.lock import run_lock
from shared.execution.lookup import run_lookup
from shared.execution.nameservers import run_nameservers
from shared.execution.owner_change import run_owner_change
from shared.execution.register import SENDING, reconcile_register, run_register
from shared.execution.renew import run_renew
from shared.execution.steps import Defer, Done, Step
from shared.execution.sync import run_sync
from shared.execution.transfer import run_transfer
from shared.gateways.base import Gateway
from shared.jobs import (
    AnyJob,
    JobStatus,
    LookupJob,
    NameserversJob,
    RegisterJob,
    RenewJob,
    parse_job,
)
from shared.locks import DomainLock
from shared.names import parse_domain
from shared.registrydata.pipeline import Pipeline
from shared.settings import Settings
from shared.store import ClaimState, Store
from shared.store.job_record import JobRecord
from shared.store.schema import utcnow
from shared.tlds import registrar_for
from shared.upstream.guard import Guard
from shared.upstream.policy import CallPolicy
from shared.upstream.reporter import CallReporter
from shared.wait_reasons import WaitReason, wait_reason_of

log = logging.getLogger(__name__)

#: A delivery that lost Redis gives its job back for about this long (Redis restarts in seconds).
REDIS_RETRY_SECONDS = 2.0

#: The pseudo-provider of registration-data lookups (no registrar, no registrar breaker).
REGISTRY_DATA = "registrydata"
HANDLERS: dict[str, Callable[[Execution], dict[str, Any]]] = {
    "register": run_register,
    "renew": run_renew,
    "lookup": run_lookup,
    "nameservers": run_nameservers,
    "sync": run_sync,
    "lock": run_lock,
    "contacts": run_contacts,
    "glue": run_glue,
    "transfer": run_transfer,
    "owner_change": run_owner_change,
}


class JobRunner:
    def __init__(
        self,
        store: Store,
        settings: Settings,
        breaker: Breaker,
        gateways: Callable[[str], Gateway],
        locks: DomainLock,
        lookups: Callable[[], Pipeline] | None = None,
        guard: Guard | None = None,
    ) -> None:
        self.store = store
        self.settings = settings
        self.breaker = breaker
        self.gateways = gateways
        self.locks = locks
        self.lookups = lookups
        self.guard = guard  # the process's limiter guard, in every delivery's CallPolicy

    def run(self, key: str, owner: str, kind: str | None = None, domain: str | None = None) -> Step:
        """One delivery of ``key``. ``kind`` and ``domain``, when the message gives them, let a lookup
        the cache can answer skip the lease: it is read-only, so it is finished in one UPDATE."""
        if kind == "lookup" and domain and self.lookups is not None:
            fast = self._answer_from_cache(key, domain)
            if fast is not None:
                return fast
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
            wait = backoff.jitter(max(1.0, remaining))
            return Defer(wait, "another delivery holds the lease", counted=False)
        try:
            with backend_errors():
                return self._run_locked(record, owner)
        except BackendUnavailable as exc:  # Redis went away under the delivery: give the job back
            log.warning("%s: %s", key, exc)
            return self._defer(
                record, owner, REDIS_RETRY_SECONDS, str(exc), counted=False, code=WaitReason.BACKEND
            )

    def _run_locked(self, record: JobRecord, owner: str) -> Step:
        """The claimed delivery under its lease keeper and, for a registrar job, the domain lock."""
        key, lease = record.key, self.settings.lease_seconds
        if record.kind == "lookup":
            with LeaseKeeper(self.store.jobs, key, owner, lease) as keeper:
                return self._run_claimed(record, owner, keeper)
        # One registrar-changing job per domain at a time, fleet-wide.
        if not self.locks.acquire(record.domain, owner, lease):
            return self._defer(
                record,
                owner,
                lease / 2,
                f"another job for {record.domain} is running",
                counted=False,
                code=WaitReason.IN_USE,
            )
        try:
            renew_lock = lambda: self.locks.renew(record.domain, owner, lease)  # noqa: E731
            with LeaseKeeper(self.store.jobs, key, owner, lease, also=renew_lock) as keeper:
                return self._run_claimed(record, owner, keeper)
        finally:
            self.locks.release(record.domain, owner)

    def _answer_from_cache(self, key: str, domain: str) -> Step | None:
        """A registration-data lookup whose complete snapshot is cached: finished without a claim (two
        deliveries may both answer it: the first UPDATE wins, the second finds it final)."""
        try:
            with backend_errors():
                snapshot = self._pipeline().cached_answer(domain)
        except (RegqError, ValueError):
            return None  # bad input or no cache: the ordinary path says why
        if snapshot is None:
            return None
        # Missing, final (a duplicate) or an availability lookup: None, and the ordinary path answers.
        finished = self.store.jobs.finish_unleased(key, snapshot)
        return Done(finished.outcome(), finished.webhooks) if finished is not None else None

    # --- a claimed job ---------------------------------------------------------------------------------
    def _run_claimed(self, record: JobRecord, owner: str, keeper: LeaseKeeper) -> Step:
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
                message=f"no registrar handles .{parse_domain(job.domain).tld}: ask without availability",
            )
        if not policy.may_run(record.attempts, self.settings.max_attempts):
            return self._give_up(record, owner, job, provider, keeper, "attempts exhausted")
        call_policy = self._call_policy(record, provider, keeper)
        permit = call_policy.admit()  # the breaker's permission, before anything of the job runs
        if not permit.allowed:
            reason = f"circuit breaker for {provider} is {permit.state}; retry in {permit.retry_after:.0f} s"
            return self._defer(
                record, owner, permit.retry_after, reason, counted=False, code=WaitReason.BREAKER
            )
        if provider == REGISTRY_DATA:
            # RDAP/WHOIS/DNS hosts are many: each has its own limiter key and block windows (the
            # pipeline's clients hold their own policy); the registrar breakers are not theirs to trip.
            ex = Execution(self.store, self.settings, None, record, job, owner, call_policy, self._pipeline())
        else:
            ex = Execution(
                self.store, self.settings, self.gateways(provider), record, job, owner, call_policy
            )
        try:
            result = HANDLERS[job.kind](ex)
        except LeaseLost:
            call_policy.settle("none")
            log.warning("lease on %s lost mid-delivery: stopped before the next upstream call", record.key)
            return Done(None)  # the delivery that took over records the outcome
        except RegqError as exc:
            decision = policy.decide(exc)
            call_policy.settle(decision.breaker)
            return self._after_error(record, owner, job, provider, keeper, exc, decision)
        call_policy.settle("success")
        self._update_inventory(job, provider, result)
        self._follow_up(record, job, result)
        return self._finish(record, owner, JobStatus.SUCCEEDED, result=result)

    def _call_policy(self, record: JobRecord, provider: str, keeper: LeaseKeeper) -> CallPolicy:
        """The delivery's call policy: the process's limiter guard, a breaker account for a registrar
        (none for registration-data lookups), the lease check and the audit identity."""
        reporter = None if provider == REGISTRY_DATA else CallReporter(self.breaker, provider)
        guard = None if provider == REGISTRY_DATA else self.guard
        return CallPolicy(
            guard, breaker=reporter, lease_check=keeper.check, job_key=record.key, attempt=record.attempts
        )

    def _after_error(
        self,
        record: JobRecord,
        owner: str,
        job: AnyJob,
        provider: str,
        keeper: LeaseKeeper,
        exc: RegqError,
        decision: policy.Decision,
    ) -> Step:
        retry_after = getattr(exc, "retry_after", None)
        if decision.disposition == "wait":
            wait = retry_after if retry_after is not None else self._default_wait(exc)
            partial = exc.result if isinstance(exc, PartialLookup) else None
            code = wait_reason_of(exc)
            return self._defer(record, owner, wait, str(exc), counted=False, partial=partial, code=code)
        if decision.disposition == "retry":
            if not policy.may_retry(record.attempts, self.settings.max_attempts):
                return self._give_up(record, owner, job, provider, keeper, f"{_code(exc)}: {exc}")
            backoff = policy.backoff_seconds(
                record.attempts,
                self.settings.retry_backoff_seconds,
                self.settings.max_countdown_seconds,
                retry_after,
            )
            reason = f"attempt {record.attempts} failed: {_code(exc)}: {exc}"
            return self._defer(record, owner, backoff, reason, counted=True, code=WaitReason.RETRY)
        status = JobStatus(decision.final_status)
        return self._finish(record, owner, status, code=_code(exc), message=str(exc))

    def _default_wait(self, exc: RegqError) -> float:
        return float(self.settings.breaker_reset_seconds) if isinstance(exc, BreakerOpen) else 1.0

    @staticmethod
    def _provider(job: AnyJob) -> str | None:
        """The registrar a job talks to; REGISTRY_DATA for a registration-data lookup."""
        if not isinstance(job, LookupJob):  # every other kind names its registrar (day-2 kinds too)
            return job.registrar.value if job.registrar else None
        if not job.availability:
            return REGISTRY_DATA
        try:
            return registrar_for(parse_domain(job.domain)).value
        except ValueError:
            return None

    def _pipeline(self) -> Pipeline:
        if self.lookups is None:
            raise RuntimeError("this runner was built without the lookup pipeline")
        return self.lookups()

    def _update_inventory(self, job: AnyJob, provider: str, result: dict[str, Any]) -> None:
        if isinstance(job, RegisterJob | RenewJob) and not getattr(job, "dry_run", False):
            expires = result.get("expires_at")
            self.store.inventory.upsert(
                job.domain, provider, date.fromisoformat(expires) if expires else None
            )

    def _follow_up(self, record: JobRecord, job: AnyJob, result: dict[str, Any]) -> None:
        """A register whose nameserver step did not complete leaves it to a ``nameservers`` job, stored
        now (queued) and published by the task layer (or the sweep, should that publish be lost)."""
        if not isinstance(job, RegisterJob) or not result.get("nameservers_pending"):
            return
        follow = NameserversJob(
            domain=job.domain, registrar=job.registrar, nameservers=job.nameservers, glue=job.glue
        )
        key = follow.derive_key()
        self.store.jobs.create(key, follow)
        result["follow_up"] = key

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
        return Done(finished.outcome(), finished.webhooks)

    def _defer(
        self,
        record: JobRecord,
        owner: str,
        seconds: float,
        reason: str,
        counted: bool,
        partial: dict[str, Any] | None = None,
        code: WaitReason | None = None,
    ) -> Step:
        """Give the job back until ``seconds`` from now: ``reason`` the text, ``code`` its label."""
        countdown = min(backoff.jitter(max(seconds, 0.05)), float(self.settings.max_countdown_seconds))
        due = utcnow() + timedelta(seconds=countdown)
        label = code.value if code is not None else None
        if partial is None:
            if not self.store.jobs.defer(record.key, owner, due, reason, count_attempt=counted, code=label):
                return Done(None)
            return Defer(countdown, reason, counted)
        deferred = self.store.jobs.defer_partial(record.key, owner, due, reason, partial, counted, label)
        return Defer(countdown, reason, counted, deferred.webhooks) if deferred is not None else Done(None)

    def _give_up(
        self, record: JobRecord, owner: str, job: AnyJob, provider: str, keeper: LeaseKeeper, last: str
    ) -> Step:
        """Out of attempts. A register whose last send went unanswered is reconciled once more first,
        with the breaker's permission like any other call: refused, the job waits rather than guess."""
        fresh = self.store.jobs.require(record.key)
        if isinstance(job, RegisterJob) and fresh.phase == SENDING:
            call_policy = self._call_policy(fresh, provider, keeper)
            permit = call_policy.admit()
            if not permit.allowed:
                reason = f"final reconciliation waits for the {provider} breaker ({permit.state})"
                return self._defer(
                    record, owner, permit.retry_after, reason, counted=False, code=WaitReason.BREAKER
                )
            ex = Execution(self.store, self.settings, self.gateways(provider), fresh, job, owner, call_policy)
            try:
                found = reconcile_register(ex, job, settle=True)
            except LeaseLost:
                call_policy.settle("none")
                return Done(None)
            except RegqError as exc:
                decision = policy.decide(exc)
                call_policy.settle(decision.breaker)
                if decision.disposition == "wait":
                    wait = getattr(exc, "retry_after", None) or 1.0
                    return self._defer(record, owner, wait, str(exc), counted=False, code=wait_reason_of(exc))
                last = f"{last}; the last send is unconfirmed ({exc}): check the registrar"
            else:
                call_policy.settle("success")
                if found is not None:
                    self._update_inventory(job, provider, found)
                    return self._finish(record, owner, JobStatus.SUCCEEDED, result=found)
        message = f"gave up after {record.attempts} attempts; last error {last}"
        return self._finish(record, owner, JobStatus.FAILED, code="attempts_exhausted", message=message)


def _code(exc: Exception) -> str:
    code = getattr(exc, "code", None)
    value = getattr(code, "value", code)
    return str(value or type(exc).__name__)
