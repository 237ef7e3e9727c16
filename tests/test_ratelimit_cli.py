"""``regq limits`` over the memory limiter, through typer's CliRunner."""

from __future__ import annotations

import json

import pytest
import typer
from typer.testing import CliRunner

from shared.ratelimit import MemoryLimiter, Rate
from shared.services import Services
from shared.settings import load_settings
from testkit.stacks import wait_for
from workers.cli import app as regq_app
from workers.commands import limits

runner = CliRunner()


@pytest.fixture
def limiter() -> MemoryLimiter:
    limiter = MemoryLimiter()
    limiter.acquire("gandi", Rate.parse("1000/m"), 20, cost=5)
    limiter.block("whois.eu", 50, "Still in grace period, wait 50 seconds")
    return limiter


@pytest.fixture
def root(limiter: MemoryLimiter) -> typer.Typer:
    root = typer.Typer()

    @root.callback()
    def main() -> None:
        """regq"""

    limits.register(root, lambda: limiter)
    return root


def test_table(root: typer.Typer) -> None:
    result = runner.invoke(root, ["limits"])
    assert result.exit_code == 0, result.output
    assert "gandi" in result.output and "whois.eu" in result.output
    assert "/ 20" in result.output and "Still in grace" in result.output


def test_json(root: typer.Typer) -> None:
    result = runner.invoke(root, ["limits", "--json"])
    assert result.exit_code == 0, result.output
    rows = {row["key"]: row for row in json.loads(result.output)}
    assert set(rows) == {"gandi", "whois.eu"}
    assert rows["gandi"]["burst"] == 20 and 15 <= rows["gandi"]["tokens"] <= 16
    assert rows["gandi"]["rate_per_second"] == pytest.approx(1000 / 60)
    assert rows["gandi"]["blocked_until"] is None
    assert rows["whois.eu"]["block_reason"] == "Still in grace period, wait 50 seconds"
    assert 45 < rows["whois.eu"]["blocked_for_seconds"] <= 50
    assert rows["whois.eu"]["blocked_until_iso"].endswith("+00:00")


def test_one_key_and_show_alias(root: typer.Typer) -> None:
    for args in (["limits", "gandi", "--json"], ["limits", "show", "gandi", "--json"]):
        result = runner.invoke(root, args)
        assert result.exit_code == 0, result.output
        assert [row["key"] for row in json.loads(result.output)] == ["gandi"]


def test_reset(root: typer.Typer, limiter: MemoryLimiter) -> None:
    result = runner.invoke(root, ["limits", "reset", "whois.eu"])
    assert result.exit_code == 0 and "whois.eu: reset" in result.output
    assert limiter.keys() == ["gandi"]


def test_empty() -> None:
    app = limits.build_app(MemoryLimiter)
    result = runner.invoke(app, [])
    assert result.exit_code == 0 and "no buckets" in result.output
    assert json.loads(runner.invoke(app, ["--json"]).output) == []


def test_bad_key_is_an_error(root: typer.Typer) -> None:
    for args in (["limits", "https://user:pw@host"], ["limits", "reset", "a b"]):
        result = runner.invoke(root, args)
        assert result.exit_code == 2
        assert "limiter key" in result.output and "pw" not in result.output


# --- real traffic, then the command (issue 21: "no buckets" just after traffic) -------------------------
def test_keys_with_traffic_are_listed_after_their_bucket_expired(cli_env: dict[str, str]) -> None:
    """Three calls through the process's LimiterGuard (what every upstream request takes) on the test
    Redis; the rotld bucket (5/s) is refilled, so its key expires, within a second. ``regq limits`` still
    lists rotld: full, with the three tokens it granted (the counters never expire)."""
    services = Services(load_settings())
    try:
        for _ in range(3):
            services.guard.before_request("rotld", "domain-info")
        limiter = services.limiter
        assert "rotld" in limiter.keys()  # the bucket is stored while it refills
        wait_for(lambda: "rotld" not in limiter.keys(), 10, "the refilled rotld bucket to expire")
        # What the command listed before: stored buckets only, so none here.
        assert limiter.keys() == []
    finally:
        services.close()

    listed = runner.invoke(regq_app, ["limits", "--json"])
    assert listed.exit_code == 0, listed.output
    rows = {row["key"]: row for row in json.loads(listed.output)}
    assert set(rows) == {"rotld"}
    assert rows["rotld"]["tokens"] is None  # full: no bucket stored
    assert (rows["rotld"]["granted_tokens"], rows["rotld"]["denied"], rows["rotld"]["blocks"]) == (3, 0, 0)
    table = runner.invoke(regq_app, ["limits"], env={"COLUMNS": "200"})
    assert table.exit_code == 0, table.output
    assert "no buckets" not in table.output
    row = next(line for line in table.output.splitlines() if "rotld" in line)
    assert "full" in row and "3 / 0 / 0" in row
