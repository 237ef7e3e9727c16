"""A running embedded stack is found by the CLI (issue 21): the stack writes ``var/stack.env``
(workers/embedded/stack_file.py), every ``regq`` run beside it reads it below the environment
(shared/settings.py), ``regq stack env`` prints it for ``eval``, and it is gone when the stack stops."""

from __future__ import annotations

import json
import os
import shlex
import socket
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from shared import settings as settings_module
from shared.settings import get_settings, load_settings, stack_file
from testkit.factories import person
from testkit.stacks import running_stack, wait_for
from workers.embedded import stack_file as writer
from workers.embedded.ports import preferred_port
from workers.embedded.stack import WorkerGroup

REGQ = str(Path(sys.executable).with_name("regq"))  # the installed entry point, as an operator runs it


def write_stack_file(var: Path, pid: int, **env: str) -> Path:
    var.mkdir(parents=True, exist_ok=True)
    path = writer.path_in(var)
    path.write_text(writer.render(env, {"REGQ_API_URL": "http://127.0.0.1:8080"}, pid))
    return path


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid  # reaped: no process has this id now (reuse within the test is not a concern)


# --- the settings source -----------------------------------------------------------------------------
@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A clean directory and environment: no REGQ_* variable, cwd ``tmp_path``."""
    for key in [k for k in os.environ if k.startswith("REGQ_")]:
        monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_the_file_of_a_running_stack_is_read_below_the_environment(
    here: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = {
        "REGQ_REDIS_URL": "redis://127.0.0.1:6399/0",
        "REGQ_REDIS_PREFIX": "stackprefix",
        "REGQ_DNS_NAMESERVERS": "127.0.0.1:5353",
        "PATH": "/usr/bin",  # not a REGQ_ setting: not written
    }
    path = writer.write(here / "var", env, {"REGQ_API_URL": "http://127.0.0.1:8080"})  # this process's pid
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and "PATH" not in path.read_text()
    assert stack_file() == Path("var/stack.env")
    loaded = load_settings()
    assert loaded.effective_redis_url == "redis://127.0.0.1:6399/0" and loaded.redis_prefix == "stackprefix"
    assert loaded.dns_nameservers == [("127.0.0.1", 5353)]  # decoded as the environment's value would be
    monkeypatch.setenv("REGQ_REDIS_PREFIX", "mine")
    assert load_settings().redis_prefix == "mine"  # the environment wins


def test_a_file_left_by_a_killed_stack_is_ignored(here: Path) -> None:
    write_stack_file(here / "var", dead_pid(), REGQ_REDIS_URL="redis://127.0.0.1:6399/0")
    assert stack_file() is None
    assert load_settings().redis_url is None


def test_an_empty_regq_stack_file_reads_none(here: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_stack_file(here / "var", os.getpid(), REGQ_REDIS_URL="redis://127.0.0.1:6399/0")
    monkeypatch.setenv("REGQ_STACK_FILE", "")
    assert stack_file() is None and load_settings().redis_url is None
    monkeypatch.setenv("REGQ_STACK_FILE", str(writer.path_in(here / "var")))
    assert load_settings().redis_url == "redis://127.0.0.1:6399/0"


def test_get_settings_follows_a_stack_that_starts_and_stops(here: Path) -> None:
    settings_module._settings_for.cache_clear()
    assert get_settings().redis_url is None
    write_stack_file(here / "var", os.getpid(), REGQ_REDIS_URL="redis://127.0.0.1:6399/0")
    assert get_settings().redis_url == "redis://127.0.0.1:6399/0"
    writer.path_in(here / "var").unlink()
    assert get_settings().redis_url is None


def test_a_bad_value_in_the_file_names_its_variable(here: Path) -> None:
    write_stack_file(here / "var", os.getpid(), REGQ_GANDI_RATE="bogus")
    with pytest.raises(Exception, match="REGQ_GANDI_RATE"):
        load_settings()


def test_a_value_that_cannot_be_quoted_is_left_out_and_said() -> None:
    text = writer.render({"REGQ_WEBHOOK_SECRET": "it's", "REGQ_REDIS_PREFIX": "p", "HOME": "/root"}, {}, 1)
    assert "REGQ_REDIS_PREFIX='p'" in text and "HOME" not in text
    assert "# REGQ_WEBHOOK_SECRET left out" in text and "it's" not in text


def test_the_readme_port_when_free_else_a_free_one() -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        busy = holder.getsockname()[1]
        other = preferred_port(busy)
        assert other != busy
    assert preferred_port(busy) == busy  # free again: taken as asked


# --- a real stack and the installed regq in a second "terminal" ---------------------------------------
def second_terminal(cwd: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """``regq ARGS`` with no REGQ_* variable at all, run in ``cwd`` (where ``make up`` runs)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("REGQ_")}
    return subprocess.run([REGQ, *args], cwd=cwd, env=clean, capture_output=True, text=True, timeout=timeout)


def test_regq_beside_a_running_stack_reaches_it_and_its_sandbox(redis_url: str, tmp_path: Path) -> None:
    var = tmp_path / "var"
    database_url = f"sqlite:///{var / 'regq.db'}"  # as make up's (the file carries whichever URL)
    groups = (WorkerGroup("gandi", ("registrar.gandi",), 1),)
    owner = tmp_path / "owner.json"
    owner.write_text(json.dumps(person()))
    with running_stack(redis_url, database_url, var, groups) as stack:
        path = var / "stack.env"
        assert stack.stack_env_file == path and stat.S_IMODE(path.stat().st_mode) == 0o600
        text = path.read_text()
        for key in ("REGQ_REDIS_URL", "REGQ_REDIS_PREFIX", "REGQ_BROKER_KEY_PREFIX", "REGQ_DATABASE_URL"):
            assert f"{key}='{stack.env[key]}'" in text
        assert f"REGQ_GANDI_API_URL='{stack.env['REGQ_GANDI_API_URL']}'" in text
        assert f"REGQ_BROKER_URL='{redis_url}'" in text  # the effective broker, written out

        exported = second_terminal(tmp_path, "stack", "env")
        assert exported.returncode == 0, exported.stderr
        pairs = dict(
            shlex.split(line.removeprefix("export "))[0].split("=", 1)
            for line in exported.stdout.splitlines()
        )
        assert pairs["REGQ_REDIS_URL"] == stack.env["REGQ_REDIS_URL"] and "REGQ_STACK_PID" not in pairs

        submitted = second_terminal(
            tmp_path, "submit", "register", "din-alt-terminal.com", "--owner", str(owner), "--json"
        )
        assert submitted.returncode == 0, submitted.stderr  # not "no Redis configured"
        key = json.loads(submitted.stdout)[0]["key"]

        def finished() -> dict[str, Any] | None:
            shown = second_terminal(tmp_path, "status", key, "--json")
            outcome = json.loads(shown.stdout) if shown.returncode == 0 else None
            return outcome if outcome and outcome["status"] in ("succeeded", "failed") else None

        outcome: Any = wait_for(finished, 120, "the job to finish")
        assert outcome["status"] == "succeeded", outcome
        assert stack.sandbox is not None
        assert "din-alt-terminal.com" in [d["fqdn"] for d in stack.sandbox.domains("gandi")]  # the sandbox's

        looked = second_terminal(tmp_path, "lookup", "din-alt-terminal.com", "--json")
        answer = json.loads(looked.stdout)
        assert answer["registered"] is True, (
            looked.stdout + looked.stderr
        )  # the sandbox RDAP, not the internet
        assert answer["registration"]["registrar"] == "Gandi SAS"
    assert not path.exists()
    gone = second_terminal(tmp_path, "stack", "env")
    assert gone.returncode == 1 and "no running stack" in gone.stderr
