"""The registrar's own auto-renew, remembered (issue 20): migration 0009 adds ``domains.registrar_autorenew``;
the register / transfer step that switches it off records False (ROTLD, which has none: False too); the
lock job's domain read records what Gandi shows; ``regq domains show`` says which side renews from it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa
from alembic import command
from typer.testing import CliRunner

from sandbox.stack import Sandbox
from shared.jobs import JobStatus
from shared.store import Store
from shared.store.database import alembic_config
from shared.store.inventory import DomainRecord
from testkit.factories import register
from tests.test_runner import Rig, build_rig
from workers.cli import app
from workers.commands.day2 import BOTH, renewed_by


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(gandi_config={"visibility_delay": 0}) as sb:
        yield sb


@pytest.fixture
def rig(sandbox: Sandbox, tmp_path: Path) -> Iterator[Rig]:
    with build_rig(sandbox, tmp_path, gandi_visibility_wait_seconds=0.3) as r:
        sandbox.configure("gandi", visibility_delay=0)
        yield r


def columns(url: str) -> set[str]:
    engine = sa.create_engine(url)
    try:
        return {c["name"] for c in sa.inspect(engine).get_columns("domains")}
    finally:
        engine.dispose()


def test_migration_0009_adds_and_drops_the_column(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    store = Store(url)
    store.upgrade()
    assert "registrar_autorenew" in columns(url)
    store.inventory.upsert("keep.com", "gandi", date(2030, 1, 1))
    record = store.inventory.get("keep.com")
    assert record is not None and record.registrar_autorenew is None  # existing and new rows: unknown
    assert store.inventory.set_registrar_autorenew("keep.com", True)
    assert not store.inventory.set_registrar_autorenew("keep.com", True)  # unchanged: no write
    assert not store.inventory.set_registrar_autorenew("absent.com", False)
    again = store.inventory.get("keep.com")
    assert again is not None and again.registrar_autorenew is True
    store.dispose()
    with sa.create_engine(url).begin() as connection:
        config = alembic_config(url)
        config.attributes["connection"] = connection
        command.downgrade(config, "0008")
    assert "registrar_autorenew" not in columns(url)


@pytest.mark.parametrize(
    ("auto_renew", "status", "theirs", "said"),
    [
        (True, "active", False, "regq"),
        (True, "active", True, BOTH),
        (False, "active", True, "registrar"),
        (True, "expired", True, "registrar"),
        (True, "active", None, "regq (registrar auto-renew: unknown)"),
        (False, "active", False, "nobody (regq's auto_renew is off or the status is active; "),
    ],
)
def test_renewed_by_says_which_side_renews(
    auto_renew: bool, status: str, theirs: bool | None, said: str
) -> None:
    record = DomainRecord("x.com", "gandi", date(2030, 1, 1), auto_renew, status, None, theirs)
    assert renewed_by(record).startswith(said)


def test_register_records_the_switch_and_a_lock_read_records_what_gandi_shows(rig: Rig) -> None:
    for domain in ("fresh.com", "proaspat.ro"):
        outcome = rig.until_final(rig.submit(register(domain)))
        assert outcome.status is JobStatus.SUCCEEDED, outcome
        record = rig.store.inventory.get(domain)
        assert record is not None and record.registrar_autorenew is False  # switched off / none at ROTLD
        assert renewed_by(record) == "regq"
    # someone turns Gandi's auto-renew back on; the next domain read (a lock job) sees it
    answer = requests.patch(
        f"{rig.sandbox.gandi_url}/domain/domains/fresh.com/autorenew",
        json={"enabled": True},
        headers={"Authorization": "Bearer sandbox-token"},
        timeout=5,
    )
    assert answer.status_code == 200, answer.text
    outcome = rig.until_final(rig.submit({"kind": "lock", "domain": "fresh.com", "locked": True}))
    assert outcome.status is JobStatus.SUCCEEDED, outcome
    record = rig.store.inventory.get("fresh.com")
    assert record is not None and record.registrar_autorenew is True and renewed_by(record) == BOTH


def test_domains_show_says_which_side_renews(cli_env: dict[str, str]) -> None:
    store = Store(cli_env["REGQ_DATABASE_URL"])
    store.inventory.upsert("both.com", "gandi", date(2030, 1, 1))
    store.inventory.set_registrar_autorenew("both.com", True)
    store.inventory.upsert("ours.ro", "rotld", date(2030, 1, 1))
    store.inventory.set_registrar_autorenew("ours.ro", False)
    store.inventory.upsert("unread.com", "gandi", date(2030, 1, 1))
    store.dispose()
    runner = CliRunner()
    shown = {}
    for domain in ("both.com", "ours.ro", "unread.com"):
        result = runner.invoke(app, ["domains", "show", domain, "--json"])
        assert result.exit_code == 0, result.output
        shown[domain] = json.loads(result.stdout)
    assert shown["both.com"]["renewed_by"] == BOTH and shown["both.com"]["registrar_autorenew"] is True
    assert shown["ours.ro"]["renewed_by"] == "regq" and shown["ours.ro"]["registrar_autorenew"] is False
    assert shown["unread.com"]["renewed_by"] == "regq (registrar auto-renew: unknown)"
    human = runner.invoke(app, ["domains", "show", "both.com"])
    assert human.exit_code == 0 and "registrar_autorenew" in human.stdout and "twice" in human.stdout
