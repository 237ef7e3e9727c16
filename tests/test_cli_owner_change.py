"""``regq submit owner-change`` in-process against a real Redis broker and a migrated store: the new owner
from a file, a .ro trade's key from a file or stdin only, never in any output, broker message or status."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from shared.store import Store
from testkit.factories import person
from tests.test_cli_day2 import every_message, queued
from workers.cli import app

runner = CliRunner()
CODE = "Tr4deKey9xYz"


def test_owner_change_for_both_registrars_and_the_key_never_shows(
    cli_env: dict[str, str], tmp_path: Path, redis_url: str
) -> None:
    fr, ro = tmp_path / "fr.json", tmp_path / "ro.json"
    fr.write_text(json.dumps(person()))
    ro.write_text(json.dumps(person("RO")))
    gandi = runner.invoke(app, ["submit", "owner-change", "example.com", "--owner-file", str(fr), "--json"])
    assert gandi.exit_code == 0, gandi.output
    [answer] = json.loads(gandi.output)
    assert answer["kind"] == "owner_change" and answer["key"].startswith("owner_change:example.com:")
    code_file = tmp_path / "key.txt"
    code_file.write_text(CODE + "\n")
    args = ["submit", "owner-change", "exemplu.ro", "--owner-file", str(ro), "--years", "2", "--json"]
    first = runner.invoke(app, [*args, "--auth-code-file", str(code_file)])
    assert first.exit_code == 0, first.output
    again = runner.invoke(app, [*args, "--auth-code", "-"], input=CODE + "\n")
    assert again.exit_code == 0 and json.loads(again.output)[0]["duplicate"] is True
    ro_key = json.loads(first.output)[0]["key"]
    status = runner.invoke(app, ["status", ro_key])
    prefix = cli_env["REGQ_BROKER_KEY_PREFIX"]
    assert len(queued(redis_url, prefix, "registrar.gandi")) == 1
    assert len(queued(redis_url, prefix, "registrar.rotld")) == 1
    for text in (first.output, again.output, status.output, every_message(redis_url, prefix)):
        assert CODE not in text
    store = Store(cli_env["REGQ_DATABASE_URL"])
    record = store.jobs.get(ro_key)
    store.dispose()
    assert record is not None and record.params["auth_code"] == CODE and record.params["years"] == 2


def test_owner_change_refusals_name_the_field(cli_env: dict[str, str], tmp_path: Path) -> None:
    fr, ro = tmp_path / "fr.json", tmp_path / "ro.json"
    fr.write_text(json.dumps(person()))
    ro.write_text(json.dumps(person("RO")))
    cases = [
        (["exemplu.ro", "--owner-file", str(ro)], None, "auth_code"),  # rotld: the key is required
        (["example.com", "--owner-file", str(fr), "--auth-code", "-"], CODE, "auth_code"),  # gandi: none
        (
            ["exemplu.ro", "--owner-file", str(ro), "--auth-code", CODE],
            None,
            "auth_code",
        ),  # argv: ps shows it
        (["example.com", "--owner-file", str(tmp_path / "missing.json")], None, "owner"),
    ]
    for args, stdin, field in cases:
        result = runner.invoke(app, ["submit", "owner-change", *args, "--json"], input=stdin)
        assert result.exit_code == 2, (args, result.output)
        assert json.loads(result.output)["errors"][0]["field"] == field
        assert CODE not in result.output
