"""``regq submit register|renew|lookup ...`` and ``regq submit --file jobs.jsonl``."""

from __future__ import annotations

import errno
import json
from datetime import date
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from celery import Celery
from rich.markup import escape
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
from shared.webhooks.outbound.targets import callback_problem
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
        _check_callback(job)
        store = context.store()
        outcome = publish_job(job, store=store, app=context.producer())
    except JobValidationError as exc:
        _fail([(None, p) for p in exc.problems], as_json)
    except IdempotencyConflict as exc:
        _fail([(None, FieldProblem("idempotency_key", str(exc)))], as_json)
    _show([outcome], as_json)


def _check_callback(job: AnyJob) -> None:
    """Refuse, at submit, a ``callback_url`` the delivery would refuse (private or loopback address,
    plain http), as the API does; REGQ_WEBHOOK_ALLOW_PRIVATE allows them."""
    if job.callback_url is None:
        return
    problem = callback_problem(job.callback_url, context.settings())
    if problem:
        raise JobValidationError([FieldProblem("callback_url", problem)])


def _fail(problems: list[tuple[int | None, FieldProblem]], as_json: bool) -> NoReturn:
    if as_json:
        emit_json({"errors": [{"line": line, "field": p.field, "reason": p.reason} for line, p in problems]})
    else:
        for line, problem in problems:
            where = f"line {line}: " if line is not None else ""
            errors.print(
                f"[red]rejected[/red] {where}{escape(problem.field)}: {escape(problem.reason)}",
                soft_wrap=True,
            )
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
    try:
        data = file.read_bytes()
    except OSError as exc:
        _fail([(None, FieldProblem("file", f"cannot read it ({_errno_name(exc)})"))], as_json)
    lines = split_lines(data.decode("utf-8", "surrogateescape"))
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
            errors.print(
                f"[red]rejected[/red] line {number}: {escape(problem.field)}: {escape(problem.reason)}",
                soft_wrap=True,
            )
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
                    job = parse_job(value)
                    _check_callback(job)
                    pending.append((number, job))
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


#: Longer than any path a file system accepts: such text is never looked up as a file.
_MAX_PATH = 4096


def _owner(owner: str, as_json: bool = False, field: str = "owner") -> dict[str, Any]:
    """The registrant of ``--owner`` (or the contact of ``field``): JSON text (its first non-space character
    ``{`` or ``[``) or a file holding it. A refusal names the field and the reason, never the text (it
    holds personal data)."""
    if owner.lstrip().startswith(("{", "[")):
        return _json_object(field, owner, as_json)
    text = _read_owner_file(owner, as_json, field)
    if text is None:  # not JSON text (an object starts with "{") and no file of that name
        _fail(
            [(None, FieldProblem(field, "expected a JSON object, or a file holding one: no such file"))],
            as_json,
        )
    return _json_object(field, text, as_json)


def _read_owner_file(owner: str, as_json: bool, field: str = "owner") -> str | None:
    """The text of the file ``owner`` names, or None when there is no such file."""
    if not owner or len(owner) > _MAX_PATH or "\0" in owner:
        return None
    path = Path(owner)
    try:
        if not path.is_file():
            return None
        data = path.read_bytes()
    except OSError as exc:
        _fail([(None, FieldProblem(field, f"cannot read the file ({_errno_name(exc)})"))], as_json)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        _fail([(None, FieldProblem(field, f"the file is not UTF-8 (byte {exc.start + 1})"))], as_json)


def _errno_name(exc: OSError) -> str:
    return errno.errorcode.get(exc.errno or 0, type(exc).__name__)


_JSON_TYPES = {
    list: "array",
    str: "string",
    int: "number",
    float: "number",
    bool: "boolean",
    type(None): "null",
}


def _json_object(field: str, text: str, as_json: bool) -> dict[str, Any]:
    """``text`` parsed as a JSON object, or exit 2 naming ``field`` and why (never echoing ``text``)."""
    reason = "expected a JSON object, or a file holding one"
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        _fail([(None, FieldProblem(field, f"{reason} (not JSON: {exc.msg} at column {exc.colno})"))], as_json)
    except (RecursionError, ValueError):  # nested too deeply; an integer past the conversion limit
        _fail([(None, FieldProblem(field, f"{reason} (JSON this parser does not accept)"))], as_json)
    if not isinstance(value, dict):
        _fail(
            [(None, FieldProblem(field, f"{reason}, not a JSON {_JSON_TYPES.get(type(value), 'value')}"))],
            as_json,
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
        "owner": _owner(owner, as_json),
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
    current_expiry: Annotated[
        str | None,
        typer.Option(
            "--current-expiry", help="the expiry YYYY-MM-DD the renewal starts from (default: inventory)"
        ),
    ] = None,
    registrar: str | None = None,
    key: Annotated[str | None, typer.Option(help="idempotency key (default renew:<domain>:<expiry>)")] = None,
    as_json: JsonFlag = False,
    old_expiry: Annotated[
        str | None, typer.Option("--expiry", hidden=True, help="deprecated: --current-expiry")
    ] = None,
) -> None:
    """Renew DOMAIN by YEARS, guarded by its current expiry (the job's field current_expiry)."""
    if old_expiry is not None:
        errors.print("--expiry is deprecated: use --current-expiry (the job's field current_expiry)")
    expiry = current_expiry if current_expiry is not None else old_expiry
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
