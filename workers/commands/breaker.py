"""``regq breaker``: the shared circuit breakers.

Shape: ``regq breaker [REGISTRAR] [--json]`` (the ``show`` command; ``regq breaker show [REGISTRAR]`` is
the same) shows state, failures and opened-until; ``regq breaker reset REGISTRAR [--reason TEXT]``
closes a breaker now (journaled as a transition with the reason).

Its two counts measure different things and are labelled so (shared/breaker/breaker.lua): "failures in
a row" is the streak since the last success (a success resets it; while open it keeps the streak the
breaker opened with, as no call is made); "window" is the sliding window of the last calls, EMPTIED when
the breaker opens or closes. So an open breaker shows e.g. "15 (opened with)" beside "none since it
opened" rather than "15" beside "0 / 0".
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import typer
from rich.table import Table

from shared.breaker import Breaker, BreakerState
from shared.breaker.base import CLOSED
from workers.commands import DefaultCommandGroup
from workers.commands.limits import iso
from workers.console import show_rows

HELP = "Shared circuit breakers per registrar."
_STYLE = {"closed": "green", "open": "red", "half_open": "yellow"}


def as_dict(state: BreakerState, now: float, window_size: int | None = None) -> dict[str, Any]:
    remaining = None if state.opened_until is None else max(0.0, round(state.opened_until - now, 3))
    return {
        "window_size": window_size,
        "registrar": state.provider,
        "state": state.state,
        "failures": state.failures,
        "window_calls": state.calls,
        "window_failed": state.failed_calls,
        "failure_rate": None if state.failure_rate is None else round(state.failure_rate, 1),
        "opened_until": state.opened_until,
        "opened_until_iso": iso(state.opened_until),
        "open_for_seconds": remaining if state.state == "open" else None,
        "probes_in_flight": state.probes_in_flight,
    }


def streak_text(row: dict[str, Any]) -> str:
    """The "failures in a row" cell: while not closed, the streak the breaker opened with."""
    if row["state"] != CLOSED and row["failures"]:
        return f"{row['failures']} (opened with)"
    return str(row["failures"])


def window_text(row: dict[str, Any]) -> str:
    """The window cell: failed / calls since the window was last emptied (opening or closing)."""
    if row["window_size"] == 0:
        return "off"
    if row["state"] != CLOSED and not row["window_calls"]:
        return "none since it opened"
    text = f"{row['window_failed']} failed / {row['window_calls']} calls"
    if row["failure_rate"] is not None:
        text += f" ({row['failure_rate']:g} %)"
    return text


def _table(rows: list[dict[str, Any]]) -> Table:
    sizes = {row["window_size"] for row in rows if row["window_size"]}
    last = f"last {sizes.pop()} calls" if len(sizes) == 1 else "last calls"
    table = Table(title="Circuit breakers")
    for column in (
        "registrar",
        "state",
        "failures in a row (since last success)",
        f"window: {last} (emptied on open/close)",
        "opened until",
        "probes",
    ):
        table.add_column(column)
    for row in rows:
        until = row["opened_until_iso"] or ""
        if row["open_for_seconds"] is not None:
            until += f" (in {row['open_for_seconds']:.0f}s)"
        state = f"[{_STYLE.get(row['state'], 'white')}]{row['state']}[/]"
        table.add_row(
            row["registrar"],
            state,
            streak_text(row),
            window_text(row),
            until,
            str(row["probes_in_flight"]),
        )
    return table


def build_app(get_breaker: Callable[[], Breaker], providers: Callable[[], list[str]]) -> typer.Typer:
    """The ``breaker`` sub-app. ``providers()`` names the configured registrars; registrars with stored
    breaker state are shown too."""
    app = typer.Typer(cls=DefaultCommandGroup, help=HELP, no_args_is_help=False)

    def known(breaker: Breaker) -> list[str]:
        return sorted(set(providers()) | set(breaker.providers()))

    def check(breaker: Breaker, registrar: str) -> None:
        names = known(breaker)
        if registrar not in names:
            typer.echo(f"unknown registrar {registrar!r}; known: {', '.join(names) or 'none'}", err=True)
            raise typer.Exit(2)

    @app.command("show")
    def show(
        registrar: str | None = typer.Argument(None, help="one registrar; default: all"),
        as_json: bool = typer.Option(False, "--json", help="machine-readable output"),
    ) -> None:
        """State, consecutive failures and opened-until of each breaker."""
        breaker = get_breaker()
        if registrar:
            check(breaker, registrar)
        names = [registrar] if registrar else known(breaker)
        now = time.time()
        size = breaker.config.window_calls
        rows = [as_dict(breaker.state(name), now, size) for name in names]
        show_rows(rows, as_json, "no registrars", _table)

    @app.command("reset")
    def reset(
        registrar: str = typer.Argument(..., help="the registrar whose breaker to close"),
        reason: str = typer.Option("manual reset (regq breaker reset)", help="recorded in the journal"),
    ) -> None:
        """Close REGISTRAR's breaker now; the reset is journaled with REASON."""
        breaker = get_breaker()
        check(breaker, registrar)
        before = breaker.state(registrar)
        breaker.reset(registrar, reason)
        typer.echo(f"{registrar}: {before.state} -> closed")

    return app


def register(
    parent: typer.Typer,
    get_breaker: Callable[[], Breaker],
    providers: Callable[[], list[str]],
    *,
    name: str = "breaker",
) -> typer.Typer:
    """Add ``regq breaker`` to ``parent``; returns the sub-app."""
    app = build_app(get_breaker, providers)
    parent.add_typer(app, name=name, help=HELP)
    return app
