"""Every worker SIGKILLed at once mid-run, and beat with them; all restarted: nothing is lost.

One registrar worker SIGKILLed mid-job (and restarted) is ``tests/test_chaos.py`` (at random moments,
with faults and duplicates) and ``tests/test_retry_recovery.py`` (a retry dying with its worker); this
scenario kills the whole fleet: both registrar workers, the maintenance worker and beat, while creates
are in flight (the sandbox answers them slowly). What the dead workers held sits in the broker's unacked
hash, which Redis gives back only after the visibility timeout (an hour): only the sweep of the
restarted beat, run by the restarted maintenance worker, brings those jobs back.

Checks: jobs submitted = jobs final (all succeeded), duplicate creates at the sandbox = 0, no two
deliveries of one job overlapping in time, the jobs killed mid-call were republished by the sweep.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from shared.jobs import JobStatus
from shared.store import Store
from testkit.faults import (
    FAST_RECOVERY,
    FAULT_GROUPS,
    check,
    kill_all_workers,
    kill_child,
    records,
    restart_all_workers,
    restart_child,
    submit_registers,
    wait_all_final,
)
from testkit.stacks import running_stack, wait_for
from workers.embedded.stack import Stack

GROUPS = FAULT_GROUPS
JOBS = 12
CREATE_MS = 1000  # each create takes this long at the sandbox: the kill lands mid-call


@pytest.fixture
def stack(redis_url: str, own_postgres_url: str, tmp_path: Path) -> Iterator[Stack]:
    with running_stack(
        redis_url, own_postgres_url, tmp_path, GROUPS, beat=True, extra_env=FAST_RECOVERY
    ) as s:
        yield s


def test_every_worker_and_beat_killed_and_restarted_loses_nothing(
    stack: Stack, own_postgres_url: str
) -> None:
    assert stack.sandbox is not None
    store = Store(own_postgres_url)
    try:
        stack.sandbox.set_faults("gandi", [{"operation": "create", "kind": "latency", "ms": CREATE_MS}])
        keys = submit_registers(stack, store, JOBS, "fleetkill")

        def in_flight() -> list[str]:
            return [r.key for r in records(store, keys) if r.status is JobStatus.RUNNING]

        wait_for(lambda: len(in_flight()) >= 3, 30, "creates in flight on several workers")
        old_beat = stack.children["beat"].proc
        kill_all_workers(stack, GROUPS)
        kill_child(stack, "beat")
        killed_at = time.monotonic()
        running = in_flight()  # their deliveries died with the workers: only the sweep brings them back
        assert running, "nothing was running at the kill"

        restart_child(stack, "beat")  # first: waiting for the workers fails on any dead child
        restart_all_workers(stack, GROUPS)
        assert stack.children["beat"].proc is not old_beat and stack.children["beat"].alive

        done = wait_all_final(store, keys, 90, "every job final after the fleet restart")
        recovered = time.monotonic() - killed_at
        report = check(stack, store, keys)
        print(f"{report.line()} killed_mid_call={len(running)} all_final_after_kill={recovered:.1f}s")
        assert report.problems == [], report.problems
        assert report.final == JOBS and report.by_status == {"succeeded": JOBS}
        stranded = {r.key: r for r in done if r.key in running}
        assert all(r.republishes >= 1 for r in stranded.values()), {
            k: r.republishes for k, r in stranded.items()
        }
        # Lease (4 s) + grace (3 s) + a sweep interval or two (2 s) + the redelivery: well within 45 s.
        assert recovered < 45, recovered
    finally:
        store.dispose()
