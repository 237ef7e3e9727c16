"""`amqp://` works as the broker too: a register through RabbitMQ and a real worker."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from shared.jobs import JobStatus, parse_job
from shared.store import Store
from tasks.publish import submit
from tests.factories import register
from tests.stacks import running_stack, wait_final
from workers.embedded.stack import WorkerGroup

AMQP_URL = os.environ.get("REGQ_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672//")


def _rabbit_answers() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5672), timeout=2):
            return True
    except OSError:
        return False


def test_register_through_rabbitmq(redis_url: str, postgres_url: str, tmp_path: Path) -> None:
    if not _rabbit_answers():
        if os.environ.get("CI") == "true":
            pytest.fail(
                "RabbitMQ does not answer on 127.0.0.1:5672 and CI=true: a missing service is a failure"
            )
        pytest.skip("no RabbitMQ on 127.0.0.1:5672 (this skip is refused under CI=true)")
    Store(postgres_url).upgrade()
    groups = (WorkerGroup("amqpgandi", ("registrar.gandi",), 1),)
    with running_stack(
        redis_url, postgres_url, tmp_path, groups, extra_env={"REGQ_BROKER_URL": AMQP_URL}
    ) as stack:
        store = Store(postgres_url)
        producer = stack.producer()
        assert producer.conf.broker_url.startswith("amqp://")
        key = submit(parse_job(register("e2e-amqp.com")), store=store, app=producer).key
        outcome = wait_final(store, key)
        assert outcome.status is JobStatus.SUCCEEDED, outcome
        assert stack.sandbox.stats("gandi")["effects"]["e2e-amqp.com"]["create"] == 1
        producer.close()
        store.dispose()
