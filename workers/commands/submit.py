"""``regq submit register|renew|lookup ...`` and ``regq submit --file jobs.jsonl``."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from celery import Celery
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from shared.errors import FieldProblem, IdempotencyConflict, JobValidationError
from shared.jobs import AnyJob, JobOutcome, parse_job
from shared.store import Store
from tasks.publish import BATCH_SIZE, submit_many
from tasks.publish import submit as publish_job
from workers import context
from workers.console import emit_json, errors, table
from workers.jsonlines import split_lines

app = typer.Typer(help="Submit jobs (validated here, before anything reaches a broker or a registrar).")

JsonFlag = Annotated[bool, typer.Option("--json", help="machine-readable output")]


def _show(outcomes: list[JobOutcome], as_json: bool) -> None:
    if as_json:
        emit_json([o.model_dump(mode="json") for o in outcomes])
        return
    table(
        "submitted",
        ["key", "kind", "domain", "status", "duplicate"],
        [(o.key, o.kind.value, o.domain, o.status.value, "yes" if o.duplicate else "") for o in outcomes],
    )


def _submit_one(data: dict[str, Any], as_json: bool) -> None:
    try:
        job = parse_job(data)
        store = context.store()
        outcome = publish_job(job, store=store, app=context.producer())
    except JobValidationError as exc:
        _fail([(None, p) for p in exc.problems], as_json)
    except IdempotencyConflict as exc:
        _fail([(None, FieldProblem("idempotency_key", str(exc)))], as_json)
    _show([outcome], as_json)


def _fail(problems: list[tuple[int | None, FieldProblem]], as_json: bool) -> None:
    if as_json:
        emit_json({"errors": [{"line": line, "field": p.field, "reason": p.reason} for line, p in problems]})
    else:
        for line, problem in problems:
            where = f"line {line}: " if line is not None else ""
            errors.print(f"[red]rejected[/red] {where}{problem.field}: {problem.reason}")
    raise typer.Exit(2)


@app.callback(invoke_without_command=True)
def submit_file(
    ctx: typer.Context,
    file: Annotated[Path | None, typer.Option("--file", "-f", help="JSON Lines: one job per line")] = None,
    batch_size: Annotated[
        int, typer.Option("--batch-size", min=1, max=2000, help="jobs per INSERT and per broker connection")
    ] = BATCH_SIZE,
    as_json: JsonFlag = False,
) -> None:
    """Submit every job of a JSONL file; bad lines are reported with their line number, good ones go."""
    if ctx.invoked_subcommand is not None:
        return
    if file is None:
        typer.echo(ctx.get_help())
        raise typer.Exit(2)
    # bytes that are not UTF-8 stay as surrogates, reported by line
    lines = split_lines(file.read_bytes().decode("utf-8", "surrogateescape"))
    outcomes, problems = submit_lines(
        lines, context.store(), context.producer(), show_progress=not as_json, batch_size=batch_size
    )
    if as_json:
        emit_json(
            {
                "submitted": [o.model_dump(mode="json") for o in outcomes],
                "errors": [{"line": n, "field": p.field, "reason": p.reason} for n, p in problems],
            }
        )
    else:
        _show(outcomes, False)
        for number, problem in problems:
            errors.print(f"[red]rejected[/red] line {number}: {problem.field}: {problem.reason}")
    if problems:
        raise typer.Exit(1)


def submit_lines(
    lines: list[str], store: Store, producer: Celery, show_progress: bool = True, batch_size: int = BATCH_SIZE
) -> tuple[list[JobOutcome], list[tuple[int, FieldProblem]]]:
    """Validate every line, then submit the good ones in batches (:func:`tasks.publish.submit_many`:
    one INSERT, one broker connection and one UPDATE per batch). The outcomes in line order; the
    problems of bad lines (line number, field, reason), which stop nothing else."""
    outcomes: list[JobOutcome] = []
    problems: list[tuple[int, FieldProblem]] = []
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        TextColumn("[green]{task.fields[ok]} ok[/green] [red]{task.fields[bad]} rejected[/red]"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, disable=not show_progress, transient=False) as progress:
        bar = progress.add_task("submitting", total=len(lines), ok=0, bad=0)
        pending: list[tuple[int, AnyJob]] = []

        def flush(consumed: int) -> None:
            for (number, _job), answer in zip(
                pending,
                submit_many([job for _n, job in pending], store=store, app=producer, batch_size=batch_size),
                strict=True,
            ):
                if answer.outcome is not None:
                    outcomes.append(answer.outcome)
                else:
                    problems.extend((number, p) for p in _problems_of(answer.error))
            pending.clear()
            progress.update(bar, completed=consumed, ok=len(outcomes), bad=len({n for n, _ in problems}))

        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            value = _json_line(line)
            try:
                if isinstance(value, FieldProblem):
                    problems.append((number, value))
                else:
                    pending.append((number, parse_job(value)))
            except JobValidationError as exc:
                problems.extend((number, p) for p in exc.problems)
            if len(pending) >= batch_size:
                flush(number)
        flush(len(lines))
    problems.sort(key=lambda item: item[0])
    return outcomes, problems


def _json_line(line: str) -> Any:
    """The JSON value of one line, or the FieldProblem saying why it has none (never an exception)."""
    try:
        line.encode("utf-8")
    except UnicodeEncodeError as exc:  # a byte that was not UTF-8, kept as a surrogate
        return FieldProblem("job", f"not UTF-8 (byte at column {exc.start + 1})")
    try:
        return json.loads(line)
    except json.JSONDecodeError as exc:
        return FieldProblem("job", f"not JSON ({exc.msg} at column {exc.colno})")
    except RecursionError:
        return FieldProblem("job", "not JSON this parser accepts (nested too deeply)")
    except ValueError as exc:  # e.g. an integer past Python's 4300-digit conversion limit
        return FieldProblem("job", f"not JSON this parser accepts ({str(exc)[:80]})")


def _problems_of(error: Exception | None) -> list[FieldProblem]:
    if isinstance(error, JobValidationError):
        return error.problems
    if isinstance(error, IdempotencyConflict):
        return [FieldProblem("idempotency_key", str(error))]
    return [FieldProblem("job", str(error))]


def _owner(owner: str) -> dict[str, Any]:
    path = Path(owner)
    text = path.read_text(encoding="utf-8") if path.exists() else owner
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        _fail(
            [(None, FieldProblem("owner", f"expected a JSON object or a file holding one ({exc.msg})"))],
            False,
        )
    return value


@app.command()
def register(
    domain: str,
    owner: Annotated[str, typer.Option(help="registrant: a JSON object, or a file holding one")],
    years: int = 1,
    registrar: str | None = None,
    nameserver: Annotated[list[str] | None, typer.Option(help="repeat for each nameserver")] = None,
    key: Annotated[str | None, typer.Option(help="idempotency key (default register:<domain>)")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="validate at the registrar, do not act")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Register DOMAIN for YEARS with OWNER as registrant."""
    data = {
        "kind": "register",
        "domain": domain,
        "owner": _owner(owner),
        "years": years,
        "dry_run": dry_run,
        "nameservers": nameserver or [],
        "registrar": registrar,
        "idempotency_key": key,
    }
    _submit_one({k: v for k, v in data.items() if v is not None}, as_json)


@app.command()
def renew(
    domain: str,
    years: int = 1,
    expiry: Annotated[str | None, typer.Option(help="current expiry YYYY-MM-DD (default: inventory)")] = None,
    registrar: str | None = None,
    key: Annotated[str | None, typer.Option(help="idempotency key (default renew:<domain>:<expiry>)")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Renew DOMAIN by YEARS, guarded by its current expiry."""
    if expiry is not None:
        try:
            date.fromisoformat(expiry)
        except ValueError:
            _fail([(None, FieldProblem("current_expiry", "expected a date YYYY-MM-DD"))], as_json)
    data = {
        "kind": "renew",
        "domain": domain,
        "years": years,
        "current_expiry": expiry,
        "registrar": registrar,
        "idempotency_key": key,
    }
    _submit_one({k: v for k, v in data.items() if v is not None}, as_json)


@app.command()
def lookup(
    domain: str,
    availability: Annotated[
        bool, typer.Option("--availability", help="ask the registrar whether it can be registered instead")
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Queue a lookup of DOMAIN: registration data, nameservers and who holds their addresses."""
    job: dict[str, object] = {"kind": "lookup", "domain": domain}
    if availability:
        job["availability"] = True
    _submit_one(job, as_json)
