"""``regq limits``: the shared rate-limit buckets and block windows.

Shape: ``regq limits [KEY] [--json]`` (the ``show`` command; ``regq limits show [KEY]`` is the same) and
``regq limits reset KEY`` (forget a bucket and its block window).

Which keys: every key the limiter has ever counted (its fleet-wide counters: tokens granted, acquires
denied, block windows; they never expire) and every key with a stored bucket or block window. A bucket
is stored only until it would be full again (``acquire.lua`` sets the key's expiry to its refill time,
under a second for a registrar at 20/s), so listing stored buckets alone said "no buckets" moments after
traffic; such a key now shows ``full`` with its counters.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import typer
from rich.table import Table

from shared.ratelimit import BucketStatus, Limiter, LimiterCounters, check_key
from workers.commands import DefaultCommandGroup
from workers.console import show_rows

HELP = "Shared rate-limit buckets and active block windows."


def iso(ts: float | None) -> str | None:
    """A unix timestamp as ISO 8601 UTC (seconds)."""
    return None if ts is None else datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds")


def as_dict(status: BucketStatus, now: float, counters: LimiterCounters | None = None) -> dict[str, Any]:
    counted = counters or LimiterCounters(status.key)
    return {
        "key": status.key,
        "tokens": None if status.tokens is None else round(status.tokens, 3),
        "burst": status.burst,
        "rate_per_second": status.rate_per_second,
        "blocked_until": status.blocked_until,
        "blocked_until_iso": iso(status.blocked_until),
        "blocked_for_seconds": None if status.blocked_until is None else round(status.blocked_until - now, 3),
        "block_reason": status.block_reason,
        "granted_tokens": counted.granted,
        "denied": counted.denied,
        "blocks": counted.blocks,
    }


def _table(rows: list[dict[str, Any]]) -> Table:
    table = Table(title="Rate limits")
    for column in ("key", "tokens (rate)", "granted / denied / blocks", "blocked", "reason"):
        table.add_column(column)
    for row in rows:
        tokens = "full" if row["tokens"] is None else f"{row['tokens']:.2f}"
        if row["burst"] is not None:
            tokens += f" / {row['burst']}"
        if row["rate_per_second"] is not None:
            tokens += f" ({row['rate_per_second']:.3g}/s)"
        blocked = ""
        if row["blocked_until"] is not None:
            until = row["blocked_until_iso"].partition("T")[2].partition("+")[0]  # HH:MM:SS, UTC
            blocked = f"{row['blocked_for_seconds']:.0f}s (to {until}Z)"
        counted = f"{row['granted_tokens']} / {row['denied']} / {row['blocks']}"
        table.add_row(row["key"], tokens, counted, blocked, row["block_reason"] or "")
    return table


def _checked(key: str) -> str:
    try:
        return check_key(key)
    except ValueError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None


def build_app(get_limiter: Callable[[], Limiter]) -> typer.Typer:
    """The ``limits`` sub-app over the limiter ``get_limiter()`` returns (called once per command)."""
    app = typer.Typer(cls=DefaultCommandGroup, help=HELP, no_args_is_help=False)

    @app.command("show")
    def show(
        key: str | None = typer.Argument(None, help="one key (provider or host); default: every key"),
        as_json: bool = typer.Option(False, "--json", help="machine-readable output"),
    ) -> None:
        """List every key with traffic, a bucket or a block window: tokens now, counters, blocks."""
        limiter = get_limiter()
        counters = limiter.counters()
        keys = [_checked(key)] if key else sorted(set(limiter.keys()) | set(counters))
        now = time.time()
        rows = [as_dict(limiter.status(k), now, counters.get(k)) for k in keys]
        show_rows(rows, as_json, "no traffic counted, no buckets and no block windows", _table)

    @app.command("reset")
    def reset(key: str = typer.Argument(..., help="the key to forget")) -> None:
        """Forget KEY's bucket and block window (full and unblocked again)."""
        get_limiter().reset(_checked(key))
        typer.echo(f"{key}: reset")

    return app


def register(parent: typer.Typer, get_limiter: Callable[[], Limiter], *, name: str = "limits") -> typer.Typer:
    """Add ``regq limits`` to ``parent``; returns the sub-app."""
    app = build_app(get_limiter)
    parent.add_typer(app, name=name, help=HELP)
    return app
