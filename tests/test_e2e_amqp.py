"""`amqp://` works as the broker too: a register through RabbitMQ and a real worker.

Runs whenever RabbitMQ answers (``REGQ_TEST_AMQP_URL``, else the local guest account); without one it
skips, except under ``CI=true``, where a missing service is a failure.
"""

from __future__ import annotations

import os
from pathlib import Path

import kombu
import pytest

from shared.jobs import JobStatus, parse_job
from shared.store import Store
from tasks.publish import submit
from testkit import services
from testkit.factories import register
from testkit.stacks import running_stack, wait_final
from workers.embedded.stack import WorkerGroup


@pytest.fixture(scope="module")
def amqp_url() -> str:
    url = services.amqp_url()
    if services.amqp_answers(url):
        return url
    shown = kombu.Connection(url).as_uri()  # the password masked
    if os.environ.get("CI") == "true":
        pytest.fail(f"RabbitMQ does not answer at {shown} and CI=true: a missing service is a failure")
    pytest.skip(f"no RabbitMQ answers at {shown} (this skip is refused under CI=true)")


def test_register_through_rabbitmq(amqp_url: str, redis_url: str, postgres_url: str, tmp_path: Path) -> None:
    Store(postgres_url).upgrade()
    groups = (WorkerGroup("amqpgandi", ("registrar.gandi",), 1),)
    with running_stack(
        redis_url, postgres_url, tmp_path, groups, extra_env={"REGQ_BROKER_URL": amqp_url}
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
