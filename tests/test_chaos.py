"""Chaos with real worker processes: faults at the sandbox, duplicate deliveries, SIGKILLed workers.

200 registers and 60 renewals, each submitted 3 times by concurrent producers (about half also get 2 raw
duplicate messages; the others travel as one message, so a kill that takes it leaves recovery to the
sweep), while the sandbox commits-then-drops 20 % of the creates/renewals and answers 500 on 10 %, and
whole registrar workers are SIGKILLed at seeded random moments and restarted. Beat and the maintenance
worker sweep what the dead workers held. At the end every job is final, none is lost, every domain was
created exactly once and every term renewed exactly once. The scenario lives in
:mod:`testkit.chaos_scenario` (``bench/chaos.py`` runs it bigger); the seed is printed, and
``REGQ_CHAOS_SEED=<seed>`` replays a failing run.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from testkit.chaos_scenario import ChaosConfig, run_chaos
from testkit.chaos_scenario.run import problems_text, run_on_stack, running_chaos_stack
from workers.embedded.stack import Stack

CONFIG = ChaosConfig(seed=int(os.environ.get("REGQ_CHAOS_SEED", "1729")), registers=200, renews=60)


@pytest.fixture
def chaos_stack(
    redis_url: str, own_postgres_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    var_dir = Path(tmp_path_factory.mktemp("chaos"))
    with running_chaos_stack(redis_url, own_postgres_url, var_dir, CONFIG) as stack:
        yield stack


def test_exactly_once_under_faults_duplicates_and_killed_workers(chaos_stack: Stack) -> None:
    run = run_on_stack(chaos_stack, run_chaos, CONFIG)
    report = run.report
    print(report.table())
    assert not report.problems, problems_text(report, CONFIG.seed, chaos_stack)
    assert report.lost == 0 and report.duplicate_effects == 0
    taken = sum(1 for j in run.plan.registers if j.taken)
    assert report.failed == taken and report.succeeded == report.submitted - taken
    assert len(report.kills) >= CONFIG.min_kills
    # Recovery: every job final within 90 s of the last kill, and no job left due with no delivery for
    # longer than the sweep's grace and back-off allow (a lost retry: grace + one sweep interval).
    assert report.final_after_last_kill <= 90, report.table()
    assert report.longest_due_wait <= 60, report.table()
    # Both kinds of injected fault really happened, at both providers.
    for provider in ("gandi", "rotld"):
        assert report.faults_injected[provider].get("commit_drop", 0) > 0, report.faults_injected
        assert report.faults_injected[provider].get("status", 0) > 0, report.faults_injected
