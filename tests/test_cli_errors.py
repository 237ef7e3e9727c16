"""No ``regq`` command ends in a traceback, and no error text carries personal data (issue 18.4): a long
JSON ``--owner`` is JSON, never a path; a bad path or file names its field; an exception a command lets
out is one line naming the command and the exception's type, never its text."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from testkit.factories import person
from workers import cli

REGQ = str(Path(sys.executable).with_name("regq"))  # the installed entry point, as an operator runs it
EMAIL, PHONE = "ion.popescu@example.org", "+40.721234567"


def long_owner(**overrides: object) -> str:
    """A contact's JSON, over 300 bytes (longer than a file name may be)."""
    street = "Strada Lungă 1, bloc A, scara 2, etaj 3, apartament 14, interfon 14, lângă parcul central"
    fields: dict[str, object] = {
        "given": "Ion-Alexandru",
        "family": "Popescu-Ionescu",
        "email": EMAIL,
        "phone": PHONE,
        "streetaddr": street,
        "city": "Cluj-Napoca",
    }
    owner = person("FR", **{**fields, **overrides})
    text = "\n  " + json.dumps(owner, indent=4)  # pasted from a file, as operators do
    assert len(text.encode()) > 300
    return text


def run_main(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, str]:
    """``regq ARGS`` through the real entry point in this process: (exit code, stdout + stderr)."""
    monkeypatch.setattr(sys, "argv", ["regq", *args])
    monkeypatch.setattr(logging, "lastResort", logging.lastResort)  # main() replaces it: restored after
    with pytest.raises(SystemExit) as exited:
        cli.main()
    out = capsys.readouterr()
    code = exited.value.code
    return (code if isinstance(code, int) else 1), out.out + out.err


def assert_clean(output: str) -> None:
    assert "Traceback" not in output
    assert EMAIL not in output and PHONE not in output and "Popescu" not in output


def test_a_long_json_owner_is_json_not_a_path(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Refused before anything is stored: the phone is too short (and a Romanian owner needs a CNP).
    owner = long_owner(phone=PHONE[:6], family="Popescu")
    code, output = run_main(monkeypatch, capsys, "submit", "register", "x.com", "--owner", owner)
    assert code == 2, output
    assert "rejected owner.phone:" in output and "File name too long" not in output
    assert_clean(output)


@pytest.mark.parametrize(
    ("owner", "reason"),
    [
        ("/nonexistent/owner.json", "no such file"),
        ("owner.json", "no such file"),
        ("a\0b", "no such file"),
        ("x" * 5000, "no such file"),
        ("[1, 2]", "not a JSON array"),
        ('{"given": ', "not JSON"),
        ("[" * 100_000, "JSON this parser does not accept"),
    ],
)
def test_a_bad_owner_is_one_line_naming_the_field(
    owner: str, reason: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, output = run_main(monkeypatch, capsys, "submit", "register", "x.com", "--owner", owner)
    assert code == 2, output
    assert output.startswith("rejected owner: ") and reason in output, output
    assert len(output.splitlines()) == 1 and "Traceback" not in output


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"\xff\xfe{}", "the file is not UTF-8 (byte 1)"),
        (b'"just a string"', "not a JSON string"),
        (json.dumps({"email": EMAIL, "phone": PHONE}).encode()[:-1], "not JSON"),
    ],
)
def test_a_bad_owner_file_names_the_field_not_its_content(
    content: bytes,
    reason: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = tmp_path / "owner.json"
    path.write_bytes(content)
    code, output = run_main(monkeypatch, capsys, "submit", "register", "x.com", "--owner", str(path))
    assert code == 2 and output.startswith("rejected owner: ") and reason in output, output
    assert_clean(output)


def test_an_unreadable_jobs_file_names_the_field(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("REGQ_REDIS_URL", "redis://127.0.0.1:1/0")  # never reached
    code, output = run_main(monkeypatch, capsys, "submit", "--file", str(tmp_path))
    assert code == 2 and output.strip() == "rejected file: cannot read it (EISDIR)", output


def test_an_exception_inside_a_command_is_one_line_without_its_text(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def explode() -> None:
        raise ValueError(f"contact {EMAIL} {PHONE} broke it")

    monkeypatch.setattr(cli, "job_schema", explode)
    code, output = run_main(monkeypatch, capsys, "schema")
    assert code == 1
    assert output.splitlines() == [
        "error regq schema failed: ValueError (details withheld: they may hold personal data)"
    ]
    assert_clean(output)


def test_the_failure_line_names_commands_never_arguments() -> None:
    error = OSError(36, "File name too long", "ion.popescu@example.org")
    line = cli.failure_line(["submit", "register", "ion.example", "--owner", EMAIL], error)
    assert line.startswith("regq submit register failed: OSError [ENAMETOOLONG]")
    assert "ion" not in line.split("failed")[0].removeprefix("regq submit register") and EMAIL not in line
    assert cli.command_path(["breaker", "reset", "gandi"]) == "regq breaker reset"
    assert cli.command_path(["--help"]) == "regq"


# --- the installed binary, as an operator runs it --------------------------------------------------------
def run_regq(*args: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("REGQ_") and k != "FORCE_COLOR"}
    env = {
        **clean,
        "REGQ_REDIS_URL": "redis://127.0.0.1:1/0",  # nothing here reaches Redis
        "REGQ_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
        "COLUMNS": "60",
    }
    return subprocess.run(
        [REGQ, *args], env=env, capture_output=True, text=True, errors="replace", timeout=60
    )


def test_the_binary_shows_no_traceback_for_hostile_input(tmp_path: Path) -> None:
    not_utf8 = tmp_path / "jobs.jsonl"
    not_utf8.write_bytes(b'{"kind": "lookup", "domain": "\xff.com"}\n\xfe\xff\x00\n')
    owner_nul = json.dumps({"given": "Ion\u0000", "email": EMAIL, "phone": PHONE})
    huge = json.dumps({**person("FR", email=EMAIL, phone=PHONE), "given": "I" * 100_000})
    cases = [
        ("submit", "register", "x.com", "--owner", long_owner(phone=PHONE[:6])),
        ("submit", "register", "x\x01.com", "--owner", owner_nul),
        ("submit", "register", "x.com", "--owner", huge),
        ("submit", "register", "x.com", "--owner", str(not_utf8)),
        ("submit", "--file", str(not_utf8)),
        ("submit", "--file", str(tmp_path)),
        ("submit", "renew", "x.com", "--expiry", "\x7f" * 300),
    ]
    for args in cases:
        result = run_regq(*args, tmp_path=tmp_path)
        output = result.stdout + result.stderr
        assert result.returncode in (1, 2), (args[:3], output)
        assert "Traceback" not in output, (args[:3], output)
        assert EMAIL not in output and PHONE not in output, (args[:3], output)
        assert "rejected" in result.stderr, (args[:3], output)


def test_the_binary_logs_no_traceback_for_an_unexpected_exception(tmp_path: Path) -> None:
    code = (
        "import logging, sys\n"
        "from workers import cli\n"
        "def explode():\n"
        "    try:\n"
        f"        raise RuntimeError('owner {EMAIL}')\n"
        "    except RuntimeError:\n"
        "        logging.getLogger('shared.x').exception('it broke')\n"
        "        raise\n"
        "cli.job_schema = explode\n"
        "sys.argv = ['regq', 'schema']\n"
        "cli.main()\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "ERROR shared.x: it broke",
        "error regq schema failed: RuntimeError (details withheld: they may hold personal data)",
    ]
