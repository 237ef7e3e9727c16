"""Operator output: rich tables on a terminal, ``--json`` for machines."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from rich.console import Console
from rich.table import Table

console = Console()
errors = Console(stderr=True)


def emit_json(data: Any) -> None:
    print(json.dumps(data, indent=2, default=str, ensure_ascii=False))


def table(title: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    grid = Table(title=title)
    for column in columns:
        grid.add_column(column)
    for row in rows:
        grid.add_row(*["" if cell is None else str(cell) for cell in row])
    console.print(grid)


def show_rows(
    rows: list[dict[str, Any]], as_json: bool, empty: str, render: Callable[[list[dict[str, Any]]], Table]
) -> None:
    """``--json``: the rows as JSON; otherwise ``render``'s table, or ``empty`` when there are none."""
    if as_json:
        emit_json(rows)
    elif not rows:
        console.print(empty)
    else:
        console.print(render(rows))
