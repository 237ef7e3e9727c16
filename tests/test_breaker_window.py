"""The breaker's failure-rate trigger over a sliding window of calls (both backends), and the per-call
reporting of a delivery (CallReporter, then the runner against the sandbox: one report per request)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from sandbox.stack import Sandbox
from shared.breaker import Breaker, BreakerConfig, MemoryBreaker, MemoryJournal, RedisBreaker
from shared.breaker.base import Permit
from shared.execution import Defer
from shared.jobs import JobStatus
from shared.upstream import CallReporter
from testkit.factories import register
from tests.test_runner import build_rig

T0 = 1_700_000_000.0
WINDOW = BreakerConfig(
    failures=4,
    reset_seconds=60,
    probes=1,
    probe_timeout_seconds=10,
    window_calls=10,
    min_calls=5,
    failure_rate=50,
)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


def _breaker(
    request: pytest.FixtureRequest, config: BreakerConfig
) -> Iterator[tuple[Breaker, MemoryJournal]]:
    clock = Clock()
    journal = MemoryJournal(clock=clock)
    if request.param == "memory":
        yield MemoryBreaker(config, journal, clock=clock), journal
        return
    client = redis.Redis.from_url(request.getfixturevalue("redis_url"))
    yield RedisBreaker(client, request.getfixturevalue("redis_prefix"), config, journal, clock=clock), journal
    client.close()


@pytest.fixture(params=["memory", "redis"])
def windowed(request: pytest.FixtureRequest) -> Iterator[tuple[Breaker, MemoryJournal]]:
    yield from _breaker(request, WINDOW)


def _calls(breaker: Breaker, pattern: str, provider: str = "gandi") -> None:
    for c in pattern:
        if c == "F":
            breaker.record_failure(provider)
        else:
            breaker.record_success(provider)


def test_a_low_failure_rate_never_opens(windowed: tuple[Breaker, MemoryJournal]) -> None:
    breaker, journal = windowed
    _calls(breaker, "SSSSSSSSSF" * 30)  # 10 % of 300 calls, never two in a row
    state = breaker.state("gandi")
    assert state.state == "closed" and journal.transitions() == []
    assert (state.calls, state.failed_calls) == (10, 1) and state.failure_rate == 10.0


def test_half_the_calls_failing_opens_once_the_window_has_min_calls(
    windowed: tuple[Breaker, MemoryJournal],
) -> None:
    breaker, journal = windowed
    _calls(breaker, "FSFS")  # 50 % but only 4 calls: no verdict yet
    assert breaker.state("gandi").state == "closed"
    _calls(breaker, "F")  # 3 of 5
    assert breaker.state("gandi").state == "open"
    (opened,) = journal.transitions("gandi")
    assert opened.reason == "failure rate 60 % over the last 5 calls (3 failed)"
    assert breaker.state("gandi").calls == 0  # an opened breaker starts a new window


def test_old_calls_slide_out_of_the_window(windowed: tuple[Breaker, MemoryJournal]) -> None:
    breaker, journal = windowed
    _calls(breaker, "FFFSSSSSSS")  # 3 of 10
    _calls(breaker, "FSF")  # the window: SSSSSSS FSF -> the three old failures slid out: 2 of 10
    state = breaker.state("gandi")
    assert state.state == "closed" and (state.calls, state.failed_calls) == (10, 2)
    _calls(breaker, "FSFF")  # SSS FSF FSFF = 5 of 10 (the last three are not 4 in a row)
    assert breaker.state("gandi").state == "open"
    assert journal.transitions("gandi")[0].reason.startswith("failure rate 50 % over the last 10 calls")


def test_consecutive_failures_still_open_below_the_rate(windowed: tuple[Breaker, MemoryJournal]) -> None:
    breaker, journal = windowed
    _calls(breaker, "SSSSSSSSSS")
    _calls(breaker, "FFF")
    assert breaker.state("gandi").state == "closed"  # 3 of 10
    _calls(breaker, "F")  # 4 of 10, but 4 in a row
    assert breaker.state("gandi").state == "open"
    assert journal.transitions("gandi")[0].reason == "4 consecutive failures"


def test_a_closed_probe_starts_an_empty_window(windowed: tuple[Breaker, MemoryJournal]) -> None:
    breaker, _journal = windowed
    _calls(breaker, "FFFF")
    permit = None
    assert breaker.before_call("gandi").allowed is False
    if isinstance(breaker, MemoryBreaker | RedisBreaker):
        breaker._clock.now += 61  # type: ignore[union-attr]
    permit = breaker.before_call("gandi")
    assert permit.probe
    breaker.record_success("gandi", probe=True)
    state = breaker.state("gandi")
    assert state.state == "closed" and state.calls == 0
    _calls(breaker, "FSFS")
    assert breaker.state("gandi").state == "closed"  # the old window does not count again


@pytest.fixture(params=["memory", "redis"])
def unwindowed(request: pytest.FixtureRequest) -> Iterator[tuple[Breaker, MemoryJournal]]:
    config = BreakerConfig(failures=3, reset_seconds=60, probes=1, probe_timeout_seconds=10, window_calls=0)
    yield from _breaker(request, config)


def test_window_off_is_the_consecutive_model(unwindowed: tuple[Breaker, MemoryJournal]) -> None:
    breaker, _journal = unwindowed
    _calls(breaker, "FFSFFSFFSFFS")  # 67 % failed, never 3 in a row
    state = breaker.state("gandi")
    assert state.state == "closed" and state.calls == 0
    _calls(breaker, "FFF")
    assert breaker.state("gandi").state == "open"


def test_a_minimum_above_the_window_is_a_config_error_naming_the_variable() -> None:
    from shared.errors import ConfigError
    from shared.settings import load_settings

    with pytest.raises(ConfigError, match="REGQ_BREAKER_MIN_CALLS"):
        BreakerConfig.from_settings(load_settings(breaker_window_calls=10, breaker_min_calls=20))
    assert BreakerConfig.from_settings(load_settings()).window_calls == 100


def test_bad_window_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="min_calls"):
        BreakerConfig(
            failures=3, reset_seconds=1, probes=1, probe_timeout_seconds=1, window_calls=5, min_calls=9
        )
    with pytest.raises(ValueError, match="percentage"):
        BreakerConfig(failures=3, reset_seconds=1, probes=1, probe_timeout_seconds=1, failure_rate=0)


# --- per-call reporting ------------------------------------------------------------------------------
def _memory(config: BreakerConfig = WINDOW) -> tuple[MemoryBreaker, Clock]:
    clock = Clock()
    return MemoryBreaker(config, MemoryJournal(clock=clock), clock=clock), clock


def test_reporter_tells_each_call_as_it_ends() -> None:
    breaker, _clock = _memory()
    reporter = CallReporter(breaker, "gandi", breaker.before_call("gandi"))
    reporter("failure")  # the first call failed ...
    assert breaker.state("gandi").failed_calls == 1  # ... and the breaker knows before the job ends
    reporter("none")  # a 429 says nothing of the upstream's health
    reporter("success")
    reporter.settle("success")
    state = breaker.state("gandi")
    assert (state.calls, state.failed_calls, state.failures) == (2, 1, 0)


def test_reporter_counts_a_failure_no_call_reported_once() -> None:
    breaker, _clock = _memory()
    reporter = CallReporter(breaker, "gandi", breaker.before_call("gandi"))
    reporter("success")
    reporter.settle("failure")  # an answer the gateway could not use after the call
    assert (breaker.state("gandi").calls, breaker.state("gandi").failed_calls) == (2, 1)
    again = CallReporter(breaker, "gandi", breaker.before_call("gandi"))
    again("failure")
    again.settle("failure")  # the failing call already said so
    assert (breaker.state("gandi").calls, breaker.state("gandi").failed_calls) == (3, 2)


def test_a_probe_is_decided_by_its_first_call_and_given_back_when_unused() -> None:
    breaker, clock = _memory()
    _calls(breaker, "FFFF")
    clock.now += 61
    probe = breaker.before_call("gandi")
    assert probe.probe
    unused = CallReporter(breaker, "gandi", probe)
    unused.settle("none")  # throttled before sending: the slot is free at once
    probe = breaker.before_call("gandi")
    assert probe.probe and probe.allowed
    reporter = CallReporter(breaker, "gandi", probe)
    reporter("success")  # the first call closes it
    assert breaker.state("gandi").state == "closed"
    reporter("failure")  # a later call of the same delivery is an ordinary report
    assert breaker.state("gandi").state == "closed" and breaker.state("gandi").failed_calls == 1


def test_a_non_probe_permit_reports_plain_calls() -> None:
    breaker, _clock = _memory()
    reporter = CallReporter(
        breaker, "gandi", Permit(allowed=True, probe=False, state="closed", retry_after=0)
    )
    reporter.settle("success")  # no call was made: nothing to report
    assert breaker.state("gandi").calls == 0


def test_the_runner_reports_every_request_not_every_job(sandbox: Sandbox, tmp_path: Path) -> None:
    """Renewals whose `info` answers 500 three times (retried inside the delivery, or in the next one):
    a per-job verdict would have heard a success per renewal; per call, the breaker hears exactly the
    requests the sandbox answered, the three 500s as failures."""
    with build_rig(sandbox, tmp_path) as rig:
        config = BreakerConfig(
            failures=1000,
            reset_seconds=60,
            probes=1,
            probe_timeout_seconds=10,
            window_calls=1000,
            min_calls=1000,
        )
        counting = MemoryBreaker(config, MemoryJournal())
        rig.runner.breaker = counting
        keys = []
        for n in range(6):
            domain = f"percall-{n}.com"
            assert rig.until_final(rig.submit(register(domain))).status is JobStatus.SUCCEEDED
            held = rig.store.inventory.get(domain)
            assert held is not None and held.expires_at is not None
            keys.append(
                rig.submit({"kind": "renew", "domain": domain, "current_expiry": held.expires_at.isoformat()})
            )
        assert counting.state("gandi").calls > 0 and counting.state("gandi").failed_calls == 0
        counting.reset("gandi", "count the renewals alone")
        rig.sandbox.set_faults("gandi", [{"operation": "info", "kind": "status", "status": 500, "count": 3}])
        requests_before = rig.requests("gandi")
        for key in keys:
            assert rig.until_final(key).status is JobStatus.SUCCEEDED
        after = counting.state("gandi")
        assert after.calls == rig.requests("gandi") - requests_before > len(keys)
        assert after.failed_calls == 3 and after.state == "closed"


class _Unreachable(MemoryBreaker):
    """A breaker whose Redis is gone: every operation raises what redis-py raises."""

    def _run(self, provider, op, probe, restore):  # type: ignore[no-untyped-def]
        raise redis.ConnectionError("Connection refused")


def test_a_report_redis_cannot_take_is_dropped_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    breaker = _Unreachable(WINDOW, MemoryJournal())
    reporter = CallReporter(
        breaker, "gandi", Permit(allowed=True, probe=True, state="half_open", retry_after=0)
    )
    reporter("success")  # the call's answer stands
    CallReporter(breaker, "gandi", Permit(allowed=True, probe=True, state="half_open", retry_after=0)).settle(
        "none"
    )
    assert "report was lost" in caplog.text and "probe slot was not given back" in caplog.text


def test_a_delivery_that_loses_redis_gives_the_job_back_without_using_an_attempt(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    with build_rig(sandbox, tmp_path) as rig:
        rig.runner.breaker = _Unreachable(WINDOW, MemoryJournal())
        key = rig.submit(register("redis-gone.com"))
        step = rig.deliver(key)
        assert isinstance(step, Defer) and not step.counted and "Redis did not answer" in step.reason
        record = rig.store.jobs.require(key)
        assert record.status is JobStatus.WAITING and record.attempts == 0 and record.lease_owner is None
        assert rig.requests("gandi") == 0
        rig.runner.breaker = MemoryBreaker(WINDOW, MemoryJournal())  # Redis is back
        assert rig.until_final(key).status is JobStatus.SUCCEEDED
