"""Postgres unreachable for 30 s while jobs run: they wait and retry, none fails for it, none is lost,
and a worker that cannot record an outcome never acks the message.

The stack reaches its own fresh database only through a :class:`testkit.faults.TcpProxy` the test
controls; the test itself reads the database directly, so it watches the outage from outside. Creates are
in flight (the sandbox answers slowly) when the proxy cuts every connection and refuses new ones for
30 s; then it comes back on the same port.

Checks: during the outage every job not yet final still has its message in the broker (queued, or
delivered and unacked: a delivery that could not reach the store never acked it); after it, jobs
submitted = jobs final, all succeeded (none failed for the outage), duplicate creates at the sandbox = 0,
no two deliveries of one job overlapping in time.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from shared.jobs import FINAL_STATUSES, JobStatus
from shared.store import Store
from shared.store.database import Database, unreachable
from testkit.faults import (
    FAST_RECOVERY,
    FAULT_GROUPS,
    TcpProxy,
    check,
    held_keys,
    records,
    submit_registers,
    wait_all_final,
)
from testkit.services import postgres_database
from testkit.stacks import running_stack, wait_for
from workers.embedded.stack import Stack

GROUPS = FAULT_GROUPS
OUTAGE_SECONDS = 30.0
JOBS = 8


@pytest.fixture
def database_url() -> Iterator[str]:
    with postgres_database() as url:
        store = Store(url)
        store.upgrade()
        store.dispose()
        yield url


@pytest.fixture
def proxy(database_url: str) -> Iterator[TcpProxy]:
    target = sa.engine.make_url(database_url)
    with TcpProxy(target.host or "127.0.0.1", target.port or 5432) as p:
        yield p


def test_the_proxy_cuts_refuses_and_restores_and_the_store_tells_unreachable(
    database_url: str, proxy: TcpProxy
) -> None:
    """The machinery the scenario stands on: through the proxy the database answers; cut, an open
    connection dies (an error that says "unreachable", not a bad statement); refused, a new one fails at
    once; restored on the same port, the pool's next connection works again."""
    url = sa.engine.make_url(database_url).set(host="127.0.0.1", port=proxy.port)
    db = Database(url.render_as_string(hide_password=False))
    try:
        assert db.answers()
        with db.engine.connect() as conn:
            conn.execute(sa.text("select 1"))
            assert proxy.cut() >= 1
            with pytest.raises(sa.exc.DBAPIError) as caught:
                conn.execute(sa.text("select 1"))
            assert unreachable(caught.value)
        proxy.refuse()
        began = time.monotonic()
        assert not db.answers()
        assert time.monotonic() - began < 5, "a refused connection should fail at once"
        proxy.restore()
        assert db.answers() and proxy.listening
        with pytest.raises(sa.exc.ProgrammingError) as wrong:  # a bad statement is not an outage
            with db.engine.connect() as conn:
                conn.execute(sa.text("select * from no_such_table"))
        assert not unreachable(wrong.value)
    finally:
        db.dispose()


@pytest.fixture
def stack(redis_url: str, database_url: str, proxy: TcpProxy, tmp_path: Path) -> Iterator[Stack]:
    through_proxy = (
        sa.engine.make_url(database_url).set(host="127.0.0.1", port=proxy.port).render_as_string(False)
    )
    with running_stack(redis_url, through_proxy, tmp_path, GROUPS, beat=True, extra_env=FAST_RECOVERY) as s:
        yield s


def test_a_30_s_database_outage_fails_nothing_and_loses_nothing(
    stack: Stack, proxy: TcpProxy, database_url: str
) -> None:
    assert stack.sandbox is not None
    store = Store(database_url)  # the test's own view: straight to Postgres, not through the proxy
    try:
        stack.sandbox.set_faults("gandi", [{"operation": "create", "kind": "latency", "ms": 1000}])
        keys = submit_registers(stack, store, JOBS, "pgdown")
        wait_for(
            lambda: sum(r.status is JobStatus.RUNNING for r in records(store, keys)) >= 2,
            30,
            "creates in flight",
        )
        broker = (stack.env["REGQ_REDIS_URL"], stack.env["REGQ_BROKER_KEY_PREFIX"], ("registrar.gandi",))
        unheld_seen: set[str] = set()
        with proxy.outage(OUTAGE_SECONDS) as began:
            # Watch the whole outage: a job neither final nor held by the broker, twice in a row (a message
            # moves between the queue and the unacked hash in steps), was acked with nothing recorded.
            previous: set[str] = set()
            while time.monotonic() - began < OUTAGE_SECONDS - 1:
                pending = {r.key for r in records(store, keys) if r.status not in FINAL_STATUSES}
                held = held_keys(*broker)
                unheld = pending - held["queued"] - held["unacked"]
                unheld_seen |= unheld & previous
                previous = unheld
                time.sleep(1.0)
            at_end = {r.key: r.status.value for r in records(store, keys)}
        restored = time.monotonic()
        done = wait_all_final(store, keys, 60, "every job final after the database came back")
        recovered = time.monotonic() - restored
        report = check(stack, store, keys)
        unfinished = sum(1 for s in at_end.values() if s not in ("succeeded", "failed", "rejected"))
        print(
            f"{report.line()} pending_at_outage_end={unfinished} acked_unrecorded={len(unheld_seen)} "
            f"all_final_after_restore={recovered:.1f}s proxy_cut={proxy.cut_connections}"
        )
        assert proxy.cut_connections > 0, "the outage cut no connection: the stack did not use the proxy"
        assert unfinished > 0, "every job finished before the outage: nothing was tested"
        assert report.problems == [], report.problems
        assert report.by_status == {"succeeded": JOBS}
        # The outage costs at most the attempt it interrupted (claimed, then nothing recordable).
        assert all(r.attempts <= 2 for r in done), {r.key: r.attempts for r in done if r.attempts > 2}
        assert unheld_seen == set(), f"messages acked without a recorded outcome: {sorted(unheld_seen)}"
    finally:
        store.dispose()
