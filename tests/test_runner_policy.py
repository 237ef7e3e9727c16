"""The runner's error policy (read off the error classes) and the lease that stops a delivery.

Against the sandbox over real HTTP, like tests/test_runner.py.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from sandbox.stack import Sandbox
from shared import errors
from shared.execution import Defer, Done
from shared.execution.policy import backoff_seconds, decide, may_retry, may_run
from shared.jobs import JobStatus
from shared.upstream import LimiterGuard
from testkit.factories import register
from tests.test_runner import Rig, build_rig


@pytest.fixture
def rig(sandbox: Sandbox, tmp_path: Path) -> Iterator[Rig]:
    with build_rig(sandbox, tmp_path) as built:
        yield built


# --- the policy table: docs, classes and runner agree ---------------------------------------------------
@pytest.mark.parametrize(
    ("cls", "disposition", "breaker", "status"),
    [
        (errors.AuthError, "final", "success", "failed"),
        (errors.ValidationRejected, "final", "success", "rejected"),
        (errors.DomainUnavailable, "final", "success", "failed"),
        (errors.NotFound, "final", "success", "failed"),
        (errors.RegistryRefused, "final", "success", "failed"),
        (errors.RateLimited, "wait", "success", "failed"),
        (errors.AnswerPending, "retry", "success", "failed"),
        (errors.TransientError, "retry", "failure", "failed"),
        (errors.AmbiguousError, "retry", "failure", "failed"),
        (errors.NotSentError, "retry", "failure", "failed"),
        (errors.ProtocolError, "retry", "failure", "failed"),
        (errors.ResponseTooLarge, "retry", "failure", "failed"),
        (errors.BreakerOpen, "wait", "none", "failed"),
    ],
)
def test_each_upstream_error_class_carries_its_policy(
    cls: type[errors.UpstreamError], disposition: str, breaker: str, status: str
) -> None:
    decision = decide(cls("x", provider="p"))
    assert (decision.disposition, decision.breaker, decision.final_status) == (disposition, breaker, status)
    assert cls("x").retriable is (disposition != "final")
    assert cls.__name__ in (errors.__doc__ or "")  # drawn in the module's tree


def test_waits_and_local_refusals_carry_their_policy() -> None:
    for exc in (
        errors.Throttled("p", 1.0),
        errors.ContactPending("p", 1.0),
        errors.AwaitingRegistry("p", 1.0),
        errors.NeedsOperator("p", 1.0, "why"),
    ):
        assert (decide(exc).disposition, decide(exc).breaker) == ("wait", "none")
    refused = decide(errors.OutboundRefused("nope"))
    assert (refused.disposition, refused.breaker) == ("final", "none")


def test_one_attempt_rule() -> None:
    assert [may_run(n, 3) for n in (1, 3, 4)] == [True, True, False]
    assert [may_retry(n, 3) for n in (1, 2, 3)] == [True, True, False]
    assert backoff_seconds(1, 2.0, 60) == 2.0 and backoff_seconds(3, 2.0, 60) == 8.0
    assert backoff_seconds(10, 2.0, 60) == 60 and backoff_seconds(1, 2.0, 60, retry_after=30) == 30


# --- the runner follows it --------------------------------------------------------------------------------
def test_an_auth_error_fails_the_job_at_once_and_is_no_breaker_failure(rig: Rig) -> None:
    rig.sandbox.set_faults("gandi", [{"operation": "create", "kind": "status", "status": 401}])
    outcome = rig.until_final(rig.submit(register("cheie-rea.com")))
    assert outcome.status is JobStatus.FAILED and outcome.error_code == "auth"
    assert outcome.attempts == 1
    assert rig.breaker.state("gandi").failures == 0


def test_a_busy_domain_lock_waits_without_using_an_attempt(rig: Rig) -> None:
    assert rig.runner.locks.acquire("ocupat-acum.com", "another-job", 30)
    key = rig.submit(register("ocupat-acum.com"))
    step = rig.deliver(key)
    assert isinstance(step, Defer) and not step.counted and "another job" in step.reason
    record = rig.store.jobs.require(key)
    assert record.status is JobStatus.WAITING and record.attempts == 0
    assert rig.requests("gandi") == 0
    rig.runner.locks.release("ocupat-acum.com", "another-job")
    assert rig.until_final(key).status is JobStatus.SUCCEEDED


def test_a_refused_reconciliation_waits_for_an_operator_instead_of_failing(rig: Rig) -> None:
    """Auth refused while finding out whether our unanswered create happened: neither fail (the domain
    may be ours) nor send again."""
    key = rig.submit(register("nu-stiu.com"))
    rig.store.jobs.claim(key, "dead-worker", 0.01)
    rig.store.jobs.set_phase(key, "dead-worker", "sending", {"sent_on": date.today().isoformat()})
    rig.sandbox.set_faults("gandi", [{"operation": "info", "kind": "status", "status": 403}])
    deadline = time.monotonic() + 10
    step = rig.deliver(key)
    while isinstance(step, Defer) and "another delivery holds the lease" in step.reason:
        assert time.monotonic() < deadline
        time.sleep(0.05)
        step = rig.deliver(key)
    assert isinstance(step, Defer) and not step.counted
    record = rig.store.jobs.require(key)
    assert record.status is JobStatus.WAITING and "needs an operator" in (record.wait_reason or "")
    assert rig.effects("gandi", "nu-stiu.com") == {}


# --- a lost lease stops the delivery before its next upstream call --------------------------------------
class FreezingGuard:
    """Freezes one thread inside its next ``operation`` request (as SIGSTOP would freeze a worker)."""

    def __init__(self, inner: LimiterGuard, operation: str) -> None:
        self.inner, self.operation = inner, operation
        self.frozen_thread: int | None = None
        self.entered, self.thaw = threading.Event(), threading.Event()

    def before_request(self, provider: str, operation: str) -> None:
        if operation == self.operation and threading.get_ident() == self.frozen_thread:
            self.entered.set()
            assert self.thaw.wait(30)
        self.inner.before_request(provider, operation)

    def after_response(self, provider: str, status: int | None, retry_after: float | None) -> None:
        self.inner.after_response(provider, status, retry_after)


@pytest.mark.parametrize("frozen_at", ["create", "info"])  # before the effect; in the read-back after it
def test_a_delivery_frozen_past_its_lease_stops_before_its_next_call(
    sandbox: Sandbox, tmp_path: Path, frozen_at: str
) -> None:
    guards: list[FreezingGuard] = []

    def wrap(inner: LimiterGuard) -> FreezingGuard:
        guards.append(FreezingGuard(inner, frozen_at))
        return guards[0]

    with build_rig(sandbox, tmp_path, wrap, lease_seconds=1.5) as rig:
        guard = guards[0]
        key = rig.submit(register("inghetat.com"))
        jobs = rig.store.jobs
        real_renew = jobs.renew_lease

        def frozen_renew(k: str, owner: str, seconds: float) -> bool:
            if owner == "frozen":  # the whole process is frozen: its lease keeper too
                guard.thaw.wait(30)
            return real_renew(k, owner, seconds)

        jobs.renew_lease = frozen_renew  # type: ignore[method-assign]
        steps: list[Defer | Done] = []

        def frozen_delivery() -> None:
            guard.frozen_thread = threading.get_ident()
            steps.append(rig.runner.run(key, owner="frozen"))

        worker = threading.Thread(target=frozen_delivery)
        worker.start()
        assert guard.entered.wait(10), f"the delivery never reached its {frozen_at}"
        deadline = time.monotonic() + 10  # wait until its lease has run out in the store
        while not isinstance(taken := rig.runner.run(key, owner="takeover"), Done):
            assert time.monotonic() < deadline, taken
            time.sleep(0.1)
        assert taken.outcome is not None and taken.outcome.status is JobStatus.SUCCEEDED
        requests_before = rig.requests("gandi")
        guard.thaw.set()
        worker.join(10)
        assert steps == [Done(None)]  # it noticed and stopped
        assert rig.requests("gandi") == requests_before  # no request after the thaw
        assert rig.effects("gandi", "inghetat.com") == {"create": 1}


def test_the_worst_case_block_of_one_request_is_explicit() -> None:
    from shared import defaults
    from shared.backoff import jitter, worst_case_request_seconds

    assert jitter(10.0, lambda: 0.0) == 10.0 and jitter(10.0, lambda: 1.0) == 11.0  # +1 s at most
    assert jitter(0.4, lambda: 1.0) == pytest.approx(0.6)  # a quarter, plus 0.1 s of room
    worst = worst_case_request_seconds(
        defaults.HTTP_TRIES,
        defaults.CONNECT_TIMEOUT_SECONDS,
        defaults.READ_TIMEOUT_SECONDS,
        defaults.HTTP_BACKOFF_SECONDS,
        defaults.MAX_INLINE_WAIT_MS,
    )
    assert worst == pytest.approx(3 * (5 + 30 + 0.3) + (0.5 + 0.225) + (1.0 + 0.35))
