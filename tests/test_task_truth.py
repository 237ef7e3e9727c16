"""What a job's Celery task records is the job's truth (issue 21): a job that ended failed or rejected ends
its task in FAILURE (``JobUnsuccessful``, raised after the outcome's webhooks are published), a deferred
one retries with its reason, and the housekeeping sweeps send no task events. Unit level, no broker; the
same with real workers, beat and Flower is tests/test_flower_truth.py."""

from __future__ import annotations

import pickle
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest

from shared.errors import JobDeferred, JobUnsuccessful
from shared.execution import Defer, Done
from shared.jobs import JobKind, JobOutcome, JobStatus
from tasks import delivery, runtime
from tasks.app import app


class Retry(Exception):
    pass


class Producer:
    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []

    def send_task(self, name: str, kwargs: dict[str, Any]) -> None:
        self.sent.append((name, kwargs))


def _task() -> Any:
    request = SimpleNamespace(id="task-1", kwargs={"domain": "example.com"})

    def retry(countdown: float, max_retries: int | None, exc: Exception | None = None) -> Retry:
        return Retry(countdown, exc)

    return SimpleNamespace(name="regq.register", request=request, retry=retry)


def _outcome(status: JobStatus, code: str | None = None, duplicate: bool = False) -> JobOutcome:
    now = datetime.now(UTC)
    return JobOutcome(
        key="register:example.com", kind=JobKind.REGISTER, domain="example.com", registrar="gandi",
        status=status, attempts=1, created_at=now, updated_at=now, error_code=code,
        error_message="owner.email ana@example.org refused", duplicate=duplicate,
    )  # fmt: skip


def _runtime(monkeypatch: pytest.MonkeyPatch, step: Done | Defer) -> Producer:
    producer = Producer()
    runner = SimpleNamespace(run=lambda key, owner, kind, domain: step)
    monkeypatch.setattr(runtime, "get", lambda: SimpleNamespace(runner=runner, producer=producer))
    return producer


@pytest.mark.parametrize(("status", "code"), [("failed", "domain_unavailable"), ("rejected", "validation")])
def test_a_failed_or_rejected_job_raises_after_its_webhooks_are_published(
    monkeypatch: pytest.MonkeyPatch, status: str, code: str
) -> None:
    producer = _runtime(monkeypatch, Done(_outcome(JobStatus(status), code), webhooks=(7,)))
    with pytest.raises(JobUnsuccessful) as raised:
        delivery.deliver(_task(), "register:example.com")
    assert producer.sent == [("regq.webhook_deliver", {"delivery_id": 7})]  # queued before the raise
    text = str(raised.value)
    assert text == f"job register:example.com ended {status}, error code {code}"
    assert "ana@example.org" not in text  # the outcome's message (which may quote input) stays out


def test_a_repeated_delivery_of_a_failed_job_says_so() -> None:
    assert "already final" in str(JobUnsuccessful("k", "failed", None, duplicate=True))


def test_a_succeeded_job_returns_its_summary(monkeypatch: pytest.MonkeyPatch) -> None:
    _runtime(monkeypatch, Done(_outcome(JobStatus.SUCCEEDED)))
    summary = delivery.deliver(_task(), "register:example.com")
    assert summary == {"key": "register:example.com", "status": "succeeded", "error_code": None}


def test_a_deferred_job_retries_with_its_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    _runtime(monkeypatch, Defer(4.0, "gandi: rate limited, retry in 4.000 s", counted=False))
    with pytest.raises(Retry) as raised:
        delivery.deliver(_task(), "register:example.com")
    countdown, why = raised.value.args
    assert countdown == 4.0 and isinstance(why, JobDeferred)
    assert str(why) == "job register:example.com runs again in 4.0 s: gandi: rate limited, retry in 4.000 s"


def test_both_cross_the_process_pool_intact() -> None:
    """The prefork pool pickles a task's exception back to the worker's main process (and Celery's
    Retry keeps only a picklable copy): both survive with their fields and message."""
    for exc in (JobUnsuccessful("k", "rejected", "validation", True), JobDeferred("k", 2.5, "why")):
        copy = pickle.loads(pickle.dumps(exc))
        assert type(copy) is type(exc) and str(copy) == str(exc) and vars(copy) == vars(exc)


def test_job_tasks_expect_the_failure_and_sweeps_send_no_events() -> None:
    job_tasks = [name for name, task in app.tasks.items() if getattr(task, "run", None) and _is_job(task)]
    assert "regq.register" in job_tasks and "regq.lookup" in job_tasks
    for name in job_tasks:  # expected: logged at INFO without a traceback, never retried by Celery
        assert app.tasks[name].throws == (JobUnsuccessful,), name
        assert not getattr(app.tasks[name], "autoretry_for", ()), name
    for name in ("regq.sweep", "regq.webhook_sweep"):
        assert app.tasks[name].send_events is False
    assert app.tasks["regq.register"].send_events is True


def _is_job(task: Any) -> bool:
    import inspect

    return "key" in inspect.signature(task.run).parameters
