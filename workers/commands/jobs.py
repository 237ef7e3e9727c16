"""``regq jobs`` and ``regq status KEY``."""

from __future__ import annotations

from typing import Annotated

import typer

from shared.jobs import JobStatus
from workers import context
from workers.console import emit_json, errors, table

JsonFlag = Annotated[bool, typer.Option("--json", help="machine-readable output")]


def jobs(
    status: Annotated[JobStatus | None, typer.Option(help="only jobs in this status")] = None,
    limit: int = 50,
    as_json: JsonFlag = False,
) -> None:
    """List the newest jobs."""
    records = context.store().jobs.recent(status=status, limit=limit)
    if as_json:
        emit_json([r.outcome().model_dump(mode="json") for r in records])
        return
    table(
        "jobs",
        ["key", "kind", "domain", "registrar", "status", "attempts", "error", "updated"],
        [
            (
                r.key,
                r.kind,
                r.domain,
                r.registrar,
                r.status.value,
                r.attempts,
                r.error_code,
                r.updated_at.strftime("%Y-%m-%d %H:%M:%S"),
            )
            for r in records
        ],
    )


def status(key: str, as_json: JsonFlag = False) -> None:
    """Show one job's outcome."""
    record = context.store().jobs.get(key)
    if record is None:
        if as_json:
            emit_json({"error": f"no job with key {key!r}"})
        else:
            errors.print(f"[red]no job with key {key!r}[/red]")
        raise typer.Exit(1)
    outcome = record.outcome()
    if as_json:
        emit_json(outcome.model_dump(mode="json"))
        return
    rows = [(name, value) for name, value in outcome.model_dump(mode="json").items() if name != "duplicate"]
    table(f"job {key}", ["field", "value"], rows)
