"""Bad lines of ``regq submit --file`` and bad rows of ``regq domains import`` (issue 14): each is reported
with its line number, field and reason, nothing crashes, and the good lines around it are submitted or
imported."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from shared.store import Store
from shared.store.inventory import DomainImport
from testkit.bad_input import bad_csv_rows, bad_lines
from testkit.factories import person, register
from testkit.faults.broker import queued_kwargs
from workers.cli import app
from workers.commands.domains import read_rows

runner = CliRunner()
HEADER = b"domain,registrar,expires_at,auto_renew"
QUEUES = ("registrar.gandi", "registrar.rotld", "lookup")
FEW = settings(
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def published(redis_url: str, prefix: str) -> list[dict[str, Any]]:
    client = redis.Redis.from_url(redis_url)
    try:
        return queued_kwargs(client, prefix, QUEUES)
    finally:
        client.close()


def job_rows(env: dict[str, str]) -> int:
    store = Store(env["REGQ_DATABASE_URL"])
    try:
        return sum(store.jobs.counts().values())
    finally:
        store.dispose()


def submit_file(path: Path) -> tuple[int, dict[str, Any]]:
    result = runner.invoke(app, ["submit", "--file", str(path), "--json"])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, json.loads(result.output)


# --- regq submit --file ----------------------------------------------------------------------------------
@FEW
@given(st.lists(st.tuples(bad_lines(), st.booleans()), min_size=1, max_size=4))
def test_every_bad_line_is_reported_by_number_and_field_and_nothing_is_submitted(
    cli_env: dict[str, str], tmp_path: Path, redis_url: str, drawn: list[tuple[tuple[bytes, str], bool]]
) -> None:
    lines: list[bytes] = []
    expected: set[tuple[int, str]] = set()
    for (line, field), blank_before in drawn:
        if blank_before:
            lines.append(b"")
        lines.append(line)
        expected.add((len(lines), field))
    path = tmp_path / "bad.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    code, data = submit_file(path)
    assert code == 1
    assert data["submitted"] == []
    reported = {(e["line"], e["field"]) for e in data["errors"]}
    assert expected <= reported, (expected, reported)
    assert {n for n, _ in reported} == {n for n, _ in expected}
    assert all(e["reason"] and len(e["reason"]) < 400 for e in data["errors"])
    assert published(redis_url, cli_env["REGQ_BROKER_KEY_PREFIX"]) == []
    assert job_rows(cli_env) == 0


def test_good_lines_around_bad_ones_are_submitted_and_the_bad_ones_reported(
    cli_env: dict[str, str], tmp_path: Path, redis_url: str
) -> None:
    good = [register("file-good-1.com"), {"kind": "lookup", "domain": "file-good-2.eu"}, register("bun.ro")]
    raw_lines = [
        json.dumps(good[0]).encode(),  # 1
        b'{"kind": "lookup", "domain": "bad-\xff\xfe.com"}',  # 2: not UTF-8
        b'{"kind": "lookup", "domain": "exa\x0cmple.com"}',  # 3: raw form feed (str.splitlines splits here)
        '{"kind": "lookup", "domain": "exa\u2028mple.com"}'.encode(),  # 4: raw U+2028, valid JSON
        json.dumps(register("pаypal.com")).encode(),  # 5: mixed scripts
        json.dumps(good[1]).encode(),  # 6
        b'{"kind": "lookup", "domain": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",  # 7: nested
        b'{"kind": "register", "years": ' + b"9" * 5000 + b"}",  # 8: a number Python will not convert
        json.dumps(register("huge.com", owner=person(city="C" * 2_000_000))).encode(),  # 9: a 2 MB line
        json.dumps(register("ex.com", owner=person(given="A\x00na"))).encode(),  # 10: NUL in a contact
        json.dumps(register("nope.de")).encode(),  # 11: unsupported TLD
        b"\x00\x00\x00",  # 12
        json.dumps(good[2]).encode() + b"\r",  # 13: CRLF line end
    ]
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(b"\n".join(raw_lines) + b"\n")
    code, data = submit_file(path)
    assert code == 1
    errors = {(e["line"], e["field"]): e["reason"] for e in data["errors"]}
    assert sorted(errors) == [
        (2, "job"),
        (3, "job"),
        (4, "domain"),
        (5, "domain"),
        (7, "job"),
        (8, "job"),
        (9, "owner.city"),
        (10, "owner.given"),
        (11, "domain"),
        (12, "job"),
    ]
    assert errors[(2, "job")].startswith("not UTF-8")
    assert "mixes scripts Latin and Cyrillic" in errors[(5, "domain")]
    assert "nested too deeply" in errors[(7, "job")]
    assert "control characters" in errors[(10, "owner.given")]
    assert "not supported" in errors[(11, "domain")]
    keys = ["register:file-good-1.com", "register:bun.ro"]
    assert [s["key"] for s in data["submitted"] if s["kind"] == "register"] == keys
    assert len(data["submitted"]) == 3
    assert job_rows(cli_env) == 3
    sent = published(redis_url, cli_env["REGQ_BROKER_KEY_PREFIX"])
    assert sorted(m["domain"] for m in sent) == ["bun.ro", "file-good-1.com", "file-good-2.eu"]


# --- regq domains import ---------------------------------------------------------------------------------
def good_row(index: int) -> bytes:
    return f"good-{index}.com,,2027-01-0{1 + index % 9},true".encode()


@settings(max_examples=40, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(bad_csv_rows(), min_size=1, max_size=4), st.sampled_from([b"\n", b"\r\n"]))
def test_every_bad_csv_row_is_reported_by_line_and_field_between_good_rows(
    tmp_path_factory: pytest.TempPathFactory, bad: list[tuple[bytes, str]], newline: bytes
) -> None:
    rows, expected = [HEADER, good_row(0)], {}
    for index, (row, field) in enumerate(bad, start=1):
        rows.append(row)
        expected[len(rows)] = field
        rows.append(good_row(index))
    path = tmp_path_factory.mktemp("csv") / "inventory.csv"
    path.write_bytes(newline.join(rows) + newline)
    parsed = dict(read_rows(path))
    good = {n: r for n, r in parsed.items() if isinstance(r, DomainImport)}
    problems = {n: [p.field for p in r] for n, r in parsed.items() if isinstance(r, list)}
    assert sorted(good) == [n for n in range(2, len(rows) + 1) if n not in expected]
    assert [g.domain for g in good.values()] == [f"good-{i}.com" for i in range(len(bad) + 1)]
    assert sorted(problems) == sorted(expected)
    for number, field in expected.items():
        assert field in problems[number], (number, field, parsed[number])


def test_import_keeps_good_rows_around_bad_ones_and_reports_each(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    rows = [
        HEADER,
        good_row(1),  # 2
        b"bad-\xff.com,,2027-01-01,true",  # 3: not UTF-8
        b"x" * 200_000 + b".com,,,",  # 4: a field past csv's limit
        "pаypal.com,,2027-01-01,true".encode(),  # 5: mixed scripts
        b"nul\x00.com,,2027-01-01,true",  # 6: NUL
        good_row(2),  # 7
        b"example.de,,2027-01-01,true",  # 8: unsupported TLD
        good_row(3),  # 9
    ]
    path = tmp_path / "inventory.csv"
    path.write_bytes(b"\n".join(rows) + b"\n")
    result = runner.invoke(app, ["domains", "import", str(path), "--json"])
    assert result.exit_code == 1, result.output
    data = json.loads(result.output)
    assert (data["inserted"], data["rejected"]) == (3, 5)
    errors = {(e["line"], e["field"]): e["reason"] for e in data["errors"]}
    assert sorted(errors) == [(3, "row"), (4, "row"), (5, "domain"), (6, "domain"), (8, "registrar")]
    assert errors[(3, "row")] == "not UTF-8 text"
    assert "field larger than field limit" in errors[(4, "row")]
    assert "mixes scripts Latin and Cyrillic" in errors[(5, "domain")]
    assert "U+0000" in errors[(6, "domain")]
    store = Store(cli_env["REGQ_DATABASE_URL"])
    try:
        assert [store.inventory.get(f"good-{i}.com") is not None for i in (1, 2, 3)] == [True] * 3
        assert store.inventory.get("xn--pypal-4ve.com") is None
    finally:
        store.dispose()
