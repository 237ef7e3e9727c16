"""Lookups through real worker processes: a stampede shares one upstream fetch; a throttled sub-step
(an IP holder's 429, a thin registry's registrar WHOIS answering its quota text) gives a partial result
that completes later with only the missing requests."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from shared.jobs import FINAL_STATUSES, JobStatus, parse_job
from shared.store import Store
from tasks.publish import submit
from testkit.stacks import running_stack, wait_final, wait_for
from workers.embedded.stack import Stack, WorkerGroup

GROUPS = (
    WorkerGroup("lookup-a", ("lookup",), 3),
    WorkerGroup("lookup-b", ("lookup",), 3),
)
#: shazow.net's registrar WHOIS (the .net hop) answers its first query with a throttling text (EURid's
#: wording, "wait 7 seconds": long enough to see the partial job); no other lookup here asks it.
WHOIS_FAULTS = [
    {"server": "whois.dreamhost.com", "domain": "shazow.net", "kind": "throttle", "text": "eu", "count": 1}
]


@pytest.fixture(scope="module")
def stack(redis_url: str, postgres_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    store = Store(postgres_url)
    store.upgrade()
    store.dispose()
    with running_stack(
        redis_url,
        postgres_url,
        Path(tmp_path_factory.mktemp("lookup")),
        GROUPS,
        sandbox_args=("--whois-faults", json.dumps(WHOIS_FAULTS)),
    ) as s:
        yield s


def rdap_ops(stack: Stack) -> dict[str, int]:
    assert stack.sandbox is not None
    return dict(stack.sandbox.stats("rdap")["by_operation"])


# Runs first: the stampede below caches the addresses this one needs to ask for.
def test_a_throttled_sub_step_is_partial_then_completes_with_only_what_was_missing(
    stack: Stack, stack_store: Store
) -> None:
    assert stack.sandbox is not None
    stack.sandbox.set_faults(
        "rdap", [{"operation": "ip", "kind": "status", "status": 429, "retry_after": 2, "count": 1}]
    )
    before = rdap_ops(stack)
    producer = stack.producer()
    try:
        key = submit(
            parse_job({"kind": "lookup", "domain": "google.com"}), store=stack_store, app=producer
        ).key
    finally:
        producer.close()

    def partial() -> object:
        record = stack_store.jobs.get(key)
        return record if record and record.status is JobStatus.PARTIAL else None

    record = wait_for(partial, 60, "the lookup to be stored as partial")
    result = record.result  # type: ignore[attr-defined]
    assert result["partial"] is True and result["registered"] is True and result["retry_after"] >= 2
    done = wait_final(stack_store, key, timeout=60)
    assert done.status is JobStatus.SUCCEEDED and done.result["partial"] is False
    assert done.attempts <= 1  # the partial run did not use an attempt
    after = rdap_ops(stack)
    # The registry and the registrar were asked once: the complete run reused the cached registration.
    assert after["registry_domain"] - before.get("registry_domain", 0) == 1
    assert after["registrar_domain"] - before.get("registrar_domain", 0) == 1
    addresses = {ip for ns in done.result["nameservers"] for ip in ns["ips"]}
    assert after["ip"] - before.get("ip", 0) == len(addresses) + 1  # + the one answered 429
    stack.sandbox.clear_faults("rdap")


def test_a_stampede_of_one_cold_domain_makes_one_registry_request(stack: Stack, stack_store: Store) -> None:
    producer = stack.producer()
    before = rdap_ops(stack)
    try:
        tag = uuid.uuid4().hex[:8]  # 100 jobs: a lookup without a key is one job per domain and day
        jobs = [
            {"kind": "lookup", "domain": "norway.no", "idempotency_key": f"stampede-{tag}-{n}"}
            for n in range(100)
        ]
        keys = [submit(parse_job(job), store=stack_store, app=producer).key for job in jobs]
    finally:
        producer.close()
    outcomes = [wait_final(stack_store, key, timeout=120) for key in keys]
    assert {o.status for o in outcomes} == {JobStatus.SUCCEEDED}
    assert {o.result["registration"]["registrar"] for o in outcomes} == {"Domeneshop AS"}
    after = rdap_ops(stack)
    assert after["registry_domain"] - before.get("registry_domain", 0) == 1
    # Each address's holder was asked once in the whole module (+1 for the 429 of the test above),
    # however many lookups needed it: these addresses were all cached by then.
    addresses = {ip for ns in outcomes[0].result["nameservers"] for ip in ns["ips"]}
    assert after["ip"] == len(addresses) + 1


def test_status_shows_the_stored_lookup(stack: Stack, stack_store: Store) -> None:
    producer = stack.producer()
    try:
        key = submit(
            parse_job({"kind": "lookup", "domain": "google.ro"}), store=stack_store, app=producer
        ).key
    finally:
        producer.close()
    deadline = time.monotonic() + 60
    while (record := stack_store.jobs.require(key)).status not in FINAL_STATUSES:
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert record.status is JobStatus.SUCCEEDED and record.result["registration"]["source"] == "whois"


def test_a_throttled_registrar_hop_is_partial_then_completes(stack: Stack, stack_store: Store) -> None:
    """The thin registry's answer is kept, the lookup is partial naming the registrar part, and the rerun
    after the wait fills the registrant (that only the registrar query is sent again is counted over TCP
    in tests/test_whois_client.py and tests/test_lookup_pipeline.py)."""
    producer = stack.producer()
    try:
        key = submit(
            parse_job({"kind": "lookup", "domain": "shazow.net"}), store=stack_store, app=producer
        ).key
    finally:
        producer.close()

    def partial() -> object:
        record = stack_store.jobs.get(key)
        return record if record and record.status is JobStatus.PARTIAL else None

    record = wait_for(partial, 60, "the lookup to be stored as partial")
    result = record.result  # type: ignore[attr-defined]
    assert result["partial"] is True and result["registered"] is True and result["retry_after"] >= 7
    assert "registrar WHOIS whois.dreamhost.com" in result["reason"]
    assert result["registration"]["registrar"] == "NEW DREAM NETWORK, LLC"
    assert result["registration"]["registrant"] is None
    done = wait_final(stack_store, key, timeout=60)
    assert done.status is JobStatus.SUCCEEDED and done.result["partial"] is False
    assert done.result["registration"]["registrant"] == "shazow.net Private Registrant"
    assert done.attempts <= 1  # the partial run did not use an attempt
