"""``regq jobs`` and ``regq status KEY``."""

from __future__ import annotations

from typing import Annotated

import typer

from shared.job_status import JobStatus
from workers import context
from workers.console import emit_json, errors, table

JsonFlag = Annotated[bool, typer.Option("--json", help="machine-readable output")]


def jobs(
    status: Annotated[JobStatus | None, typer.Option(help="only jobs in this status")] = None,
    limit: int = 50,
    as_json: JsonFlag = False,
) -> None:
    """List the newest jobs."""
    with context.job_reader() as store:  # the jobs table only: no broker, Redis or gateways imported
        records = store.recent(status=status, limit=limit)
    if as_json:
        emit_json([{**r.outcome().model_dump(mode="json"), "wait_code": r.wait_label} for r in records])
        return
    table(
        "jobs",
        ["key", "kind", "domain", "registrar", "status", "attempts", "reason", "updated"],
        [
            (
                r.key,
                r.kind,
                r.domain,
                r.registrar,
                r.status.value,
                r.attempts,
                r.reason,  # why it waits (label: text), or the error it ended with
                r.updated_at.strftime("%Y-%m-%d %H:%M:%S"),
            )
            for r in records
        ],
    )


def status(key: str, as_json: JsonFlag = False) -> None:
    """Show one job's outcome."""
    outcome = context.job_outcome(key)  # one SELECT: no ORM, job models, broker, Redis or gateways imported
    if outcome is None:
        if as_json:
            emit_json({"error": f"no job with key {key!r}"})
        else:
            errors.print(f"[red]no job with key {key!r}[/red]")
        raise typer.Exit(1)
    if as_json:
        emit_json(outcome)
        return
    rows = [(name, value) for name, value in outcome.items() if name != "duplicate"]
    table(f"job {key}", ["field", "value"], rows)
