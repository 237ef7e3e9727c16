"""Issue 8's scenario with real processes: 2 workers x 2 processes on registrar.rotld at 5/s burst 2.

Every valid .ro register succeeds exactly once, with one registry contact per distinct registrant, an
in-zone nameserver (with glue) among them, and Digest challenges stay rare (the nonce is kept per process
across requests and throttles).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from shared.jobs import JobStatus, parse_job
from shared.store import Store
from tasks.publish import submit
from testkit.factories import person, register, valid_cnp
from testkit.stacks import running_stack, wait_final
from workers.embedded.stack import Stack, WorkerGroup

GROUPS = (
    WorkerGroup("rotld-a", ("registrar.rotld",), 2),
    WorkerGroup("rotld-b", ("registrar.rotld",), 2),
)
REGISTRANTS = [
    person("RO", given=given, cnp=valid_cnp(body))
    for given, body in (("Ana", "180010122114"), ("Ion", "180020322115"), ("Maria", "280030522116"))
]


@pytest.fixture(scope="module")
def stack(redis_url: str, postgres_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    store = Store(postgres_url)
    store.upgrade()
    store.dispose()
    env = {"REGQ_ROTLD_RATE": "5/s", "REGQ_ROTLD_BURST": "2"}
    with running_stack(
        redis_url, postgres_url, Path(tmp_path_factory.mktemp("rotld")), GROUPS, extra_env=env
    ) as s:
        yield s


def test_every_valid_ro_register_succeeds_once_under_the_shared_limit(stack: Stack) -> None:
    store = Store(stack.settings().database_url)
    producer = stack.producer()
    try:
        jobs = [register(f"limitat-{n}.ro", owner=REGISTRANTS[n % len(REGISTRANTS)]) for n in range(11)]
        jobs.append(
            register(
                "zona-limitata.ro",
                owner=REGISTRANTS[0],
                nameservers=["ns1.zona-limitata.ro", "ns.extern.net"],
                glue={"ns1.zona-limitata.ro": ["8.8.4.4"]},
            )
        )
        keys = [submit(parse_job(job), store=store, app=producer).key for job in jobs]
        outcomes = [wait_final(store, key, timeout=180) for key in keys]
    finally:
        producer.close()
    assert [o.status for o in outcomes] == [JobStatus.SUCCEEDED] * len(jobs), [
        (o.key, o.status, o.error_message) for o in outcomes if o.status is not JobStatus.SUCCEEDED
    ]
    stats = stack.sandbox.stats("rotld")
    print(f"rotld: {stats['requests']} requests, {stats['unauthorized']} Digest challenges")  # figures
    for job in jobs:
        assert stats["effects"][job["domain"]]["create"] == 1, job["domain"]
    assert stats["by_operation"]["contact-create"] == len(REGISTRANTS)
    assert stats["unauthorized"] / stats["requests"] < 0.10, stats
    zone = next(d for d in stack.sandbox.domains("rotld") if d["fqdn"] == "zona-limitata.ro")
    assert zone["nameservers"] == ["ns1.zona-limitata.ro", "ns.extern.net"]
    store.dispose()
