"""The regq CLI against a real Redis broker and a migrated store."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import redis
from typer.testing import CliRunner

from shared.store import Store
from testkit.factories import person, register
from workers.cli import app

runner = CliRunner()


def queued_messages(redis_url: str, prefix: str, queue: str) -> list[dict]:
    client = redis.Redis.from_url(redis_url)
    return [json.loads(m) for m in client.lrange(f"{prefix}{queue}", 0, -1)]


def test_submit_file_reports_bad_lines_and_submits_good_ones(
    cli_env: dict[str, str], tmp_path: Path, redis_url: str
) -> None:
    lines = [
        json.dumps(register("good-one.com")),
        "{not json",
        json.dumps(register("good-two.ro")),
        json.dumps(register("bad.com", years=12)),
        "",
        json.dumps(register("good-one.com")),  # a duplicate: same key, same parameters
        json.dumps(register("good-one.com", years=3)),  # same key, other parameters
    ]
    path = tmp_path / "jobs.jsonl"
    path.write_text("\n".join(lines) + "\n")
    result = runner.invoke(app, ["submit", "--file", str(path), "--json"])
    assert result.exit_code == 1, result.output
    data = json.loads(result.output)
    errors = {(e["line"], e["field"]) for e in data["errors"]}
    assert errors == {(2, "job"), (4, "years"), (7, "idempotency_key")}
    assert [s["key"] for s in data["submitted"]] == [
        "register:good-one.com",
        "register:good-two.ro",
        "register:good-one.com",
    ]
    assert [s["duplicate"] for s in data["submitted"]] == [False, False, True]
    prefix = cli_env["REGQ_BROKER_KEY_PREFIX"]
    gandi = queued_messages(redis_url, prefix, "registrar.gandi")
    rotld = queued_messages(redis_url, prefix, "registrar.rotld")
    assert len(gandi) == 1 and len(rotld) == 1  # the duplicate was not published again
    body = json.loads(base64.b64decode(gandi[0]["body"]))
    assert body[1] == {"key": "register:good-one.com", "domain": "good-one.com", "registrar": "gandi"}
    assert gandi[0]["headers"]["task"] == "regq.register"
    everything = json.dumps(gandi + rotld) + base64.b64decode(rotld[0]["body"]).decode()
    for personal in ("ana.pop@example.org", "+40.727636787", person("RO")["cnp"], "Pop"):
        assert personal not in everything  # no personal data in the broker


def test_submit_single_jobs_and_read_them_back(cli_env: dict[str, str], tmp_path: Path) -> None:
    owner = tmp_path / "owner.json"
    owner.write_text(json.dumps(person()))
    result = runner.invoke(
        app, ["submit", "register", "Exämple.com", "--owner", str(owner), "--years", "2", "--json"]
    )
    assert result.exit_code == 0, result.output
    outcome = json.loads(result.output)[0]
    assert outcome["key"] == "register:xn--exmple-cua.com" and outcome["status"] == "queued"
    bad = runner.invoke(app, ["submit", "renew", "unknown.com", "--json"])
    assert bad.exit_code == 2
    assert json.loads(bad.output)["errors"][0]["field"] == "current_expiry"
    listed = json.loads(runner.invoke(app, ["jobs", "--json"]).output)
    assert [j["domain"] for j in listed] == ["xn--exmple-cua.com"]
    status = json.loads(runner.invoke(app, ["status", "register:xn--exmple-cua.com", "--json"]).output)
    assert status["status"] == "queued" and status["kind"] == "register"
    assert runner.invoke(app, ["status", "nope"]).exit_code == 1
    human = runner.invoke(app, ["jobs"])
    assert "queued" in human.output and human.exit_code == 0


def test_renew_takes_its_expiry_from_the_inventory(cli_env: dict[str, str]) -> None:
    store = Store(cli_env["REGQ_DATABASE_URL"])
    from datetime import date

    store.inventory.upsert("held.com", "gandi", date(2027, 4, 5))
    result = runner.invoke(app, ["submit", "renew", "held.com", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)[0]["key"] == "renew:held.com:2027-04-05"
    record = store.jobs.require("renew:held.com:2027-04-05")
    assert record.params["current_expiry"] == "2027-04-05"
    store.dispose()


def test_schema_prints_the_job_schema() -> None:
    result = runner.invoke(app, ["schema"])
    schema = json.loads(result.output)
    assert result.exit_code == 0 and "RegisterJob" in schema["$defs"]


REGQ = str(Path(sys.executable).with_name("regq"))  # the installed entry point, as an operator runs it


def run_regq(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("REGQ_") and k != "FORCE_COLOR"}
    return subprocess.run([REGQ, *args], env={**clean, **env}, capture_output=True, text=True, timeout=60)


def test_a_bad_setting_does_not_stop_a_command_that_needs_none() -> None:
    result = run_regq("schema", REGQ_GANDI_RATE="bogus")
    assert result.returncode == 0, result.stderr
    assert "RegisterJob" in json.loads(result.stdout)["$defs"]
    assert result.stderr == ""


@pytest.mark.parametrize(
    "command",
    [
        ("jobs",),
        ("status", "register:example.com"),
        ("submit", "lookup", "example.com"),
        ("db", "upgrade"),
        ("limits",),
        ("breaker",),
    ],
)
def test_a_bad_setting_is_one_line_naming_the_variable(command: tuple[str, ...], tmp_path: Path) -> None:
    result = run_regq(
        *command,
        REGQ_GANDI_RATE="bogus",
        REGQ_REDIS_URL="redis://127.0.0.1:1/0",  # never reached: the settings fail first
        REGQ_DATABASE_URL=f"sqlite:///{tmp_path / 'never.db'}",
        COLUMNS="40",  # narrower than the message: it must still be one line
    )
    assert result.returncode == 2, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("configuration error REGQ_GANDI_RATE: expected a rate like '20/s'")
    assert "bogus" in lines[0] and "Traceback" not in result.stderr
    assert not (tmp_path / "never.db").exists()


def test_importing_the_cli_loads_no_sandbox() -> None:
    code = "import workers.cli, sys; print(sorted(m for m in sys.modules if m.startswith('sandbox')))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
