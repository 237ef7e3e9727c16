"""Messages on the broker that are not ours or are malformed (issue 14), against a real worker process.

The worker runs on an isolated broker prefix (testkit.stacks.running_stack). Each bad message must be
rejected and logged once, never retried or redelivered, never crash the worker, and never reach an
upstream; a valid job published after them is still processed.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from shared.jobs import JobStatus, parse_job
from shared.store import Store
from tasks.publish import submit
from testkit.broker_messages import bad_messages, log_records, queue_state, unrouted
from testkit.factories import register
from testkit.stacks import running_stack, wait_final, wait_for
from workers.embedded.stack import Stack, WorkerGroup

QUEUE = "registrar.gandi"
GROUPS = (WorkerGroup("gandi", (QUEUE,), 1),)


@pytest.fixture(scope="module")
def stack(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    var = Path(tmp_path_factory.mktemp("broker-messages"))
    with running_stack(redis_url, f"sqlite:///{var / 'regq.db'}", var, GROUPS) as s:
        yield s


def test_bad_messages_are_rejected_once_and_the_worker_goes_on(
    stack: Stack, redis_url: str, tmp_path: Path
) -> None:
    settings = stack.settings()
    prefix = settings.broker_key_prefix
    assert prefix and prefix.startswith("regq-test-")
    store = Store(settings.database_url)
    client = redis.Redis.from_url(redis_url)
    producer = stack.producer()
    pickle_file = tmp_path / "unpickled"
    messages = bad_messages(QUEUE, pickle_file)
    before = stack.sandbox.stats("gandi")["requests"]
    try:
        raw = unrouted(producer)
        for message in messages:
            message.publish(raw, QUEUE)
        raw.close()
        domain = f"after-bad-{uuid.uuid4().hex[:8]}.com"
        good = submit(parse_job(register(domain)), store=store, app=producer)
        done = wait_final(store, good.key, timeout=30)
        assert done.status is JobStatus.SUCCEEDED, done
        log = stack.children["gandi"].log_path
        wait_for(
            lambda: queue_state(client, prefix, QUEUE) == {"queued": 0, "unacked": 0, "unacked_index": 0},
            10,
            "the queue to be empty with nothing unacked",
        )
        assert client.exists(f"{prefix}_kombu.binding.{QUEUE}")  # the keys above are the live ones
        records = log_records(log.read_text(errors="replace"))
        for message in messages:
            about = [(level, text) for level, text in records if message.marker in text]
            received = [text for _level, text in about if text.rstrip().endswith("received")]
            retried = [text for _level, text in about if "retry" in text.lower()]
            said = [text for level, text in about if level in ("WARNING", "ERROR", "CRITICAL")]
            assert len(received) <= 1, (message.name, received)  # delivered once: no redelivery
            assert retried == [], (message.name, retried)
            assert len(said) == 1, (message.name, said)  # logged once
            assert message.expect.lower() in said[0].lower(), (message.name, said[0][:300])
        assert stack.children["gandi"].alive
        assert not pickle_file.exists()  # the pickled body was never loaded
        # Only the valid job reached the upstream; no job row or audit row for any bad message.
        calls = store.audit.calls()
        assert calls and {c.job_key for c in calls} == {good.key}
        assert stack.sandbox.stats("gandi")["requests"] - before == len(calls)
        assert store.jobs.get(messages[3].marker) is None
    finally:
        producer.close()
        client.close()
        store.dispose()
