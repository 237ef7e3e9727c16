"""``regq replay KEY``, ``regq replay --status failed --since DATE [--kind K]`` and ``regq replays``.

A replay resets a failed job to ``queued`` under the same key and republishes it; its recorded phase is
kept, so a send that went unanswered is reconciled first and the effect stays exactly-once
(:mod:`shared.store.replays`). Each replay is a ``replays`` row, listed by ``regq replays``.
Exit codes: 0 replayed (or nothing to replay), 1 refused or no such job, 2 bad usage.
"""

from __future__ import annotations

import getpass
from datetime import UTC, datetime, time
from typing import Annotated, Any

import kombu.exceptions
import typer
from rich.markup import escape

from shared.errors import JobNotFound
from shared.jobs import JobKind, JobStatus
from shared.store.jobs import JobRecord
from shared.store.replays import ReplayRecord, ReplayRefused
from shared.timestamps import rfc3339, rfc3339_or_none
from tasks.publish import publish_record
from workers import context
from workers.console import emit_json, errors, table

JsonFlag = Annotated[bool, typer.Option("--json", help="machine-readable output")]


def _operator() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name in a bare container
        return "unknown"


def parse_since(text: str) -> datetime:
    """An ISO date (midnight UTC) or date-time (UTC unless it names an offset)."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not an ISO date (2026-12-01) or date-time") from None
    if len(text) <= 10:
        moment = datetime.combine(moment.date(), time(), UTC)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _publish(record: JobRecord) -> bool:
    """Publish the replayed job; False when the broker could not be reached (the sweep will)."""
    try:
        publish_record(context.producer(), record)
    except kombu.exceptions.OperationalError as exc:
        errors.print(f"[yellow]{record.key}: publish failed ({exc}); the sweep republishes it[/yellow]")
        return False
    context.store().jobs.mark_published(record.key)
    return True


def _row(record: JobRecord, replay: ReplayRecord, published: bool) -> dict[str, Any]:
    return {
        "key": record.key,
        "kind": record.kind,
        "domain": record.domain,
        "status": record.status.value,
        "previous_error": replay.error_code,
        "previous_attempts": replay.attempts,
        "phase": record.phase,
        "published": published,
        "replay_id": replay.id,
    }


def _show(rows: list[dict[str, Any]], as_json: bool, title: str) -> None:
    if as_json:
        emit_json(rows)
        return
    columns = ["key", "kind", "domain", "status", "previous_error", "phase", "published"]
    table(title, columns, [[row.get(c) for c in columns] for row in rows])


def replay(
    key: Annotated[str | None, typer.Argument(help="the failed job's key")] = None,
    status: Annotated[str | None, typer.Option(help="replay every job in this status (only: failed)")] = None,
    since: Annotated[str | None, typer.Option(help="with --status: failed at or after this date")] = None,
    kind: Annotated[JobKind | None, typer.Option(help="with --status: only this kind")] = None,
    reason: Annotated[str | None, typer.Option(help="why (recorded with the replay)")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="list what would be replayed")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Reset a failed job to queued and republish it under the same key (the effect stays exactly-once)."""
    if (key is None) == (status is None):
        errors.print("give a KEY, or --status failed --since DATE [--kind K]")
        raise typer.Exit(2)
    if key is not None:
        if since is not None or kind is not None:
            errors.print("--since and --kind go with --status, not with a KEY")
            raise typer.Exit(2)
        _replay_one(key, reason, dry_run, as_json)
        return
    if status != JobStatus.FAILED.value:
        errors.print(f"only failed jobs can be replayed, not {status!r}: use --status failed")
        raise typer.Exit(2)
    if since is None:
        errors.print("--status failed needs --since DATE (which failures to replay)")
        raise typer.Exit(2)
    _replay_many(parse_since(since), kind, reason, dry_run, as_json)


def _replay_one(key: str, reason: str | None, dry_run: bool, as_json: bool) -> None:
    store = context.store()
    try:
        if dry_run:
            record = store.jobs.require(key)
            if record.status is not JobStatus.FAILED:
                raise ReplayRefused(key, record.status)
            _show([_candidate(record)], as_json, "would replay")
            return
        record, replay_row = store.replays.replay(key, _operator(), reason)
    except (JobNotFound, ReplayRefused) as exc:
        message = f"no job with key {key!r}" if isinstance(exc, JobNotFound) else str(exc)
        if as_json:
            emit_json({"error": message})
        else:
            errors.print(f"[red]{escape(message)}[/red]", soft_wrap=True)
        raise typer.Exit(1) from None
    _show([_row(record, replay_row, _publish(record))], as_json, "replayed")


def _candidate(record: JobRecord) -> dict[str, Any]:
    return {
        "key": record.key,
        "kind": record.kind,
        "domain": record.domain,
        "status": record.status.value,
        "previous_error": record.error_code,
        "phase": record.phase,
        "published": False,
    }


def _replay_many(
    since: datetime, kind: JobKind | None, reason: str | None, dry_run: bool, as_json: bool
) -> None:
    store = context.store()
    candidates = store.replays.failed(since, kind.value if kind else None)
    rows: list[dict[str, Any]] = []
    skipped = 0
    for candidate in candidates:
        if dry_run:
            rows.append(_candidate(candidate))
            continue
        try:
            record, replay_row = store.replays.replay(candidate.key, _operator(), reason)
        except (JobNotFound, ReplayRefused):  # replayed, purged or finished meanwhile
            skipped += 1
            continue
        rows.append(_row(record, replay_row, _publish(record)))
    if not rows and not as_json:
        errors.print(f"no failed jobs since {since.isoformat()}" + (f" of kind {kind.value}" if kind else ""))
        return
    _show(rows, as_json, "would replay" if dry_run else f"replayed {len(rows)}, skipped {skipped}")


def replays(
    key: Annotated[str | None, typer.Argument(help="only this job's replays")] = None,
    limit: int = 50,
    as_json: JsonFlag = False,
) -> None:
    """List recorded replays, newest first."""
    records = context.store().replays.history(key, limit=limit)
    rows = [
        {
            "id": r.id,
            "key": r.job_key,
            "kind": r.kind,
            "domain": r.domain,
            "previous_status": r.previous_status,
            "previous_error": r.error_code,
            "previous_attempts": r.attempts,
            "phase": r.phase,
            "failed_at": rfc3339_or_none(r.failed_at),
            "replayed_by": r.replayed_by,
            "reason": r.reason,
            "replayed_at": rfc3339(r.created_at),
        }
        for r in records
    ]
    if as_json:
        emit_json(rows)
        return
    columns = ["replayed_at", "key", "previous_error", "previous_attempts", "phase", "replayed_by", "reason"]
    table("replays", columns, [[row[c] for c in columns] for row in rows])
