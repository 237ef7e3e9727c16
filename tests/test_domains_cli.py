"""``regq domains import|list|show|sync`` against a migrated store (SQLite and Postgres) and a real Redis."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import redis
import sqlalchemy as sa
from typer.testing import CliRunner

from shared.store import Store
from shared.store.inventory import MISSING
from testkit.clock import utc_today
from workers.cli import app

runner = CliRunner()


@pytest.fixture
def env(
    redis_url: str, store_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Store, dict[str, str]]]:
    prefix = f"regq-test-{uuid.uuid4().hex[:10]}:"
    values = {
        "REGQ_REDIS_URL": redis_url,
        "REGQ_DATABASE_URL": store_url,
        "REGQ_BROKER_KEY_PREFIX": prefix,
        "REGQ_REDIS_PREFIX": prefix.rstrip(":"),
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    store = Store(store_url)
    store.upgrade()
    yield store, values
    store.dispose()
    client = redis.Redis.from_url(redis_url)
    for key in client.scan_iter(match=f"{prefix}*"):
        client.delete(key)
    client.close()


def csv_file(tmp_path: Path, *rows: str, header: str = "domain,registrar,expires_at,auto_renew") -> Path:
    path = tmp_path / f"inventory-{uuid.uuid4().hex[:6]}.csv"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def invoke(*args: str) -> Any:
    return runner.invoke(app, list(args))


def test_import_keeps_good_rows_and_reports_bad_ones_by_line_field_and_reason(
    env: tuple[Store, dict[str, str]], tmp_path: Path
) -> None:
    store, _ = env
    path = csv_file(
        tmp_path,
        "example.com,,2027-03-01,true",  # line 2: registrar inferred
        "Exemplu.RO,rotld,2026-12-20,no",  # 3
        "bücher.com,,2027-01-01,yes",  # 4: IDN, stored as its A-label
        "bad..com,,2027-01-01,true",  # 5
        "sub.example.org,,2027-01-01,true",  # 6
        "other.com,rotld,2027-13-01,maybe",  # 7: three problems
        "ok.eu,gandi,,",  # 8: no expiry yet, auto-renew by default
        "",  # 9: blank
        "example.com,,2027-04-01,true",  # 10: repeats line 2
        "a,b",  # 11
        "x.de,,2027-01-01,true",  # 12: no registrar for .de
        "y.com,namecheap,2027-01-01,true",  # 13
    )
    result = invoke("domains", "import", str(path), "--json")
    assert result.exit_code == 1, result.output
    answer = json.loads(result.stdout)
    assert (answer["inserted"], answer["updated"], answer["rejected"]) == (4, 0, 7)
    problems = {(e["line"], e["field"]): e["reason"] for e in answer["errors"]}
    assert set(problems) == {
        (5, "domain"),
        (6, "domain"),
        (7, "registrar"),
        (7, "expires_at"),
        (7, "auto_renew"),
        (10, "domain"),
        (11, "row"),
        (12, "registrar"),
        (13, "registrar"),
    }
    assert "did you mean example.org" in problems[(6, "domain")]
    assert problems[(7, "registrar")] == ".com is handled by gandi, not rotld"
    assert "YYYY-MM-DD" in problems[(7, "expires_at")] and "maybe" in problems[(7, "auto_renew")]
    assert problems[(10, "domain")] == "repeats line 2 (that row is kept)"
    assert "TLD .de is not supported" in problems[(12, "registrar")]
    assert "unknown registrar 'namecheap'" in problems[(13, "registrar")]
    held = store.inventory.get("example.com")
    assert held is not None and (held.registrar, held.expires_at, held.auto_renew) == (
        "gandi",
        date(2027, 3, 1),
        True,
    )
    ro = store.inventory.get("exemplu.ro")
    assert ro is not None and ro.registrar == "rotld" and ro.auto_renew is False
    assert store.inventory.get("xn--bcher-kva.com") is not None
    eu = store.inventory.get("ok.eu")
    assert eu is not None and eu.expires_at is None and eu.auto_renew is True and eu.status == "active"

    human = invoke("domains", "import", str(csv_file(tmp_path, "fine.com,,2027-01-01,true", "bad")))
    assert human.exit_code == 1
    assert "1 new" in human.stdout and "line 3: row: expected 4 fields, got 1" in human.stderr


def test_reimport_updates_and_keeps_the_status(env: tuple[Store, dict[str, str]], tmp_path: Path) -> None:
    store, _ = env
    first = csv_file(tmp_path, "keep.com,,2027-01-01,true", "change.ro,,2027-01-01,true")
    assert invoke("domains", "import", str(first)).exit_code == 0
    store.inventory.set_status("change.ro", MISSING)  # as a sync found it
    again = csv_file(tmp_path, "change.ro,,2028-06-30,false", "new.org,,2027-09-09,1")
    result = invoke("domains", "import", str(again), "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"inserted": 1, "updated": 1, "rejected": 0, "errors": []}
    changed = store.inventory.get("change.ro")
    assert changed is not None
    assert (changed.expires_at, changed.auto_renew, changed.status) == (date(2028, 6, 30), False, MISSING)
    assert store.inventory.get("keep.com").expires_at == date(2027, 1, 1)  # type: ignore[union-attr]
    assert store.inventory.count() == 3


def test_import_is_batched(env: tuple[Store, dict[str, str]], tmp_path: Path) -> None:
    store, _ = env
    path = csv_file(tmp_path, *(f"batch{i}.com,,2027-01-01,true" for i in range(25)))
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement.upper())

    sa.event.listen(sa.Engine, "before_cursor_execute", record)  # every engine, the command's too
    try:
        result = invoke("domains", "import", str(path), "--batch-size", "10", "--json")
    finally:
        sa.event.remove(sa.Engine, "before_cursor_execute", record)
    assert result.exit_code == 0, result.output
    inserts = [s for s in statements if s.lstrip().startswith("INSERT INTO DOMAINS")]
    assert len(inserts) == 3  # 10 + 10 + 5 rows
    assert store.inventory.count() == 25


def test_a_header_without_the_columns_stops_the_import(
    env: tuple[Store, dict[str, str]], tmp_path: Path
) -> None:
    store, _ = env
    result = invoke("domains", "import", str(csv_file(tmp_path, "a.com,2027-01-01", header="domain,expires")))
    assert result.exit_code == 2
    assert "missing registrar, expires_at, auto_renew" in result.output and "unknown expires" in result.output
    assert store.inventory.count() == 0


def _seed(store: Store) -> None:
    rows = [
        ("zeta.com", "gandi", utc_today() + timedelta(days=5)),
        ("alpha.com", "gandi", utc_today() + timedelta(days=40)),
        ("beta.ro", "rotld", utc_today() + timedelta(days=2)),
        ("gamma.eu", "gandi", utc_today() - timedelta(days=1)),
        ("delta.ro", "rotld", None),
        ("epsilon.com", "gandi", utc_today() + timedelta(days=5)),
    ]
    for domain, registrar, expires in rows:
        store.inventory.upsert(domain, registrar, expires)


def test_list_pages_through_the_inventory(env: tuple[Store, dict[str, str]]) -> None:
    store, _ = env
    _seed(store)
    everything = json.loads(invoke("domains", "list", "--json", "--page-size", "2").stdout)
    assert [d["domain"] for d in everything] == sorted(
        ["zeta.com", "alpha.com", "beta.ro", "gamma.eu", "delta.ro", "epsilon.com"]
    )
    assert everything[0] == {
        "domain": "alpha.com",
        "registrar": "gandi",
        "expires_at": (utc_today() + timedelta(days=40)).isoformat(),
        "days_left": 40,
        "auto_renew": True,
        "status": "active",
        "updated_at": everything[0]["updated_at"],
    }
    soon = json.loads(
        invoke("domains", "list", "--expiring-within", "7", "--json", "--page-size", "1").stdout
    )
    assert [d["domain"] for d in soon] == [
        "gamma.eu",
        "beta.ro",
        "epsilon.com",
        "zeta.com",
    ]  # by expiry, name
    assert [d["days_left"] for d in soon] == [-1, 2, 5, 5]
    ro = json.loads(invoke("domains", "list", "--registrar", "rotld", "--json").stdout)
    assert [d["domain"] for d in ro] == ["beta.ro", "delta.ro"]
    limited = json.loads(invoke("domains", "list", "--limit", "3", "--page-size", "2", "--json").stdout)
    assert len(limited) == 3
    table = invoke("domains", "list", "--expiring-within", "30", "--page-size", "2")
    assert table.exit_code == 0 and table.stdout.count("domain") == 1  # one header over every page
    assert "beta.ro" in table.stdout and "alpha.com" not in table.stdout
    assert (
        json.loads(
            invoke("domains", "list", "--registrar", "gandi", "--expiring-within", "0", "--json").stdout
        )[0]["domain"]
        == "gamma.eu"
    )


def test_list_reads_page_by_page(env: tuple[Store, dict[str, str]]) -> None:
    store, _ = env
    _seed(store)
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement.upper())

    sa.event.listen(store.db.engine, "before_cursor_execute", record)
    try:
        pages = list(store.inventory.pages(2))
    finally:
        sa.event.remove(store.db.engine, "before_cursor_execute", record)
    assert [len(p) for p in pages] == [2, 2, 2]
    selects = [s for s in statements if "FROM DOMAINS" in s]
    assert len(selects) == 4 and all("LIMIT" in s for s in selects)  # the 4th finds the end


def test_list_of_an_empty_inventory(env: tuple[Store, dict[str, str]]) -> None:
    assert json.loads(invoke("domains", "list", "--json").stdout) == []
    assert "no domains" in invoke("domains", "list").stdout


def test_show_one_domain(env: tuple[Store, dict[str, str]]) -> None:
    store, _ = env
    store.inventory.upsert("xn--bcher-kva.com", "gandi", utc_today() + timedelta(days=10))
    result = invoke("domains", "show", "Bücher.com", "--json")
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    assert (
        shown["domain"] == "xn--bcher-kva.com" and shown["days_left"] == 10 and shown["registrar"] == "gandi"
    )
    human = invoke("domains", "show", "xn--bcher-kva.com")
    assert human.exit_code == 0 and "days_left" in human.stdout and "10" in human.stdout
    missing = invoke("domains", "show", "nowhere.com", "--json")
    assert missing.exit_code == 1 and "not in the inventory" in json.loads(missing.stdout)["error"]
    assert invoke("domains", "show", "not a name").exit_code == 2


def _messages(redis_url: str, prefix: str, queue: str) -> list[dict[str, Any]]:
    client = redis.Redis.from_url(redis_url)
    raw = [json.loads(m) for m in client.lrange(f"{prefix}{queue}", 0, -1)]
    client.close()
    return [{"task": m["headers"]["task"], **json.loads(base64.b64decode(m["body"]))[1]} for m in raw]


def test_sync_queues_one_job_per_domain_on_the_maintenance_queue(
    env: tuple[Store, dict[str, str]], redis_url: str
) -> None:
    store, values = env
    _seed(store)
    prefix = values["REGQ_BROKER_KEY_PREFIX"]
    result = invoke("domains", "sync", "--registrar", "rotld", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"scanned": 2, "submitted": 2, "already_queued": 0, "refused": []}
    day = utc_today().isoformat()
    messages = _messages(redis_url, prefix, "maintenance")
    assert sorted(m["key"] for m in messages) == [f"sync:beta.ro:{day}", f"sync:delta.ro:{day}"]
    assert {m["task"] for m in messages} == {"regq.sync"} and {m["registrar"] for m in messages} == {"rotld"}
    assert _messages(redis_url, prefix, "registrar.rotld") == []  # never ahead of registers and renews
    record = store.jobs.require(f"sync:beta.ro:{day}")
    assert record.kind == "sync" and record.registrar == "rotld" and record.published_at is not None

    again = json.loads(invoke("domains", "sync", "--json", "--batch-size", "4").stdout)
    assert again == {"scanned": 6, "submitted": 4, "already_queued": 2, "refused": []}
    assert len(_messages(redis_url, prefix, "maintenance")) == 6
    human = invoke("domains", "sync")
    assert human.exit_code == 0 and "6 already queued today" in human.stdout
