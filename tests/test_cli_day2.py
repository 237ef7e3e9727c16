"""``regq submit transfer|nameservers|lock|contacts|glue`` in-process against a real Redis broker and a
migrated store; a transfer's auth code is read from a file or stdin only and never appears in any output,
broker message or status."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import redis
from typer.testing import CliRunner

from shared.store import Store
from testkit.factories import company_ro, person
from workers.cli import app

runner = CliRunner()
CODE = "Zt5%hB8&qW3^mN6p"


def queued(redis_url: str, prefix: str, queue: str) -> list[dict]:
    client = redis.Redis.from_url(redis_url)
    return [json.loads(m) for m in client.lrange(f"{prefix}{queue}", 0, -1)]


def every_message(redis_url: str, prefix: str) -> str:
    messages = queued(redis_url, prefix, "registrar.gandi") + queued(redis_url, prefix, "registrar.rotld")
    return json.dumps(messages) + "".join(base64.b64decode(m["body"]).decode() for m in messages)


def test_transfer_reads_the_code_from_a_file_or_stdin_and_never_shows_it(
    cli_env: dict[str, str], tmp_path: Path, redis_url: str
) -> None:
    owner = tmp_path / "owner.json"
    owner.write_text(json.dumps(person()))
    code_file = tmp_path / "code.txt"
    code_file.write_text(CODE + "\n")
    args = ["submit", "transfer", "example.com", "--owner", str(owner), "--json"]
    first = runner.invoke(app, [*args, "--auth-code-file", str(code_file)])
    assert first.exit_code == 0, first.output
    outcome = json.loads(first.output)[0]
    assert outcome["key"] == "transfer:example.com" and outcome["kind"] == "transfer"
    # the same code on stdin: the same job (a duplicate); another code: refused as a conflict
    again = runner.invoke(app, [*args, "--auth-code", "-"], input=CODE + "\n")
    assert again.exit_code == 0 and json.loads(again.output)[0]["duplicate"] is True
    other = runner.invoke(app, [*args, "--auth-code", "-"], input="other-code\n")
    assert other.exit_code == 2 and json.loads(other.output)["errors"][0]["field"] == "idempotency_key"
    rotld = runner.invoke(app, ["submit", "transfer", "exemplu.ro", "--auth-code", "-"], input=CODE)
    assert rotld.exit_code == 0, rotld.output
    status = runner.invoke(app, ["status", "transfer:example.com"])
    listing = runner.invoke(app, ["jobs"])
    prefix = cli_env["REGQ_BROKER_KEY_PREFIX"]
    body = json.loads(base64.b64decode(queued(redis_url, prefix, "registrar.gandi")[0]["body"]))
    assert body[1] == {"key": "transfer:example.com", "domain": "example.com", "registrar": "gandi"}
    assert len(queued(redis_url, prefix, "registrar.rotld")) == 1
    for text in (first.output, again.output, other.output, rotld.output, status.output, listing.output):
        assert CODE not in text and "other-code" not in text
    assert CODE not in every_message(redis_url, prefix)
    store = Store(cli_env["REGQ_DATABASE_URL"])
    record = store.jobs.get("transfer:example.com")
    store.dispose()
    assert record is not None and record.params["auth_code"] == CODE  # for the worker, until it is sent


def test_transfer_refuses_a_code_on_the_command_line_and_bad_codes_naming_the_field(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    base = ["submit", "transfer", "exemplu.ro", "--json"]
    cases = [
        ([*base, "--auth-code", CODE], None),  # argv: visible in ps
        (base, None),  # neither
        ([*base, "--auth-code", "-", "--auth-code-file", str(tmp_path / "x")], CODE),  # both
        ([*base, "--auth-code-file", str(tmp_path / "missing")], None),
        ([*base, "--auth-code", "-"], ""),
        ([*base, "--auth-code", "-"], CODE + " " + CODE),
        ([*base, "--auth-code", "-"], "x" * 2000),
    ]
    for args, stdin in cases:
        result = runner.invoke(app, args, input=stdin)
        assert result.exit_code == 2, (args, result.output)
        assert [e["field"] for e in json.loads(result.output)["errors"]] == ["auth_code"], result.output
        assert CODE not in result.output
    plain = runner.invoke(app, ["submit", "transfer", "exemplu.ro", "--auth-code", CODE])
    assert plain.exit_code == 2 and CODE not in plain.output
    assert "(ps shows it)" in plain.output
    gandi = runner.invoke(
        app, ["submit", "transfer", "example.com", "--auth-code", "-", "--json"], input=CODE
    )
    assert gandi.exit_code == 2 and json.loads(gandi.output)["errors"][0]["field"] == "owner"
    assert CODE not in gandi.output


def test_nameservers_lock_contacts_and_glue_are_submitted(
    cli_env: dict[str, str], tmp_path: Path, redis_url: str
) -> None:
    ns = runner.invoke(
        app,
        ["submit", "nameservers", "exemplu.ro", "--ns", "ns1.exemplu.ro", "--ns", "ns.other.net"]
        + ["--glue", "ns1.exemplu.ro=8.8.8.8, 2001:4860:4860::8888", "--json"],
    )
    assert ns.exit_code == 0, ns.output
    assert re.fullmatch(r"nameservers:exemplu\.ro:[0-9a-f]{12}", json.loads(ns.output)[0]["key"])
    on = runner.invoke(app, ["submit", "lock", "exemplu.ro", "--on", "--json"])
    off = runner.invoke(app, ["submit", "lock", "example.com", "--off", "--json"])
    assert on.exit_code == 0 and off.exit_code == 0, on.output + off.output
    assert json.loads(on.output)[0]["key"].startswith("lock:exemplu.ro:on:")
    assert json.loads(off.output)[0]["key"].startswith("lock:example.com:off:")
    tech = tmp_path / "tech.json"
    tech.write_text(json.dumps(person()))
    gandi = runner.invoke(
        app,
        ["submit", "contacts", "example.com", "--tech", str(tech), "--bill", json.dumps(person()), "--json"],
    )
    assert gandi.exit_code == 0, gandi.output
    assert json.loads(gandi.output)[0]["key"].startswith("contacts:example.com:")
    owner = runner.invoke(
        app, ["submit", "contacts", "firma.ro", "--owner", json.dumps(company_ro()), "--json"]
    )
    assert owner.exit_code == 0, owner.output
    glue = runner.invoke(
        app,
        ["submit", "glue", "example.com", "--host", "ns1.example.com=8.8.8.8,8.8.4.4"]
        + ["--delete", "ns2.example.com", "--json"],
    )
    assert glue.exit_code == 0, glue.output
    assert json.loads(glue.output)[0]["key"].startswith("glue:example.com:")
    prefix = cli_env["REGQ_BROKER_KEY_PREFIX"]
    tasks = {m["headers"]["task"] for m in queued(redis_url, prefix, "registrar.gandi")}
    tasks |= {m["headers"]["task"] for m in queued(redis_url, prefix, "registrar.rotld")}
    assert {"regq.nameservers", "regq.lock", "regq.contacts", "regq.glue"} <= tasks
    everything = every_message(redis_url, prefix)
    for personal in ("ana.pop@example.org", "Pop", "8.8.4.4"):
        assert personal not in everything


SEVEN = [arg for i in range(7) for arg in ("--ns", f"n{i}.x.net")]


def test_day2_refusals_name_the_field(cli_env: dict[str, str]) -> None:
    cases = [
        (["submit", "lock", "example.com", "--json"], None),  # --on/--off required: typer's usage error
        (["submit", "contacts", "exemplu.ro", "--admin", json.dumps(person("RO")), "--json"], "admin"),
        (["submit", "contacts", "example.com", "--admin", "/no/such/file", "--json"], "admin"),
        (["submit", "contacts", "example.com", "--json"], "admin"),
        (["submit", "glue", "example.com", "--host", "ns1.example.com", "--json"], "hosts"),
        (["submit", "glue", "example.com", "--host", "a.other.net=8.8.8.8", "--json"], "hosts.a.other.net"),
        (["submit", "glue", "example.com", "--json"], "hosts"),
        (["submit", "nameservers", "exemplu.ro", *SEVEN, "--json"], "nameservers"),
        (["submit", "nameservers", "example.com", "--ns", "a.x.net", "--glue", "a.x.net", "--json"], "glue"),
    ]  # fmt: skip
    for args, field in cases:
        result = runner.invoke(app, args)
        assert result.exit_code == 2, (args, result.output)
        if field is not None:
            assert json.loads(result.output)["errors"][0]["field"] == field, result.output


def test_a_jsonl_file_takes_the_new_kinds(cli_env: dict[str, str], tmp_path: Path) -> None:
    lines = [
        {"kind": "lock", "domain": "exemplu.ro", "locked": True},
        {"kind": "glue", "domain": "example.com", "delete": ["ns3.example.com"]},
        {"kind": "contacts", "domain": "example.com", "admin": person()},
        {"kind": "transfer", "domain": "exemplu.ro", "auth_code": CODE},
        {"kind": "transfer", "domain": "exemplu.ro", "auth_code": "bad code"},
    ]
    path = tmp_path / "jobs.jsonl"
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    result = runner.invoke(app, ["submit", "--file", str(path), "--json"])
    assert result.exit_code == 1, result.output
    data = json.loads(result.output)
    assert [s["kind"] for s in data["submitted"]] == ["lock", "glue", "contacts", "transfer"]
    assert [(e["line"], e["field"]) for e in data["errors"]] == [(5, "auth_code")]
    assert CODE not in result.output
