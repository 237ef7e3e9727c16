"""``sync`` jobs through the runner against the sandbox: expiry and status from the registrar's ``info``."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest

from sandbox.stack import Sandbox
from shared.execution import Defer, Done
from shared.execution.sync import inventory_status
from shared.gateways.base import DomainInfo
from shared.gateways.dates import add_years
from shared.jobs import JobStatus, SyncJob, derive_key, parse_job
from shared.store.inventory import ACTIVE, EXPIRED, MISSING, PENDING_DELETE, DomainImport
from shared.store.schema import utcnow
from tasks.routing import MAINTENANCE_QUEUE, queue_for, route_task
from testkit.clock import utc_today
from tests.test_runner import Rig, build_rig


@pytest.fixture
def rig(sandbox: Sandbox, tmp_path: Path) -> Iterator[Rig]:
    with build_rig(sandbox, tmp_path) as built:
        yield built


def sync(domain: str) -> dict[str, str]:
    return {"kind": "sync", "domain": domain}


def test_a_sync_job_is_keyed_by_domain_and_day_and_routed_to_maintenance() -> None:
    job = parse_job(sync("Drift.RO"))
    assert isinstance(job, SyncJob) and job.registrar is not None and job.registrar.value == "rotld"
    assert derive_key(job) == f"sync:drift.ro:{utcnow().date().isoformat()}"  # the UTC day
    assert job.derive_key(date(2027, 1, 2)) == "sync:drift.ro:2027-01-02"
    assert queue_for("sync", "rotld") == MAINTENANCE_QUEUE
    route = route_task("regq.sync", (), {"key": "k", "domain": "drift.ro", "registrar": "rotld"}, {})
    assert route == {"queue": MAINTENANCE_QUEUE}
    from tasks.app import app

    assert "regq.sync" in app.tasks


def test_sync_refreshes_a_drifted_expiry_from_the_registrar(rig: Rig) -> None:
    real = (utc_today() + timedelta(days=400)).isoformat()
    rig.sandbox.seed_domains("gandi", [{"fqdn": "drift.com", "owner": "us", "expires": real}])
    rig.sandbox.seed_domains("rotld", [{"fqdn": "drift.ro", "owner": "us", "expires": real}])
    for domain, registrar in (("drift.com", "gandi"), ("drift.ro", "rotld")):
        rig.store.inventory.upsert(
            domain, registrar, utc_today() + timedelta(days=35)
        )  # billing's stale date
    gandi_before, rotld_before = rig.requests("gandi"), rig.requests("rotld")
    for domain in ("drift.com", "drift.ro"):
        outcome = rig.until_final(rig.submit(sync(domain)))
        assert outcome.status is JobStatus.SUCCEEDED and outcome.attempts == 1, outcome
        assert outcome.result is not None
        assert outcome.result["found"] is True and outcome.result["changed"] is True
        assert outcome.result["expires_at"] == real
        assert outcome.result["previous_expiry"] == (utc_today() + timedelta(days=35)).isoformat()
        held = rig.store.inventory.get(domain)
        assert held is not None and held.expires_at == date.fromisoformat(real) and held.status == ACTIVE
        assert held.auto_renew is True  # untouched
        assert rig.effects(held.registrar, domain) == {}  # read-only: no create, no renew
    assert rig.requests("gandi") - gandi_before == 1
    assert rig.requests("rotld") - rotld_before >= 1  # an info (plus its login, the first time)
    assert rig.sandbox.stats("gandi")["by_operation"].get("info", 0) >= 1

    again = rig.until_final(rig.submit({**sync("drift.com"), "idempotency_key": "sync-again"}))
    assert again.result is not None and again.result["changed"] is False


def test_sync_marks_a_domain_the_registrar_does_not_have_missing_and_an_old_one_expired(rig: Rig) -> None:
    rig.store.inventory.upsert("vanished.com", "gandi", utc_today() + timedelta(days=20))
    outcome = rig.until_final(rig.submit(sync("vanished.com")))
    assert outcome.status is JobStatus.SUCCEEDED and outcome.result is not None
    assert outcome.result["found"] is False and outcome.result["status"] == MISSING
    held = rig.store.inventory.get("vanished.com")
    assert held is not None and held.status == MISSING and held.expires_at == utc_today() + timedelta(days=20)
    assert rig.store.inventory.expiring(utc_today() + timedelta(days=30)) == []  # the scan leaves it alone

    past = (utc_today() - timedelta(days=3)).isoformat()
    rig.sandbox.seed_domains("gandi", [{"fqdn": "lapsed.com", "owner": "us", "expires": past}])
    lapsed = rig.until_final(rig.submit(sync("lapsed.com")))  # not in the inventory yet: added
    assert lapsed.result is not None and lapsed.result["status"] == EXPIRED
    held = rig.store.inventory.get("lapsed.com")
    assert held is not None and held.status == EXPIRED and held.expires_at == date.fromisoformat(past)


def test_syncs_go_through_the_registrar_limiter(sandbox: Sandbox, tmp_path: Path) -> None:
    with build_rig(sandbox, tmp_path, gandi_rate="1/m", gandi_burst=1, max_inline_wait_ms=0) as rig:
        rig.sandbox.seed_domains("gandi", [{"fqdn": f"paced{i}.com", "owner": "us"} for i in range(2)])
        first = rig.deliver(rig.submit(sync("paced0.com")))
        assert isinstance(first, Done) and first.outcome is not None
        assert first.outcome.status is JobStatus.SUCCEEDED
        key = rig.submit(sync("paced1.com"))
        second = rig.deliver(key)
        assert isinstance(second, Defer) and not second.counted  # waits for a token; not an attempt
        assert rig.store.jobs.require(key).status is JobStatus.WAITING
        counters = rig.limiter.counters()["gandi"]
        assert counters.granted == 1 and counters.denied >= 1


@pytest.mark.parametrize(
    ("statuses", "expires", "expected"),
    [
        (["clientTransferProhibited"], utc_today() + timedelta(days=9), ACTIVE),
        (["OK"], None, ACTIVE),
        (["redemptionPeriod"], utc_today() + timedelta(days=9), PENDING_DELETE),
        (["pendingDelete"], utc_today() - timedelta(days=40), PENDING_DELETE),
        ([], utc_today() - timedelta(days=1), EXPIRED),
    ],
)
def test_inventory_status_from_what_the_registrar_shows(
    statuses: list[str], expires: date | None, expected: str
) -> None:
    assert inventory_status(DomainInfo("x.com", expires, statuses), utc_today()) == expected


def test_a_successful_renew_keeps_the_inventory_current_and_a_sync_then_changes_nothing(rig: Rig) -> None:
    expires = utc_today() + timedelta(days=20)
    rig.sandbox.seed_domains("gandi", [{"fqdn": "kept.com", "owner": "us", "expires": expires.isoformat()}])
    rig.store.inventory.import_many([DomainImport("kept.com", "gandi", expires, auto_renew=False)])
    renewed = rig.until_final(
        rig.submit({"kind": "renew", "domain": "kept.com", "current_expiry": str(expires)})
    )
    assert renewed.status is JobStatus.SUCCEEDED and renewed.result is not None
    held = rig.store.inventory.get("kept.com")
    assert held is not None and held.expires_at == add_years(expires, 1)
    assert held.auto_renew is False and held.status == ACTIVE  # the operator's choice survives the renew
    synced = rig.until_final(rig.submit(sync("kept.com")))
    assert synced.result is not None and synced.result["changed"] is False
