"""The circuit breaker over every backend (fake clock; the Redis script's test-only "now" argument), the
journal and the restore path. Lua on the server clock: test_breaker_redis.py."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
import redis

from shared.breaker import (
    Breaker,
    BreakerConfig,
    MemoryBreaker,
    MemoryJournal,
    Permit,
    RedisBreaker,
)

T0 = 1_700_000_000.0
CONFIG = BreakerConfig(failures=3, reset_seconds=60, probes=2, probe_timeout_seconds=10)


class FakeClock:
    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Rig:
    breaker: Breaker
    journal: MemoryJournal
    clock: FakeClock
    wipe: Callable[[str], None]  # lose the backend's state for a provider (Redis flush / new process)

    def open(self, provider: str = "gandi") -> None:
        for _ in range(CONFIG.failures):
            self.breaker.record_failure(provider)

    def moves(self, provider: str = "gandi") -> list[tuple[str, str]]:
        return [(t.from_state, t.to_state) for t in self.journal.transitions(provider)]


@pytest.fixture(params=["memory", "redis"])
def rig(request: pytest.FixtureRequest) -> Iterator[Rig]:
    clock = FakeClock()
    journal = MemoryJournal(clock=clock)
    if request.param == "memory":
        breaker = MemoryBreaker(CONFIG, journal, clock=clock)
        yield Rig(breaker, journal, clock, breaker.forget)
        return
    client = redis.Redis.from_url(request.getfixturevalue("redis_url"))
    prefix = request.getfixturevalue("redis_prefix")
    rbreaker = RedisBreaker(client, prefix, CONFIG, journal, clock=clock)

    def wipe(provider: str) -> None:
        client.delete(rbreaker.redis_key(provider))

    yield Rig(rbreaker, journal, clock, wipe)
    client.close()


def test_closed_allows(rig: Rig) -> None:
    permit = rig.breaker.before_call("gandi")
    assert (permit.allowed, permit.probe, permit.state, permit.retry_after) == (True, False, "closed", 0.0)


def test_opens_after_n_consecutive_failures(rig: Rig) -> None:
    b = rig.breaker
    b.record_failure("gandi")
    b.record_failure("gandi")
    b.record_success("gandi")  # a success in between resets the count
    b.record_failure("gandi")
    b.record_failure("gandi")
    assert b.state("gandi").failures == 2 and b.before_call("gandi").allowed
    b.record_failure("gandi")
    state = b.state("gandi")
    assert (state.state, state.failures, state.opened_until) == ("open", 3, pytest.approx(T0 + 60))
    assert rig.moves() == [("closed", "open")]
    assert rig.journal.transitions()[0].reason == "3 consecutive failures"


def test_open_refuses_with_retry_after(rig: Rig) -> None:
    rig.open()
    rig.clock.advance(45)
    permit = rig.breaker.before_call("gandi")
    assert (permit.allowed, permit.state) == (False, "open")
    assert permit.retry_after == pytest.approx(15)
    rig.breaker.record_failure("gandi")  # late reports from calls started before it opened change nothing
    rig.breaker.record_success("gandi")
    assert rig.breaker.state("gandi").opened_until == pytest.approx(T0 + 60)


def test_half_open_gives_exactly_k_probes(rig: Rig) -> None:
    rig.open()
    rig.clock.advance(60)
    permits = [rig.breaker.before_call("gandi") for _ in range(5)]
    assert [p.probe for p in permits] == [True, True, False, False, False]
    assert [p.allowed for p in permits] == [True, True, False, False, False]
    assert all(p.state == "half_open" for p in permits)
    assert 0 < permits[-1].retry_after <= CONFIG.half_open_retry_seconds
    assert rig.breaker.state("gandi").probes_in_flight == 2
    assert rig.moves() == [("closed", "open"), ("open", "half_open")]


def test_probe_success_closes(rig: Rig) -> None:
    rig.open()
    rig.clock.advance(60)
    assert rig.breaker.before_call("gandi").probe
    rig.breaker.record_success("gandi", probe=False)  # not a probe: does not decide
    assert rig.breaker.state("gandi").state == "half_open"
    rig.breaker.record_success("gandi", probe=True)
    state = rig.breaker.state("gandi")
    assert (state.state, state.failures, state.opened_until, state.probes_in_flight) == ("closed", 0, None, 0)
    assert rig.breaker.before_call("gandi").allowed
    assert rig.moves()[-1] == ("half_open", "closed")


def test_probe_failure_reopens(rig: Rig) -> None:
    rig.open()
    rig.clock.advance(60)
    assert rig.breaker.before_call("gandi").probe
    rig.clock.advance(2)
    rig.breaker.record_failure("gandi", probe=False)  # not a probe: ignored
    assert rig.breaker.state("gandi").state == "half_open"
    rig.breaker.record_failure("gandi", probe=True)
    state = rig.breaker.state("gandi")
    assert (state.state, state.opened_until) == ("open", pytest.approx(T0 + 122))
    assert not rig.breaker.before_call("gandi").allowed
    assert rig.moves() == [("closed", "open"), ("open", "half_open"), ("half_open", "open")]
    assert rig.journal.transitions()[-1].reason == "probe failed"


def test_unreported_probe_slot_is_freed(rig: Rig) -> None:
    rig.open()
    rig.clock.advance(60)
    assert rig.breaker.before_call("gandi").probe
    rig.clock.advance(4)
    assert rig.breaker.before_call("gandi").probe
    refused = rig.breaker.before_call("gandi")
    assert not refused.allowed and refused.retry_after == pytest.approx(5)  # capped by half_open_retry
    rig.clock.advance(6)  # the first probe's worker died: 10 s later its slot is free again
    assert rig.breaker.state("gandi").probes_in_flight == 1
    assert rig.breaker.before_call("gandi").probe
    refused = rig.breaker.before_call("gandi")
    assert not refused.allowed and refused.retry_after == pytest.approx(4)  # the next slot to expire
    assert rig.moves().count(("open", "half_open")) == 1


def test_released_probe_slot_is_free_at_once_and_decides_nothing(rig: Rig) -> None:
    rig.open()
    rig.clock.advance(60)
    assert [rig.breaker.before_call("gandi").probe for _ in range(3)] == [True, True, False]
    rig.breaker.release_probe("gandi")  # throttled before sending: gives the slot back
    state = rig.breaker.state("gandi")
    assert (state.state, state.probes_in_flight) == ("half_open", 1)
    assert rig.breaker.before_call("gandi").probe
    assert not rig.breaker.before_call("gandi").allowed
    rig.clock.advance(1)
    rig.breaker.release_probe("gandi")
    rig.breaker.release_probe("gandi")
    rig.breaker.release_probe("gandi")  # more releases than slots: nothing below zero
    assert rig.breaker.state("gandi").probes_in_flight == 0
    assert rig.moves() == [("closed", "open"), ("open", "half_open")]


def test_reset_closes_and_is_journaled(rig: Rig) -> None:
    rig.open()
    state = rig.breaker.reset("gandi", "upstream confirmed back by phone")
    assert (state.state, state.failures) == ("closed", 0)
    assert rig.breaker.before_call("gandi").allowed
    last = rig.journal.last_transition("gandi")
    assert last is not None
    assert (last.from_state, last.to_state, last.reason) == (
        "open",
        "closed",
        "upstream confirmed back by phone",
    )


def test_one_journal_record_per_transition(rig: Rig) -> None:
    rig.open()
    rig.breaker.record_failure("gandi")
    rig.clock.advance(60)
    for _ in range(4):
        rig.breaker.before_call("gandi")
    rig.breaker.record_failure("gandi", probe=True)
    rig.breaker.record_failure("gandi", probe=True)  # the second probe's report: already open
    rig.clock.advance(60)
    rig.breaker.before_call("gandi")
    rig.breaker.record_success("gandi", probe=True)
    rig.breaker.record_success("gandi", probe=True)
    assert rig.moves() == [
        ("closed", "open"),
        ("open", "half_open"),
        ("half_open", "open"),
        ("open", "half_open"),
        ("half_open", "closed"),
    ]
    assert [t.opened_until for t in rig.journal.transitions()][0] == pytest.approx(T0 + 60)


def test_providers_are_isolated(rig: Rig) -> None:
    rig.open("gandi")
    assert rig.breaker.before_call("rotld").allowed
    assert rig.breaker.state("rotld").state == "closed"
    assert rig.breaker.providers() == ["gandi", "rotld"]


def test_restore_open_from_journal(rig: Rig) -> None:
    rig.open()
    rig.clock.advance(20)
    rig.wipe("gandi")  # Redis restarted
    assert rig.breaker.state("gandi").state == "open"  # read-only view from the journal ...
    assert rig.breaker.providers() == []  # ... wrote nothing
    permit = rig.breaker.before_call("gandi")
    assert (permit.allowed, permit.state, permit.retry_after) == (False, "open", pytest.approx(40))
    state = rig.breaker.state("gandi")
    assert (state.state, state.failures, state.opened_until) == ("open", 3, pytest.approx(T0 + 60))
    assert rig.moves() == [("closed", "open")]  # a restore is not a transition
    rig.clock.advance(40)
    assert rig.breaker.before_call("gandi").probe  # and it carries on normally


def test_restore_closed_when_window_is_over(rig: Rig) -> None:
    rig.open()
    rig.clock.advance(61)
    rig.wipe("gandi")
    permit = rig.breaker.before_call("gandi")
    assert (permit.allowed, permit.probe, permit.state) == (True, False, "closed")


def test_restore_is_applied_before_a_failure_report(rig: Rig) -> None:
    rig.open()
    rig.wipe("gandi")
    rig.breaker.record_failure("gandi")  # reported while (restored) open: ignored, not counted as closed
    assert rig.breaker.state("gandi").state == "open"


def test_restore_without_journal_starts_closed(rig: Rig) -> None:
    assert rig.breaker.state("rotld").state == "closed"
    assert rig.breaker.before_call("rotld").allowed
    assert rig.journal.transitions() == []


def test_round_trips(rig: Rig) -> None:
    b = rig.breaker
    b.before_call("gandi")  # first sight: missing, restored
    start = b.round_trips  # type: ignore[attr-defined]
    b.before_call("gandi")
    b.record_success("gandi")
    assert b.round_trips - start == 2  # type: ignore[attr-defined]
    rig.wipe("gandi")
    b.before_call("gandi")
    assert b.round_trips - start == 4  # type: ignore[attr-defined]


def test_threads_race_through_half_open(rig: Rig) -> None:
    rig.open()
    rig.clock.advance(60)
    barrier = threading.Barrier(8)
    permits: list[Permit] = []

    def call() -> None:
        barrier.wait()
        permits.extend(rig.breaker.before_call("gandi") for _ in range(5))

    threads = [threading.Thread(target=call) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(p.probe for p in permits) == 2
    assert rig.moves().count(("open", "half_open")) == 1


def test_journal_failure_does_not_break_calls(rig: Rig, caplog: pytest.LogCaptureFixture) -> None:
    def broken(*args: object) -> None:
        raise RuntimeError("database down")

    rig.journal.record_transition = broken  # type: ignore[method-assign,assignment]
    rig.open()
    assert not rig.breaker.before_call("gandi").allowed
    assert "could not journal" in caplog.text
