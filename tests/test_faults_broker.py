"""The broker connection lost while tasks run, on the Redis broker and on RabbitMQ: no task runs twice
at the same time, nothing is lost.

The workers, beat and the producers reach the broker only through a :class:`testkit.faults.TcpProxy`
the test controls (``REGQ_BROKER_URL``); Redis for the limiter, breaker and locks, and the database, are
reached directly. While slow creates run (the sandbox takes 1.5 s over each), the proxy cuts every broker
connection and refuses new ones for 3 s, then comes back on the same port. Celery cancels the running
late-ack tasks (``worker_cancel_long_running_tasks_on_connection_loss``); RabbitMQ requeues what the
dead connections had not acked at once, Redis keeps it parked until the visibility timeout: the lease
and the sweep do the rest.

Checks: workers answer a ping again through the restored proxy; jobs submitted = jobs final (all
succeeded), duplicate creates at the sandbox = 0, no two audited calls of one job overlapping in time.

RabbitMQ: ``REGQ_TEST_AMQP_URL``, else the local guest account; when none answers its case skips,
except under ``CI=true``, where that is a failure (as ``tests/test_e2e_amqp.py``).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import kombu
import pytest
import sqlalchemy as sa

from shared.jobs import JobStatus
from shared.store import Store
from testkit import services
from testkit.faults import (
    FAST_RECOVERY,
    FAULT_GROUPS,
    TcpProxy,
    check,
    records,
    submit_registers,
    wait_all_final,
    wait_reconnected,
)
from testkit.stacks import running_stack, wait_for
from workers.embedded.stack import Stack

GROUPS = FAULT_GROUPS
JOBS = 6
CUT_SECONDS = 3.0


def _broker(kind: str, redis_url: str) -> tuple[str, str, int]:
    """(scheme-and-path template with {port}, real host, real port) of the broker behind the proxy."""
    if kind == "redis":
        url = sa.engine.make_url(redis_url.replace("redis://", "redis+x://", 1))  # only to parse it
        return f"redis://127.0.0.1:{{port}}/{url.database or 0}", url.host or "127.0.0.1", url.port or 6379
    amqp = services.amqp_url()
    if not services.amqp_answers(amqp):
        shown = kombu.Connection(amqp).as_uri()  # the password masked
        if os.environ.get("CI") == "true":
            pytest.fail(f"RabbitMQ does not answer at {shown} and CI=true: a missing service is a failure")
        pytest.skip(f"no RabbitMQ answers at {shown} (this skip is refused under CI=true)")
    parsed = kombu.Connection(amqp)
    template = amqp.replace(f"{parsed.hostname}:{parsed.port}", "127.0.0.1:{port}", 1)
    if "{port}" not in template:  # no explicit port in the URL
        template = amqp.replace(f"@{parsed.hostname}", "@127.0.0.1:{port}", 1)
    return template, parsed.hostname or "127.0.0.1", int(parsed.port or 5672)


@pytest.fixture(params=["redis", "amqp"])
def broker(request: pytest.FixtureRequest, redis_url: str) -> Iterator[tuple[str, TcpProxy]]:
    template, host, port = _broker(request.param, redis_url)
    with TcpProxy(host, port) as proxy:
        yield template.replace("{port}", str(proxy.port)), proxy


@pytest.fixture
def stack(
    redis_url: str, own_postgres_url: str, broker: tuple[str, TcpProxy], tmp_path: Path
) -> Iterator[Stack]:
    env = {**FAST_RECOVERY, "REGQ_BROKER_URL": broker[0]}
    with running_stack(redis_url, own_postgres_url, tmp_path, GROUPS, beat=True, extra_env=env) as s:
        yield s


def test_broker_connection_loss_runs_no_task_twice_at_once(
    stack: Stack, broker: tuple[str, TcpProxy], own_postgres_url: str
) -> None:
    assert stack.sandbox is not None
    proxy = broker[1]
    store = Store(own_postgres_url)
    try:
        stack.sandbox.set_faults("gandi", [{"operation": "create", "kind": "latency", "ms": 1500}])
        keys = submit_registers(stack, store, JOBS, "brokercut")
        wait_for(
            lambda: sum(r.status is JobStatus.RUNNING for r in records(store, keys)) >= 3,
            30,
            "creates in flight on several workers",
        )
        with proxy.outage(CUT_SECONDS):
            cut = proxy.cut_connections
        began = time.monotonic()
        reconnected = wait_reconnected(stack, GROUPS, 60)
        wait_all_final(store, keys, 60, "every job final after the broker came back")
        recovered = time.monotonic() - began
        report = check(stack, store, keys)
        print(
            f"{stack.env['REGQ_BROKER_URL'].split(':')[0]}: {report.line()} connections_cut={cut} "
            f"reconnected={reconnected:.1f}s all_final_after_restore={recovered:.1f}s"
        )
        assert cut >= len(GROUPS), f"only {cut} broker connections were cut: the stack bypassed the proxy"
        assert report.problems == [], report.problems
        assert report.by_status == {"succeeded": JOBS}
    finally:
        store.dispose()
