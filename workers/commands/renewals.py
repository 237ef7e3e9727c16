"""``regq renewals run-now [--dry-run]`` (the nightly renewal scan on demand), ``regq renewals failed``."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from shared.store.renewals import ScanCounts
from shared.store.schema import utcnow
from workers import context
from workers.console import console, emit_json, errors, table

JsonFlag = Annotated[bool, typer.Option("--json", help="machine-readable output")]

#: ``run-now`` exits with this when another scan holds the lock (EX_TEMPFAIL: try again later).
EXIT_LOCKED = 75

app = typer.Typer(help="Nightly renewals: run the scan now, see renewals that failed for good.")


@app.command("run-now")
def run_now(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="list what would be renewed, submit nothing")
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Run the renewal scan in this process (the same scan beat runs nightly, under the same lock)."""
    from shared.renewal_scan import LOCKED
    from tasks.renewals import run_scan

    rt = context.runtime()
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=errors,
        transient=True,
        disable=as_json,
    ) as bar:
        task = bar.add_task("renewal scan: starting", total=None)

        def advanced(counts: ScanCounts) -> None:
            bar.update(task, description=f"renewal scan: {counts.scanned} due domains read")

        result = run_scan(rt, trigger="cli", dry_run=dry_run, on_batch=advanced)
    if as_json:
        emit_json(result.as_dict())
    else:
        if dry_run:
            today = utcnow().date()
            table(
                f"would renew (expiring on or before {result.horizon})",
                ["domain", "registrar", "expires", "days left", "key", "existing job"],
                [
                    (d.domain, d.registrar, d.expires_at, (d.expires_at - today).days, d.key, d.existing)
                    for d in result.due
                ],
            )
        c = result.counts
        title = "renewal scan (dry run)" if dry_run else f"renewal scan {result.scan_id or ''}".strip()
        table(
            title,
            [
                "status",
                "horizon",
                "scanned",
                "would submit" if dry_run else "submitted",
                "already queued",
                "invalid",
                "seconds",
            ],
            [
                (
                    result.status,
                    result.horizon,
                    c.scanned,
                    c.submitted,
                    c.already_queued,
                    c.invalid,
                    f"{result.seconds:.1f}",
                )
            ],
        )
    if result.status == LOCKED:
        if not as_json:
            console.print("another renewal scan is running (it holds the lock): nothing done")
        raise typer.Exit(EXIT_LOCKED)


@app.command("failed")
def failed(as_json: JsonFlag = False) -> None:
    """Renews that failed for good (e.g. insufficient funds) whose term was not renewed since, with the
    domain's days left before expiry; `regq replay KEY` retries one."""
    rows = context.store().renewals.failed(utcnow().date())
    if as_json:
        emit_json([r.as_dict() for r in rows])
        return
    if not rows:
        console.print("no failed renewals")
        return
    table(
        "failed renewals",
        ["domain", "registrar", "expires", "days left", "key", "error", "message", "failed at"],
        [
            (
                r.domain,
                r.registrar,
                r.expires_at or r.term,
                r.days_left,
                r.key,
                r.error_code,
                r.error_message,
                r.finished_at.strftime("%Y-%m-%d %H:%M:%S") if r.finished_at else None,
            )
            for r in rows
        ],
    )
