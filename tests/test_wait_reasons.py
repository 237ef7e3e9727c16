"""Why a job waits, as a stable label: stored by the real runner beside its text, shown by
``regq jobs --status waiting`` (a real ``regq`` process) and counted by the exporter
(``regq_jobs_waiting{reason}``). Issue 21: the reason column was empty (it showed the error code, which a
waiting job does not have) and the exporter could not tell a human's wait from the breaker's."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command

from sandbox.stack import Sandbox
from shared import errors
from shared.execution import Defer
from shared.jobs import JobStatus, parse_job
from shared.metrics import AuditTally, FleetCollector
from shared.store import Store
from shared.store.database import alembic_config
from shared.store.job_record import JobRecord
from shared.wait_reasons import WaitReason, label, wait_reason_of
from testkit.factories import register
from testkit.stacks import wait_for
from tests.test_cli import run_regq
from tests.test_exporter import scrape_collector, value
from tests.test_runner import Rig, build_rig


def _wait_classes() -> list[type[errors.RegqError]]:
    """Every error class whose disposition is ``wait`` (JobDeferred is the task's, never the runner's)."""
    found: list[type[errors.RegqError]] = []
    todo: list[type[errors.RegqError]] = [errors.RegqError]
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        if cls.disposition == "wait" and cls not in (errors.JobDeferred, errors.MustWait):
            found.append(cls)
    return found


@pytest.mark.parametrize("cls", _wait_classes(), ids=lambda c: c.__name__)
def test_every_wait_error_has_its_own_label(cls: type[errors.RegqError]) -> None:
    exc = cls.__new__(cls)  # the label comes from the class alone, never from a message
    assert wait_reason_of(exc) is not WaitReason.OTHER


def test_the_labels_a_human_and_a_machine_tell_apart() -> None:
    assert wait_reason_of(errors.NeedsOperator("gandi", 60, "unreadable answer")) is WaitReason.OPERATOR
    assert wait_reason_of(errors.ContactPending("rotld", 1)) is WaitReason.IN_USE
    assert wait_reason_of(errors.Throttled("rotld", 1)) is WaitReason.RATE_LIMIT
    assert wait_reason_of(errors.TransferPending("gandi", 3600, "FOA sent")) is WaitReason.TRANSFER
    assert wait_reason_of(errors.BreakerOpen("open", provider="gandi")) is WaitReason.BREAKER
    assert label(None) == label("renamed-in-a-later-version") == "other"


@pytest.fixture
def rig(sandbox: Sandbox, tmp_path: Path) -> Iterator[Rig]:
    with build_rig(sandbox, tmp_path, max_attempts=4) as built:
        yield built


def _wait(rig: Rig, domain: str) -> JobRecord:
    key = rig.submit(register(domain))
    step = rig.deliver(key)
    assert isinstance(step, Defer), step
    return rig.store.jobs.require(key)


def test_the_runner_stores_the_label_the_cli_shows_it_and_the_exporter_counts_it(
    rig: Rig, tmp_path: Path, redis_url: str
) -> None:
    # A failed attempt waiting its backoff (a 502 on create), a block window (rate limit), a domain lock
    # held by another delivery, then the breaker opened for every later job.
    rig.sandbox.set_faults("gandi", [{"operation": "create", "kind": "status", "status": 502, "count": 1}])
    retry = _wait(rig, "flaky-wait.com")
    rig.runner.locks.acquire("busy-wait.com", "another-delivery", 60)
    in_use = _wait(rig, "busy-wait.com")
    rig.limiter.block("gandi", 30, "HTTP 429 from gandi")
    limited = _wait(rig, "limited-wait.com")
    rig.limiter.reset("gandi")
    for _ in range(3):
        rig.breaker.record_failure("gandi")
    broken = [_wait(rig, f"breaker-wait-{n}.com") for n in range(2)]

    expected = {
        retry.key: "retry",
        in_use.key: "in_use",
        limited.key: "rate_limit",
        broken[0].key: "breaker",
        broken[1].key: "breaker",
    }
    records = {key: rig.store.jobs.require(key) for key in expected}
    assert {key: r.wait_code for key, r in records.items()} == expected
    assert all(r.status is JobStatus.WAITING for r in records.values())
    # The label, then the text the runner wrote.
    assert records[broken[0].key].reason == f"breaker: {records[broken[0].key].wait_reason}"
    assert "circuit breaker for gandi is open" in (records[broken[0].key].reason or "")

    # The CLI, as an operator runs it: every waiting job has its reason, label first.
    env = {"REGQ_DATABASE_URL": f"sqlite:///{tmp_path / 'regq.db'}", "REGQ_REDIS_URL": redis_url}
    listed = run_regq("jobs", "--status", "waiting", "--json", **env)
    assert listed.returncode == 0, listed.stderr
    shown = {job["key"]: job for job in json.loads(listed.stdout)}
    assert {key: job["wait_code"] for key, job in shown.items()} == expected
    assert all(job["result"]["waiting_reason"] for job in shown.values())
    table = run_regq("jobs", "--status", "waiting", **env, COLUMNS="250")
    assert table.returncode == 0, table.stderr
    lines = [line.split("│") for line in table.stdout.splitlines() if line.count("│") > 8]
    rows = {cells[1].strip(): cells for cells in lines if cells[1].strip().startswith("register:")}
    assert set(rows) == set(expected)
    for key, code in expected.items():
        assert rows[key][7].strip().startswith(f"{code}: "), rows[key]

    # The exporter counts them by label; a claim clears the label with the text.
    collector = FleetCollector(store=rig.store, audit=AuditTally(settle_seconds=0))
    samples = scrape_collector(collector)
    counted = {r.value: value(samples, "regq_jobs_waiting", reason=r.value) for r in WaitReason}
    assert counted == {
        **{r.value: 0 for r in WaitReason},
        "retry": 1,
        "in_use": 1,
        "rate_limit": 1,
        "breaker": 2,
    }
    claimed = rig.store.jobs.claim(limited.key, "a-later-delivery", 30).record
    assert claimed is not None and claimed.wait_code is None and claimed.reason is None
    after = scrape_collector(collector)
    assert value(after, "regq_jobs_waiting", reason="rate_limit") == 0


def test_an_expired_lease_is_labelled_and_a_final_job_shows_its_error(rig: Rig) -> None:
    key = rig.submit(register("taken-over.com"))
    assert rig.store.jobs.claim(key, "a-dead-worker", 0.01).record is not None
    released = wait_for(lambda: rig.store.jobs.release_expired(key), 5, "the 10 ms lease to run out")
    assert isinstance(released, JobRecord) and released.status is JobStatus.QUEUED
    assert released.reason == "lease_expired: taken over after the lease expired"
    rig.sandbox.seed_domains(
        "gandi", [{"fqdn": "theirs-wait.com", "owner": "other", "expires": "2030-01-01"}]
    )
    failed = rig.until_final(rig.submit(register("theirs-wait.com")))
    record = rig.store.jobs.require(failed.key)
    assert record.status is JobStatus.FAILED and record.wait_label is None
    assert record.reason is not None and record.reason.startswith(f"{record.error_code}: ")


def test_migration_0011_reads_an_older_waiting_row_as_other_and_goes_back(store_url: str) -> None:
    old = Store(store_url)
    try:
        old.db.upgrade("0010")  # a waiting job written before the column existed
        old.jobs.create("register:legacy-wait.com", parse_job(register("legacy-wait.com")))
        with old.db.engine.begin() as conn:
            conn.execute(sa.text("update jobs set status = 'waiting', wait_reason = 'circuit breaker open'"))
        old.db.upgrade()
        record = old.jobs.require("register:legacy-wait.com")
        assert (record.wait_code, record.wait_label, record.reason) == (None, "other", "circuit breaker open")
        samples = scrape_collector(FleetCollector(store=old, audit=AuditTally(settle_seconds=0)))
        assert value(samples, "regq_jobs_waiting", reason="other") == 1
        with old.db.engine.begin() as connection:  # the downgrade works too (regq itself never runs one)
            config = alembic_config(old.db.url)
            config.attributes["connection"] = connection
            command.downgrade(config, "0010")
        assert old.db.current_revision() == "0010"
    finally:
        old.dispose()
