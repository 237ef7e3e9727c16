"""``regq domains import|list|show|sync``: the inventory of held domains, for operators.

- ``import FILE.csv``: columns ``domain,registrar,expires_at,auto_renew`` (any order, a header first);
  ``registrar`` may be empty (inferred from the TLD), ``expires_at`` may be empty (unknown until a
  sync), ``auto_renew`` is true/false/yes/no/1/0 (empty: true). Bad rows are reported by line, field and
  reason and the good ones are kept; a domain already held is updated (a re-import). Batched: one
  SELECT and one upsert per ``--batch-size`` rows.
- ``list``: keyset-paginated reads (``--page-size`` rows per query, never one huge query), streamed.
- ``sync``: one ``sync`` job per held domain (``sync:<domain>:<date>``, on the maintenance queue), each
  reading the domain at its registrar under the fleet-wide limiter and refreshing expiry and status.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal, NoReturn

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from shared.errors import FieldProblem, JobValidationError
from shared.jobs import AnyJob, parse_job
from shared.names import Registrar, parse_domain
from shared.script_policy import name_problem
from shared.store import Store
from shared.store.inventory import DomainImport, DomainRecord
from shared.store.schema import utcnow
from shared.tlds import registrar_for
from tasks.publish import submit_many
from workers import context
from workers.commands.day2 import auth_code, renewed_by
from workers.console import console, emit_json, errors

app = typer.Typer(help="The inventory of held domains: import, list, show, sync with the registrars.")
app.command("auth-code")(auth_code)  # workers/commands/day2.py

JsonFlag = Annotated[bool, typer.Option("--json", help="machine-readable output")]
COLUMNS = ("domain", "registrar", "expires_at", "auto_renew")
IMPORT_BATCH = 1000
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TRUE = {"true", "yes", "y", "1", "on", "t"}
_FALSE = {"false", "no", "n", "0", "off", "f"}
_KNOWN = ", ".join(r.value for r in Registrar)


def _progress(show: bool) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[note]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        disable=not show,
        console=errors,  # stdout carries only the answer
    )


# --- import ------------------------------------------------------------------------------------------------
def parse_row(row: dict[str, str]) -> DomainImport | list[FieldProblem]:
    """One CSV row: a DomainImport, or every problem with it (field and reason)."""
    problems: list[FieldProblem] = []
    name = None
    try:
        name = parse_domain(row["domain"])
        if not name.is_registrable:
            problems.append(
                FieldProblem(
                    "domain", f"{name.ascii} is not a registrable name; did you mean {name.registrable}?"
                )
            )
            name = None
        elif (mixed := name_problem(name.unicode)) is not None:  # UTS 39 policy (shared/script_policy.py)
            problems.append(FieldProblem("domain", mixed))
            name = None
    except ValueError as exc:
        problems.append(FieldProblem("domain", str(exc) if row["domain"].strip() else "required"))
    registrar = _registrar(row["registrar"], name, problems)
    expires_at = None
    raw_expiry = row["expires_at"].strip()
    if raw_expiry:
        try:
            if not _DATE.match(raw_expiry):
                raise ValueError
            expires_at = date.fromisoformat(raw_expiry)
        except ValueError:
            problems.append(
                FieldProblem("expires_at", f"expected a date YYYY-MM-DD, got {raw_expiry[:40]!r}")
            )
    raw_auto = row["auto_renew"].strip().lower()
    auto_renew = True
    if raw_auto in _FALSE:
        auto_renew = False
    elif raw_auto and raw_auto not in _TRUE:
        problems.append(FieldProblem("auto_renew", f"expected true or false, got {row['auto_renew'][:40]!r}"))
    if problems or name is None or registrar is None:
        return problems
    return DomainImport(name.ascii, registrar.value, expires_at, auto_renew)


def _registrar(raw: str, name: Any, problems: list[FieldProblem]) -> Registrar | None:
    given = raw.strip().lower()
    inferred: Registrar | None = None
    reason = None
    if name is not None:
        try:
            inferred = registrar_for(name)
        except ValueError as exc:
            reason = str(exc)
    if not given:
        if inferred is None and reason is not None:
            problems.append(FieldProblem("registrar", f"empty, and cannot be inferred: {reason}"))
        return inferred
    try:
        registrar = Registrar(given)
    except ValueError:
        problems.append(
            FieldProblem("registrar", f"unknown registrar {raw.strip()[:40]!r} (known: {_KNOWN})")
        )
        return None
    if reason is not None:
        problems.append(FieldProblem("registrar", reason))
        return None
    if inferred is not None and registrar is not inferred:
        problems.append(
            FieldProblem("registrar", f".{name.tld} is handled by {inferred.value}, not {registrar.value}")
        )
        return None
    return registrar


class BadHeader(ValueError):
    """The file's first line does not name the four columns (once each, nothing else)."""


def _columns(header: list[str] | None) -> list[str]:
    if header is None:
        raise BadHeader("the file is empty: expected a header " + ",".join(COLUMNS))
    names = [h.strip().lower() for h in header]
    missing = [c for c in COLUMNS if c not in names]
    unknown = [h for h in names if h not in COLUMNS]
    if missing or unknown or len(set(names)) != len(names):
        raise BadHeader(
            f"must name the columns {','.join(COLUMNS)} once each"
            + (f"; missing {', '.join(missing)}" if missing else "")
            + (f"; unknown {', '.join(unknown)}" if unknown else "")
        )
    return names


def read_rows(path: Path) -> Iterator[tuple[int, DomainImport | list[FieldProblem]]]:
    """(line number, row or problems) for every data row; blank lines are skipped. Raises BadHeader
    before any row when the header does not name the four columns."""
    # Bytes that are not UTF-8 become surrogates (reported for their row), not an error for the file.
    with path.open(encoding="utf-8-sig", errors="surrogateescape", newline="") as handle:
        reader = csv.reader(handle)
        names = _columns(next(reader, None))
        line = reader.line_num
        while True:
            try:
                values = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:  # e.g. a field past csv.field_size_limit(): this row only
                number, line = line + 1, reader.line_num
                yield number, [FieldProblem("row", f"not a CSV row this reader accepts ({exc})")]
                continue
            number, line = line + 1, reader.line_num
            if not values or all(not v.strip() for v in values):
                continue
            if not _utf8(values):
                yield number, [FieldProblem("row", "not UTF-8 text")]
                continue
            if len(values) != len(names):
                yield number, [FieldProblem("row", f"expected {len(names)} fields, got {len(values)}")]
                continue
            yield number, parse_row(dict(zip(names, values, strict=True)))


def _utf8(values: list[str]) -> bool:
    try:
        for value in values:
            value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


@app.command("import")
def import_(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV: " + ",".join(COLUMNS))],
    batch_size: Annotated[int, typer.Option(min=1, max=5000, help="rows per upsert")] = IMPORT_BATCH,
    as_json: JsonFlag = False,
) -> None:
    """Import (or re-import) the inventory from FILE.csv; bad rows are reported, good ones kept."""
    try:
        # Only the header is judged here: a row that is not UTF-8 is that row's problem (read_rows).
        with file.open(encoding="utf-8-sig", errors="surrogateescape", newline="") as handle:
            header = next(csv.reader(handle), None)
        if header is not None and not _utf8(header):
            raise BadHeader("not a UTF-8 CSV file (the header is not UTF-8 text)")
        _columns(header)
    except (BadHeader, UnicodeDecodeError, csv.Error) as exc:
        reason = str(exc) if isinstance(exc, BadHeader) else f"not a UTF-8 CSV file ({exc})"
        if as_json:
            emit_json(
                {
                    "inserted": 0,
                    "updated": 0,
                    "rejected": 0,
                    "errors": [{"line": 1, "field": "header", "reason": reason}],
                }
            )
        else:
            errors.print(f"[red]rejected[/red] line 1: header: {reason}", soft_wrap=True)
        raise typer.Exit(2) from None
    store = context.store()
    total = max(0, sum(1 for _ in file.open("rb")) - 1)
    inserted = updated = 0
    problems: list[tuple[int, FieldProblem]] = []
    seen: dict[str, int] = {}
    batch: list[DomainImport] = []

    def flush() -> None:
        nonlocal inserted, updated
        new, changed = store.inventory.import_many(batch)
        inserted, updated = inserted + new, updated + changed
        batch.clear()

    with _progress(not as_json) as progress:
        bar = progress.add_task("importing", total=total, note="")
        for number, parsed in read_rows(file):
            if isinstance(parsed, list):
                problems.extend((number, p) for p in parsed)
            elif parsed.domain in seen:
                first = seen[parsed.domain]
                problems.append((number, FieldProblem("domain", f"repeats line {first} (that row is kept)")))
            else:
                seen[parsed.domain] = number
                batch.append(parsed)
                if len(batch) >= batch_size:
                    flush()
            progress.update(bar, completed=number - 1, note=f"{len({n for n, _ in problems})} rejected")
        flush()
        progress.update(bar, completed=total)
    rejected = len({n for n, _ in problems})
    listed = [{"line": n, "field": p.field, "reason": p.reason} for n, p in problems]
    if as_json:
        emit_json({"inserted": inserted, "updated": updated, "rejected": rejected, "errors": listed})
    else:
        console.print(
            f"imported {inserted + updated} domains ({inserted} new, {updated} updated), {rejected} rejected"
        )
        for number, problem in problems:
            errors.print(
                f"[red]rejected[/red] line {number}: {problem.field}: {problem.reason}", soft_wrap=True
            )
    if problems:
        raise typer.Exit(1)


# --- list / show -------------------------------------------------------------------------------------------
_WIDTHS = {"domain": 26, "registrar": 9, "expires_at": 10, "days": 5, "auto": 4, "status": 14}


def _page_table(records: list[DomainRecord], today: date, header: bool) -> Table:
    """One page as a table of fixed column widths (pages printed one under the other line up; 80
    columns fit): header on the first page only."""
    grid = Table(show_header=header, box=None, pad_edge=False, padding=(0, 2, 0, 0))
    for column, width in _WIDTHS.items():
        justify: Literal["left", "right"] = "right" if column == "days" else "left"
        grid.add_column(column, min_width=width, justify=justify, overflow="fold")
    for r in records:
        row = r.to_dict(today)
        grid.add_row(
            r.domain,
            r.registrar,
            str(row["expires_at"] or ""),
            "" if row["days_left"] is None else str(row["days_left"]),
            "yes" if r.auto_renew else "no",
            r.status,
        )
    return grid


@app.command("list")
def list_(
    expiring_within: Annotated[
        int | None, typer.Option("--expiring-within", min=0, help="only those expiring within DAYS (or past)")
    ] = None,
    registrar: Annotated[Registrar | None, typer.Option(help="only this registrar's")] = None,
    limit: Annotated[int, typer.Option(min=0, help="at most this many (0: all)")] = 0,
    page_size: Annotated[int, typer.Option(min=1, max=10_000, help="rows per query")] = 500,
    as_json: JsonFlag = False,
) -> None:
    """List held domains by name, or by expiry with --expiring-within; read page by page."""
    store = context.store()
    today = utcnow().date()
    before = today + timedelta(days=expiring_within) if expiring_within is not None else None
    shown = 0
    if as_json:
        print("[", end="")
    for page in store.inventory.pages(
        page_size, registrar=registrar.value if registrar else None, expiring_before=before
    ):
        if limit:
            page = page[: limit - shown]
        if as_json:
            for record in page:
                print(("," if shown else "") + "\n  " + json.dumps(record.to_dict(today)), end="")
                shown += 1
        else:
            console.print(_page_table(page, today, header=shown == 0))
            shown += len(page)
        if limit and shown >= limit:
            break
    if as_json:
        print("\n]" if shown else "]")
    elif not shown:
        console.print("no domains")


@app.command("show")
def show(domain: str, as_json: JsonFlag = False) -> None:
    """Show one held domain: registrar, expiry (days left), auto-renew, status, last change, and which
    side renews it (regq's renewal scan, the registrar's own auto-renew)."""
    try:
        name = parse_domain(domain).ascii
    except ValueError as exc:
        _missing(f"{domain!r}: {exc}", as_json, code=2)
    record = context.store().inventory.get(name)
    if record is None:
        _missing(f"{name} is not in the inventory", as_json, code=1)
    data = {
        **record.to_dict(),
        "registrar_autorenew": record.registrar_autorenew,
        "renewed_by": renewed_by(record),
    }
    if as_json:
        emit_json(data)
        return
    grid = Table(title=f"domain {name}")
    grid.add_column("field")
    grid.add_column("value")
    for field, value in data.items():
        grid.add_row(field, "" if value is None else str(value))
    console.print(grid)


def _missing(message: str, as_json: bool, code: int) -> NoReturn:
    if as_json:
        emit_json({"error": message})
    else:
        errors.print(f"[red]{message}[/red]")
    raise typer.Exit(code)


# --- sync --------------------------------------------------------------------------------------------------
def queue_syncs(
    store: Store,
    producer: Any,
    registrar: str | None = None,
    batch_size: int = 500,
    show_progress: bool = False,
) -> dict[str, Any]:
    """One ``sync`` job per held domain (of ``registrar``), submitted page by page through
    :func:`tasks.publish.submit_many`. Counts: scanned, submitted (new), already queued (today's sync of
    that domain exists), refused (with the domain and reason)."""
    counts: dict[str, Any] = {"scanned": 0, "submitted": 0, "already_queued": 0, "refused": []}
    with _progress(show_progress) as progress:
        bar = progress.add_task("queueing syncs", total=store.inventory.count(registrar), note="")
        for page in store.inventory.pages(batch_size, registrar=registrar):
            jobs: list[AnyJob] = []
            for record in page:
                try:
                    jobs.append(
                        parse_job({"kind": "sync", "domain": record.domain, "registrar": record.registrar})
                    )
                except JobValidationError as exc:
                    counts["refused"].append({"domain": record.domain, "reason": str(exc)})
            for answer in submit_many(jobs, store=store, app=producer, batch_size=batch_size):
                if answer.outcome is None:
                    counts["refused"].append({"domain": answer.key, "reason": str(answer.error)})
                elif answer.outcome.duplicate:
                    counts["already_queued"] += 1
                else:
                    counts["submitted"] += 1
            counts["scanned"] += len(page)
            progress.update(bar, completed=counts["scanned"], note=f"{counts['submitted']} new")
    return counts


@app.command("sync")
def sync(
    registrar: Annotated[Registrar | None, typer.Option(help="only this registrar's domains")] = None,
    batch_size: Annotated[
        int, typer.Option(min=1, max=2000, help="jobs per INSERT and broker connection")
    ] = 500,
    as_json: JsonFlag = False,
) -> None:
    """Refresh expiry and status of every held domain from its registrar: one ``sync`` job per domain on
    the maintenance queue (one a day per domain), paced by the registrar's fleet-wide limiter."""
    counts = queue_syncs(
        context.store(),
        context.producer(),
        registrar.value if registrar else None,
        batch_size=batch_size,
        show_progress=not as_json,
    )
    if as_json:
        emit_json(counts)
        return
    console.print(
        f"scanned {counts['scanned']}: {counts['submitted']} sync jobs queued, "
        f"{counts['already_queued']} already queued today, {len(counts['refused'])} refused"
    )
    for refused in counts["refused"]:
        errors.print(f"[red]refused[/red] {refused['domain']}: {refused['reason']}", soft_wrap=True)
