"""``regq breaker`` over the memory breaker, through typer's CliRunner."""

from __future__ import annotations

import json

import pytest
import typer
from typer.testing import CliRunner

from shared.breaker import BreakerConfig, MemoryBreaker, MemoryJournal
from workers.commands import breaker as breaker_cmd

runner = CliRunner()
CONFIG = BreakerConfig(failures=2, reset_seconds=300, probes=1, probe_timeout_seconds=60)


@pytest.fixture
def journal() -> MemoryJournal:
    return MemoryJournal()


@pytest.fixture
def breaker(journal: MemoryJournal) -> MemoryBreaker:
    breaker = MemoryBreaker(CONFIG, journal)
    breaker.record_failure("rotld")
    breaker.record_failure("rotld")
    breaker.record_failure("gandi")
    return breaker


@pytest.fixture
def root(breaker: MemoryBreaker) -> typer.Typer:
    root = typer.Typer()

    @root.callback()
    def main() -> None:
        """regq"""

    breaker_cmd.register(root, lambda: breaker, lambda: ["gandi", "rotld"])
    return root


def test_table(root: typer.Typer) -> None:
    result = runner.invoke(root, ["breaker"])
    assert result.exit_code == 0, result.output
    assert "gandi" in result.output and "rotld" in result.output
    assert "open" in result.output and "closed" in result.output


def test_json_all_and_one(root: typer.Typer) -> None:
    rows = {row["registrar"]: row for row in json.loads(runner.invoke(root, ["breaker", "--json"]).output)}
    assert rows["gandi"]["state"] == "closed" and rows["gandi"]["failures"] == 1
    assert rows["rotld"]["state"] == "open" and rows["rotld"]["failures"] == 2
    assert 299 < rows["rotld"]["open_for_seconds"] <= 300
    assert rows["rotld"]["opened_until_iso"].endswith("+00:00")
    for args in (["breaker", "rotld", "--json"], ["breaker", "show", "rotld", "--json"]):
        result = runner.invoke(root, args)
        assert result.exit_code == 0, result.output
        assert [row["registrar"] for row in json.loads(result.output)] == ["rotld"]


def test_reset(root: typer.Typer, breaker: MemoryBreaker, journal: MemoryJournal) -> None:
    result = runner.invoke(root, ["breaker", "reset", "rotld", "--reason", "registry back"])
    assert result.exit_code == 0, result.output
    assert "rotld: open -> closed" in result.output
    assert breaker.state("rotld").state == "closed"
    last = journal.last_transition("rotld")
    assert last is not None and (last.from_state, last.to_state, last.reason) == (
        "open",
        "closed",
        "registry back",
    )


def test_unknown_registrar(root: typer.Typer, journal: MemoryJournal) -> None:
    count = len(journal.records)
    for args in (["breaker", "reset", "gandy"], ["breaker", "gandy"]):
        result = runner.invoke(root, args)
        assert result.exit_code == 2
        assert "unknown registrar 'gandy'" in result.output
    assert len(journal.records) == count


def test_help_lists_subcommands(root: typer.Typer) -> None:
    result = runner.invoke(root, ["breaker", "--help"])
    assert result.exit_code == 0 and "reset" in result.output and "show" in result.output


def test_restored_state_is_shown_without_writing(journal: MemoryJournal, breaker: MemoryBreaker) -> None:
    fresh = MemoryBreaker(CONFIG, journal)  # a new process: no state, the journal says rotld is open
    app = breaker_cmd.build_app(lambda: fresh, lambda: ["gandi", "rotld"])
    rows = {row["registrar"]: row["state"] for row in json.loads(runner.invoke(app, ["--json"]).output)}
    assert rows == {"gandi": "closed", "rotld": "open"}
    assert fresh.providers() == []
