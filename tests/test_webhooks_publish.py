"""A completion webhook leaves from the job's own task (``tasks.delivery.deliver``), not from a signal or
the sweep: the outbox ids come back with the delivery's step and are published beside follow-ups."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest

from shared.execution import Defer, Done
from shared.jobs import JobKind, JobOutcome, JobStatus
from tasks import delivery, runtime


class Producer:
    def __init__(self, fail: bool = False) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []
        self.fail = fail

    def send_task(self, name: str, kwargs: dict[str, Any]) -> None:
        if self.fail:
            raise ConnectionError("broker gone")
        self.sent.append((name, kwargs))


class Retry(Exception):
    pass


def _task() -> Any:
    request = SimpleNamespace(id="task-1", kwargs={"domain": "example.com"})

    def retry(countdown: float, max_retries: int | None, exc: Exception | None = None) -> Retry:
        return Retry(countdown, exc)

    return SimpleNamespace(name="regq.register", request=request, retry=retry)


def _outcome(status: JobStatus) -> JobOutcome:
    now = datetime.now(UTC)
    return JobOutcome(
        key="k1", kind=JobKind.REGISTER, domain="example.com", registrar="gandi", status=status,
        attempts=1, created_at=now, updated_at=now,
    )  # fmt: skip


def _runtime(monkeypatch: pytest.MonkeyPatch, step: Done | Defer, producer: Producer) -> None:
    runner = SimpleNamespace(run=lambda key, owner, kind, domain: step)
    rt = SimpleNamespace(runner=runner, producer=producer, store=SimpleNamespace())
    monkeypatch.setattr(runtime, "get", lambda: rt)


def test_a_finished_delivery_publishes_one_webhook_task_per_outbox_row(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    producer = Producer()
    _runtime(monkeypatch, Done(_outcome(JobStatus.SUCCEEDED), webhooks=(11, 12)), producer)
    summary = delivery.deliver(_task(), "k1")
    assert summary == {"key": "k1", "status": "succeeded", "error_code": None}
    assert producer.sent == [
        ("regq.webhook_deliver", {"delivery_id": 11}),
        ("regq.webhook_deliver", {"delivery_id": 12}),
    ]


def test_a_deferred_partial_answer_publishes_its_webhook_before_the_retry(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    producer = Producer()
    _runtime(monkeypatch, Defer(5.0, "partial", counted=False, webhooks=(21,)), producer)
    with pytest.raises(Retry):
        delivery.deliver(_task(), "k1")
    assert producer.sent == [("regq.webhook_deliver", {"delivery_id": 21})]


def test_nothing_recorded_nothing_published(monkeypatch: pytest.MonkeyPatch) -> None:
    producer = Producer()
    _runtime(monkeypatch, Done(_outcome(JobStatus.SUCCEEDED)), producer)
    delivery.deliver(_task(), "k1")
    assert producer.sent == []


def test_a_broker_failure_never_fails_the_job_task(monkeypatch: pytest.MonkeyPatch) -> None:
    """The outbox row stays due; beat's webhook sweep delivers it."""
    _runtime(monkeypatch, Done(_outcome(JobStatus.SUCCEEDED), webhooks=(31,)), Producer(fail=True))
    assert delivery.deliver(_task(), "k1") == {"key": "k1", "status": "succeeded", "error_code": None}
