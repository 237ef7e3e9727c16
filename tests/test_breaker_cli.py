"""``regq breaker`` over the memory breaker, through typer's CliRunner."""

from __future__ import annotations

import json

import pytest
import redis
import typer
from typer.testing import CliRunner

from shared.breaker import BreakerConfig, MemoryBreaker, MemoryJournal, RedisBreaker
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


# --- the two counts cannot contradict each other (issue 21: "in a row 15" beside "last calls 0 / 0") ---
WINDOWED = BreakerConfig(
    failures=15, reset_seconds=300, probes=1, probe_timeout_seconds=60, window_calls=20, min_calls=20
)


def test_an_open_breaker_shows_its_opening_streak_and_an_emptied_window(
    redis_client: redis.Redis, redis_prefix: str
) -> None:
    """On the Redis breaker (its Lua script keeps both counts): 15 failures in a row open rotld and
    empty its window; the table says so in words, never "15" beside "0 / 0"."""
    breaker = RedisBreaker(redis_client, redis_prefix, WINDOWED, MemoryJournal())
    for _ in range(15):
        breaker.record_failure("rotld")
    for outcome in ("failure", "success", "failure"):  # gandi: 1 in a row since its last success
        getattr(breaker, f"record_{outcome}")("gandi")
    state = breaker.state("rotld")
    assert (state.state, state.failures, state.calls) == ("open", 15, 0)  # what the old table showed

    app = breaker_cmd.build_app(lambda: breaker, lambda: ["gandi", "rotld"])
    wide = runner.invoke(app, [], env={"COLUMNS": "200"})
    assert wide.exit_code == 0, wide.output
    lines = {line.split("│")[1].strip(): line for line in wide.output.splitlines() if line.count("│") > 2}
    assert "failures in a row (since last success)" in wide.output
    assert "window: last 20 calls (emptied on open/close)" in wide.output
    assert "15 (opened with)" in lines["rotld"] and "none since it opened" in lines["rotld"]
    assert "0 / 0" not in wide.output
    assert "2 failed / 3 calls" in lines["gandi"]
    gandi_cells = [cell.strip() for cell in lines["gandi"].split("│")]
    assert gandi_cells[3] == "1"  # failures in a row: only the last call failed since the success

    rows = {row["registrar"]: row for row in json.loads(runner.invoke(app, ["--json"]).output)}
    assert rows["rotld"]["failures"] == 15 and rows["rotld"]["window_calls"] == 0
    assert rows["rotld"]["window_size"] == 20
    assert (rows["gandi"]["failures"], rows["gandi"]["window_failed"], rows["gandi"]["window_calls"]) == (
        1,
        2,
        3,
    )


def test_a_breaker_without_a_window_says_off() -> None:
    breaker = MemoryBreaker(CONFIG, MemoryJournal())  # window_calls=0: the rate trigger is off
    breaker.record_failure("gandi")
    app = breaker_cmd.build_app(lambda: breaker, lambda: ["gandi"])
    result = runner.invoke(app, [], env={"COLUMNS": "200"})
    row = next(line for line in result.output.splitlines() if "gandi" in line)
    assert [cell.strip() for cell in row.split("│")][3:5] == ["1", "off"]
