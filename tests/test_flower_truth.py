"""Flower tells the truth (issue 21), with real processes: a worker with events on (``-E``), beat sweeping
every half second, Flower, the sandbox.

- a register that ends ``failed`` is a Celery FAILURE in Flower, once, never retried; one that succeeds is
  a SUCCESS; one that waits shows why (the RETRY's exception text is the runner's reason);
- the housekeeping sweeps (``regq.sweep``, ``regq.webhook_sweep``) send no task event at all (worker:
  ``send_events=False``; beat: no ``task-sent``), captured with Celery's own EventReceiver, while a job's
  events do arrive;
- Flower is started with the Tasks columns that show the job key and domain (compose and embedded alike).

The unit-level half (what the task raises, and when) is tests/test_task_truth.py.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from shared import defaults
from shared.jobs import JobStatus, parse_job
from shared.store import Store
from tasks.publish import submit
from testkit.factories import person, register
from testkit.stacks import running_stack, wait_final, wait_for
from workers.embedded.stack import Stack, WorkerGroup, flower_command

GROUPS = (WorkerGroup("all", ("registrar.gandi", "maintenance"), 2),)
SWEEPS = ("regq.sweep", "regq.webhook_sweep")
ENV = {"REGQ_SWEEP_INTERVAL_SECONDS": "0.5", "REGQ_WEBHOOK_SWEEP_INTERVAL_SECONDS": "0.5"}
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def stack(redis_url: str, own_postgres_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    store = Store(own_postgres_url)
    store.upgrade()
    store.dispose()
    var = Path(tmp_path_factory.mktemp("flower-stack"))
    with running_stack(redis_url, own_postgres_url, var, GROUPS, beat=True, flower=True, extra_env=ENV) as s:
        yield s


class Events:
    """Every event on the stack's broker, captured by Celery's EventReceiver in a thread."""

    def __init__(self, stack: Stack) -> None:
        self.app = stack.producer()
        self.seen: list[dict[str, Any]] = []
        self.ready = threading.Event()
        self._receiver: Any = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _on_event(self, event: dict[str, Any]) -> None:
        self.seen.append(event)
        self.ready.set()  # the first event (a worker heartbeat, every 2 s): the receiver's queue is bound

    def _run(self) -> None:
        with self.app.connection_for_read() as connection:
            self._receiver = self.app.events.Receiver(connection, handlers={"*": self._on_event})
            self._receiver.capture(limit=None, timeout=None, wakeup=False)

    def __enter__(self) -> Events:
        self._thread.start()
        assert self.ready.wait(15), "the event receiver heard nothing (not even a worker heartbeat)"
        return self

    def __exit__(self, *exc: object) -> None:
        if self._receiver is not None:
            self._receiver.should_stop = True
        self._thread.join(10)
        self.app.close()

    def names(self) -> dict[str, str]:
        """uuid -> task name, from the events that carry one (task-sent, task-received)."""
        return {e["uuid"]: e["name"] for e in list(self.seen) if e.get("name") and e.get("uuid")}


def _sweeps_done(stack: Stack) -> int:
    """How many sweeps the worker has finished, from its log (INFO: "Task regq.sweep[...] succeeded")."""
    text = (stack.var_dir / "logs" / "all.log").read_text(errors="replace")
    return sum(text.count(f"Task {name}[") for name in SWEEPS) // 2  # received + succeeded lines


def _flower_tasks(stack: Stack, key: str) -> list[dict[str, Any]]:
    answer = requests.get(f"{stack.flower_url}/api/tasks", auth=stack.flower_auth, timeout=5)
    answer.raise_for_status()
    return [t for t in answer.json().values() if f"'key': '{key}'" in str(t.get("kwargs"))]


def _flower_state(stack: Stack, key: str, state: str) -> list[dict[str, Any]] | None:
    tasks = _flower_tasks(stack, key)
    return tasks if tasks and all(t["state"] == state for t in tasks) else None


def test_sweeps_send_no_events_while_a_jobs_events_arrive(stack: Stack, stack_store: Store) -> None:
    with Events(stack) as events:
        before = _sweeps_done(stack)
        key = submit(parse_job(register("flower-events.com")), store=stack_store, app=events.app).key
        assert wait_final(stack_store, key).status is JobStatus.SUCCEEDED
        wait_for(lambda: _sweeps_done(stack) >= before + 4, 30, "beat's sweeps to run meanwhile")

        def job_done() -> bool:
            ids = {u for u, name in events.names().items() if name == "regq.register"}
            return any(e["type"] == "task-succeeded" and e["uuid"] in ids for e in list(events.seen))

        wait_for(job_done, 30, "the register's task-succeeded event")
    names = events.names()
    task_events = [e for e in events.seen if e["type"].startswith("task-")]
    assert {"task-received", "task-started", "task-succeeded"} <= {e["type"] for e in task_events}
    assert not [n for n in names.values() if n in SWEEPS], "a sweep sent a task event"
    # every task event belongs to a task that named itself: none is a silent sweep's
    anonymous = [e for e in task_events if e["uuid"] not in names]
    assert not anonymous, anonymous[:3]


def test_a_failed_register_is_a_failure_once_and_a_success_a_success(
    stack: Stack, stack_store: Store
) -> None:
    stack.sandbox.seed_domains(
        "gandi", [{"fqdn": "flower-taken.com", "owner": "other", "expires": "2030-01-01"}]
    )
    owner = person(email="flower.failure@example.org", phone="+33.612340000")
    producer = stack.producer()
    failed_key = submit(
        parse_job(register("flower-taken.com", owner=owner)), store=stack_store, app=producer
    ).key
    ok_key = submit(parse_job(register("flower-ok.com")), store=stack_store, app=producer).key
    producer.close()
    failed = wait_final(stack_store, failed_key)
    assert failed.status is JobStatus.FAILED and failed.error_code == "domain_unavailable", failed
    assert failed.attempts == 1
    assert wait_final(stack_store, ok_key).status is JobStatus.SUCCEEDED

    [task] = wait_for(lambda: _flower_state(stack, failed_key, "FAILURE"), 30, "Flower's FAILURE")  # type: ignore[misc]
    assert task["retries"] == 0
    assert f"job {failed_key} ended failed, error code domain_unavailable" in task["exception"]
    [success] = wait_for(lambda: _flower_state(stack, ok_key, "SUCCESS"), 30, "Flower's SUCCESS")  # type: ignore[misc]
    assert "'status': 'succeeded'" in str(success["result"])
    # no second attempt: still one task in Flower, one attempt on the row, no create at the registrar
    assert len(_flower_tasks(stack, failed_key)) == 1
    assert stack_store.jobs.require(failed_key).attempts == 1
    assert "create" not in stack.sandbox.stats("gandi")["effects"].get("flower-taken.com", {})
    log = (stack.var_dir / "logs" / "all.log").read_text(errors="replace")
    lines = [line for line in log.splitlines() if failed_key in line]
    assert any("raised expected" in line for line in lines), lines  # INFO, no traceback
    assert not [line for line in lines if "ERROR" in line]
    for personal in (owner["email"], owner["phone"], owner["family"]):
        assert personal not in log and personal not in str(task)


def test_a_waiting_job_shows_why_in_flower(stack: Stack, stack_store: Store) -> None:
    # one 429 with Retry-After on the create: a wait (not an attempt), then the job succeeds
    rule = {"operation": "create", "kind": "status", "status": 429, "retry_after": 2, "count": 1}
    stack.sandbox.set_faults("gandi", [rule])
    producer = stack.producer()
    key = submit(parse_job(register("flower-wait.com")), store=stack_store, app=producer).key
    producer.close()
    try:
        assert wait_final(stack_store, key).status is JobStatus.SUCCEEDED
    finally:
        stack.sandbox.clear_faults("gandi")
    [task] = wait_for(lambda: _flower_state(stack, key, "SUCCESS"), 30, "Flower's SUCCESS")  # type: ignore[misc]
    assert task["retries"] >= 1
    reason = str(task["exception"])  # the RETRY's text stays on the row
    assert f"job {key} runs again in" in reason, reason
    assert "429" in reason or "rate" in reason.lower(), reason


def test_flower_shows_the_job_columns_in_compose_and_embedded() -> None:
    argv, _ = flower_command(5555, "u:p")
    wanted = f"--tasks_columns={defaults.FLOWER_TASKS_COLUMNS}"
    assert wanted in argv
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert wanted in compose["services"]["flower"]["command"]
    columns = defaults.FLOWER_TASKS_COLUMNS.split(",")
    assert {"kwargs", "state", "result", "exception"} <= set(columns)
    from flower.views.tasks import TASK_COLUMNS  # Flower drops a slug it does not know: none is unknown

    assert set(columns) <= set(TASK_COLUMNS)
