"""The job runner with real gateways against the sandbox over HTTP: phases, reconciliation, guards.

Each delivery is ``runner.run(key, owner)``; a Defer means the task would be re-scheduled, and the next
call plays the next delivery (also what a redelivery after a crash looks like).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from sandbox.stack import Sandbox
from shared.breaker import BreakerConfig, MemoryBreaker
from shared.execution import Defer, Done
from shared.execution.runner import JobRunner
from shared.gateways.dates import add_years
from shared.gateways.registry import gateway_for
from shared.jobs import JobOutcome, JobStatus, derive_key, parse_job
from shared.locks import MemoryDomainLock
from shared.ratelimit import MemoryLimiter
from shared.settings import load_settings
from shared.store import Store
from shared.upstream import LimiterGuard
from testkit.factories import register


@dataclass
class Rig:
    sandbox: Sandbox
    store: Store
    runner: JobRunner
    breaker: MemoryBreaker
    limiter: MemoryLimiter

    def submit(self, data: dict) -> str:
        job = parse_job(data)
        key = derive_key(job)
        self.store.jobs.create(key, job)
        return key

    def deliver(self, key: str, n: int = 0) -> Defer | Done:
        return self.runner.run(key, owner=f"delivery-{n}")

    def until_final(self, key: str, deliveries: int = 8) -> JobOutcome:
        for n in range(deliveries):
            step = self.deliver(key, n)
            if isinstance(step, Done):
                assert step.outcome is not None
                return step.outcome
        raise AssertionError(f"{key} not final after {deliveries} deliveries")

    def effects(self, provider: str, domain: str) -> dict[str, int]:
        return self.sandbox.stats(provider)["effects"].get(domain, {})

    def requests(self, provider: str) -> int:
        return self.sandbox.stats(provider)["requests"]


@contextmanager
def build_rig(
    sandbox: Sandbox,
    tmp_path: Path,
    guard_wrapper: Callable[[LimiterGuard], Any] | None = None,
    gateway_options: dict[str, dict[str, Any]] | None = None,
    **overrides: Any,
) -> Iterator[Rig]:
    """A runner over real gateways and the sandbox; ``guard_wrapper`` may wrap the limiter guard (to
    throttle chosen requests), ``gateway_options[name]`` go to that gateway's constructor."""
    sandbox.reset()
    values: dict[str, Any] = dict(
        gandi_api_url=sandbox.gandi_url,
        gandi_token="sandbox-token",
        rotld_api_url=sandbox.rotld_url,
        rotld_user="sandbox-user",
        rotld_password="sandbox-pass",
        outbound_allow_private=True,
        gandi_visibility_wait_seconds=5,
        retry_backoff_seconds=0.1,
        lease_seconds=5,
        max_attempts=4,
        gandi_rate="1000/s",
        gandi_burst=100,
        rotld_rate="1000/s",
        rotld_burst=100,
    )
    values.update(overrides)
    settings = load_settings(**values)
    store = Store(f"sqlite:///{tmp_path / 'regq.db'}")
    store.upgrade()
    breaker = MemoryBreaker(
        BreakerConfig(failures=3, reset_seconds=60, probes=1, probe_timeout_seconds=30), store.breaker_events
    )
    limiter = MemoryLimiter()
    guard = LimiterGuard(limiter, settings)
    wrapped = guard_wrapper(guard) if guard_wrapper else guard
    gateways = {
        name: gateway_for(
            name,
            settings,
            store.audit,
            store.contacts,
            **{"sleep": lambda _s: None, **(gateway_options or {}).get(name, {})},
        )
        for name in ("gandi", "rotld")
    }
    runner = JobRunner(store, settings, breaker, gateways.__getitem__, MemoryDomainLock(), guard=wrapped)
    try:
        yield Rig(sandbox, store, runner, breaker, limiter)
    finally:
        for gateway in gateways.values():
            gateway.close()
        store.dispose()


@pytest.fixture
def rig(sandbox: Sandbox, tmp_path: Path) -> Iterator[Rig]:
    with build_rig(sandbox, tmp_path) as built:
        yield built


# --- register -------------------------------------------------------------------------------------------
def test_register_reads_expiry_back_and_updates_inventory(rig: Rig) -> None:
    key = rig.submit(register("plain.com", years=2))
    outcome = rig.until_final(key)
    assert outcome.status is JobStatus.SUCCEEDED and outcome.attempts == 1
    expires = date.fromisoformat(outcome.result["expires_at"])
    assert abs(expires - add_years(date.today(), 2)) <= timedelta(days=1)
    assert rig.store.inventory.get("plain.com").expires_at == expires
    assert rig.effects("gandi", "plain.com")["create"] == 1


def test_commit_then_drop_is_reconciled_without_a_second_create(rig: Rig) -> None:
    rig.sandbox.set_faults("gandi", [{"operation": "create", "kind": "commit_drop", "count": 1}])
    key = rig.submit(register("dropped.com"))
    first = rig.deliver(key)
    assert isinstance(first, Defer) and "ambiguous" in first.reason
    record = rig.store.jobs.require(key)
    assert record.status is JobStatus.WAITING and record.phase == "sending"
    assert record.phase_data["operation"] == "create"
    outcome = rig.until_final(key)
    assert outcome.status is JobStatus.SUCCEEDED and outcome.result["reconciled"] is True
    assert rig.effects("gandi", "dropped.com")["create"] == 1


def test_reconcile_waits_out_the_read_after_create_window(rig: Rig) -> None:
    rig.sandbox.configure("gandi", visibility_delay=1.5)
    rig.sandbox.set_faults("gandi", [{"operation": "create", "kind": "commit_drop", "count": 1}])
    key = rig.submit(register("slow-visible.com"))
    outcome = rig.until_final(key)
    assert outcome.status is JobStatus.SUCCEEDED, outcome
    assert rig.effects("gandi", "slow-visible.com")["create"] == 1


def test_5xx_on_create_is_retried_and_counts_an_attempt(rig: Rig) -> None:
    rig.sandbox.set_faults("gandi", [{"operation": "create", "kind": "status", "status": 502, "count": 1}])
    key = rig.submit(register("flaky.com"))
    outcome = rig.until_final(key)
    assert outcome.status is JobStatus.SUCCEEDED and outcome.attempts == 2
    assert rig.effects("gandi", "flaky.com")["create"] == 1


def test_domain_of_someone_else_fails_as_unavailable(rig: Rig) -> None:
    rig.sandbox.seed_domains("gandi", [{"fqdn": "theirs.com", "owner": "other", "expires": "2030-01-01"}])
    outcome = rig.until_final(rig.submit(register("theirs.com")))
    assert outcome.status is JobStatus.FAILED and outcome.error_code == "domain_unavailable"
    assert rig.effects("gandi", "theirs.com").get("create", 0) == 0


def test_ro_register_reuses_the_contact_and_reconciles(rig: Rig) -> None:
    rig.sandbox.set_faults("rotld", [{"operation": "domain-register", "kind": "commit_drop", "count": 1}])
    first = rig.until_final(rig.submit(register("unu.ro")))
    second = rig.until_final(rig.submit(register("doi.ro")))
    assert first.status is second.status is JobStatus.SUCCEEDED
    stats = rig.sandbox.stats("rotld")
    assert stats["by_operation"]["contact-create"] == 1  # one registrant, one registry contact
    assert stats["effects"]["unu.ro"]["create"] == 1 and stats["effects"]["doi.ro"]["create"] == 1


def test_final_job_answers_without_calling_anyone(rig: Rig) -> None:
    key = rig.submit(register("once.com"))
    rig.until_final(key)
    before = rig.requests("gandi")
    step = rig.deliver(key, 99)
    assert isinstance(step, Done) and step.outcome.duplicate and step.outcome.status is JobStatus.SUCCEEDED
    assert rig.requests("gandi") == before


def test_recorded_sent_phase_finishes_from_the_record(rig: Rig) -> None:
    key = rig.submit(register("crashed-late.com"))
    rig.store.jobs.claim(key, "dead-worker", lease_seconds=30)
    rig.store.jobs.set_phase(key, "dead-worker", "sent", {"expires_at": "2031-05-06"})
    rig.store.jobs.renew_lease(key, "dead-worker", lease_seconds=-1)  # the worker died before finishing
    before = rig.requests("gandi")
    outcome = rig.until_final(key)
    assert outcome.status is JobStatus.SUCCEEDED and outcome.result["expires_at"] == "2031-05-06"
    # no create again: only the step after it, the registrar's auto-renew switched off (issue 20)
    assert rig.requests("gandi") == before + 1
    assert rig.sandbox.stats("gandi")["by_operation"]["autorenew"] == 1


def test_attempts_are_bounded(rig: Rig) -> None:
    rig.sandbox.set_faults("gandi", [{"operation": "create", "kind": "status", "status": 500}])
    rig.breaker = rig.runner.breaker = MemoryBreaker(
        BreakerConfig(failures=100, reset_seconds=60, probes=1, probe_timeout_seconds=30),
        rig.store.breaker_events,
    )
    outcome = rig.until_final(rig.submit(register("doomed.com")))
    assert outcome.status is JobStatus.FAILED and outcome.error_code == "attempts_exhausted"
    assert outcome.attempts == 4


# --- renew ----------------------------------------------------------------------------------------------
def _held(rig: Rig, domain: str, expires: date) -> None:
    provider = "rotld" if domain.endswith(".ro") else "gandi"
    rig.sandbox.seed_domains(provider, [{"fqdn": domain, "owner": "us", "expires": expires.isoformat()}])
    rig.store.inventory.upsert(domain, provider, expires)


def test_renew_dropped_after_commit_is_not_renewed_twice(rig: Rig) -> None:
    expires = date.today() + timedelta(days=40)
    _held(rig, "keep.com", expires)
    rig.sandbox.set_faults("gandi", [{"operation": "renew", "kind": "commit_drop", "count": 1}])
    key = rig.submit(
        {"kind": "renew", "domain": "keep.com", "years": 2, "current_expiry": expires.isoformat()}
    )
    outcome = rig.until_final(key)
    assert outcome.status is JobStatus.SUCCEEDED and outcome.result["reconciled"] is True
    assert rig.effects("gandi", "keep.com")["renew"] == 1
    assert date.fromisoformat(outcome.result["expires_at"]) == add_years(expires, 2)


def test_same_term_under_two_keys_is_renewed_once(rig: Rig) -> None:
    expires = date.today() + timedelta(days=10)
    _held(rig, "twice.ro", expires)
    job = {"kind": "renew", "domain": "twice.ro", "current_expiry": expires.isoformat()}
    first = rig.until_final(rig.submit({**job, "idempotency_key": "order-1"}))
    second = rig.until_final(rig.submit({**job, "idempotency_key": "order-2"}))
    assert first.status is second.status is JobStatus.SUCCEEDED
    assert second.result["reconciled"] is True
    assert rig.effects("rotld", "twice.ro")["renew"] == 1


def test_renew_refuses_to_guess_when_the_expiry_moved_elsewhere(rig: Rig) -> None:
    expires = date.today() + timedelta(days=100)
    _held(rig, "moved.com", expires)
    stale = expires - timedelta(days=30)  # neither the current term nor one year before it
    outcome = rig.until_final(
        rig.submit({"kind": "renew", "domain": "moved.com", "current_expiry": stale.isoformat()})
    )
    assert outcome.status is JobStatus.FAILED and outcome.error_code == "inconsistent"
    assert str(expires) in outcome.error_message and "will not guess" in outcome.error_message
    assert rig.effects("gandi", "moved.com").get("renew", 0) == 0


def test_renew_of_a_domain_not_in_our_account_fails_not_found(rig: Rig) -> None:
    outcome = rig.until_final(
        rig.submit({"kind": "renew", "domain": "ghost.com", "current_expiry": "2030-01-01"})
    )
    assert outcome.status is JobStatus.FAILED and outcome.error_code == "not_found"


# --- guards ---------------------------------------------------------------------------------------------
def test_open_breaker_makes_jobs_wait_without_calling(rig: Rig) -> None:
    for _ in range(3):
        rig.breaker.record_failure("gandi")
    before = rig.requests("gandi")
    key = rig.submit(register("patient.com"))
    step = rig.deliver(key)
    assert isinstance(step, Defer) and not step.counted
    record = rig.store.jobs.require(key)
    assert record.status is JobStatus.WAITING and record.attempts == 0
    assert "circuit breaker for gandi is open" in record.outcome().result["waiting_reason"]
    assert rig.requests("gandi") == before
    assert [t.to_state for t in rig.store.breaker_events.history("gandi")] == ["open"]


def test_throttled_job_waits_and_keeps_its_attempt(rig: Rig) -> None:
    rig.limiter.block("gandi", 30, "HTTP 429 from gandi")
    before = rig.requests("gandi")
    key = rig.submit(register("throttled.com"))
    step = rig.deliver(key)
    assert isinstance(step, Defer) and not step.counted and 25 <= step.countdown <= 31
    record = rig.store.jobs.require(key)
    assert record.attempts == 0
    assert record.phase is None  # never sent: the next delivery has nothing to reconcile
    assert rig.requests("gandi") == before


def test_429_from_the_registrar_opens_a_fleet_wide_block(rig: Rig) -> None:
    rig.sandbox.set_faults(
        "gandi", [{"operation": "create", "kind": "status", "status": 429, "retry_after": 7, "count": 1}]
    )
    step = rig.deliver(rig.submit(register("busy.com")))
    assert isinstance(step, Defer) and not step.counted
    status = rig.limiter.status("gandi")
    assert status.blocked_until is not None and status.block_reason == "HTTP 429 from gandi"


def test_dry_run_validates_at_the_registrar_without_acting(rig: Rig) -> None:
    ok = rig.until_final(rig.submit(register("maybe.com", dry_run=True)))
    assert ok.status is JobStatus.SUCCEEDED and ok.key.startswith("dry-run:register:maybe.com:")
    assert ok.result["ok"] is True
    refused = rig.until_final(rig.submit(register("invalid-name.com", dry_run=True)))
    assert refused.status is JobStatus.REJECTED and refused.error_code == "validation"
    assert refused.error_message.startswith("gandi: dry run refused:")
    assert rig.effects("gandi", "maybe.com").get("create", 0) == 0
    assert rig.store.inventory.get("maybe.com") is None


def test_lookup_answers_availability_and_pending_does_not_trip_the_breaker(rig: Rig) -> None:
    rig.sandbox.seed_domains("gandi", [{"fqdn": "seen.com", "owner": "other", "expires": "2030-01-01"}])
    free = rig.until_final(rig.submit({"kind": "lookup", "domain": "free-name.com", "availability": True}))
    taken = rig.until_final(rig.submit({"kind": "lookup", "domain": "seen.com", "availability": True}))
    assert free.status is taken.status is JobStatus.SUCCEEDED
    assert free.result["available"] is True and taken.result["available"] is False
    step = rig.deliver(rig.submit({"kind": "lookup", "domain": "pending-name.com", "availability": True}))
    assert isinstance(step, Defer) and step.counted
    assert rig.breaker.state("gandi").failures == 0
    unsupported = rig.until_final(
        rig.submit({"kind": "lookup", "domain": "example.de", "availability": True})
    )
    assert (
        unsupported.status is JobStatus.REJECTED and "no registrar handles .de" in unsupported.error_message
    )


def test_giving_up_reconciles_only_with_the_breakers_permission(rig: Rig) -> None:
    rig.sandbox.set_faults(
        "gandi",
        [
            {"operation": "create", "kind": "commit_drop", "count": 1},
            {"operation": "*", "kind": "status", "status": 500},
        ],
    )
    key = rig.submit(register("last-chance.com"))
    steps = [rig.deliver(key, n) for n in range(3)]  # 3 failures open the breaker (failures=3)
    assert all(isinstance(s, Defer) for s in steps)
    assert rig.breaker.state("gandi").state == "open"
    assert rig.store.jobs.require(key).phase == "sending", rig.store.jobs.require(key)
    with rig.store.db.session() as session:  # out of attempts while the breaker is open
        from sqlalchemy import update

        from shared.store.schema import JobRow

        session.execute(update(JobRow).where(JobRow.key == key).values(attempts=10))
    before = rig.requests("gandi")
    step = rig.deliver(key, 9)
    assert isinstance(step, Defer) and not step.counted and "final reconciliation waits" in step.reason
    assert rig.requests("gandi") == before  # no call without a permit
    rig.sandbox.clear_faults("gandi")
    rig.breaker.reset("gandi", "test")
    outcome = rig.until_final(key)
    assert outcome.status is JobStatus.SUCCEEDED and outcome.result["reconciled"] is True
    assert rig.effects("gandi", "last-chance.com")["create"] == 1


def test_a_retry_inside_a_call_stops_when_the_breaker_opened_meanwhile(rig: Rig) -> None:
    expires = date.today() + timedelta(days=30)
    _held(rig, "sick.com", expires)
    rig.sandbox.set_faults("gandi", [{"operation": "info", "kind": "status", "status": 503}])
    opened = []

    def open_breaker_elsewhere(_seconds: float) -> None:  # other workers' failures, during the backoff
        if not opened:
            for _ in range(3):
                rig.breaker.record_failure("gandi")
            opened.append(True)

    rig.runner.gateways("gandi").client.sleep = open_breaker_elsewhere
    key = rig.submit({"kind": "renew", "domain": "sick.com", "current_expiry": expires.isoformat()})
    before = rig.requests("gandi")
    step = rig.deliver(key)
    assert isinstance(step, Defer) and not step.counted and "breaker opened during the call" in step.reason
    assert rig.requests("gandi") == before + 1  # the first try only: no retry into an open breaker
    assert rig.store.jobs.require(key).attempts == 0
