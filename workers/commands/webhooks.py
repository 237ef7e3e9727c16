"""``regq webhooks list [--status S] [--job KEY] [--json]`` and ``regq webhooks replay ID | --job KEY``.

A listing names each delivery's target by scheme, host and port only: a callback's path or query may
carry the receiver's own secret. A replay makes a delivery (or every delivery of a job) due now with a
fresh retry horizon, whatever became of it (delivered, dead, pending); the next sweep, or the message
sent here, delivers it. Exit codes: 0 done, 1 nothing to replay.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any
from urllib.parse import urlsplit

import kombu.exceptions
import typer

from shared.store.webhooks import Delivery, DeliveryStatus
from shared.timestamps import rfc3339_or_none
from workers import context
from workers.console import emit_json, errors, table

app = typer.Typer(help="Completion webhooks: list the outbox, replay deliveries.", no_args_is_help=True)
JsonFlag = Annotated[bool, typer.Option("--json", help="machine-readable output")]


def target(url: str) -> str:
    """``scheme://host[:port]`` of a callback: never its path or query."""
    try:
        parts = urlsplit(url)
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "<unparsable URL>"
    return f"{parts.scheme}://{parts.hostname or ''}{port}"


def _row(delivery: Delivery) -> dict[str, Any]:
    def when(moment: Any) -> str | None:
        return rfc3339_or_none(moment)

    return {
        "id": delivery.id,
        "event_id": delivery.event_id,
        "job_key": delivery.job_key,
        "event": delivery.event,
        "target": target(delivery.url),
        "token": delivery.token_name,
        "status": delivery.status.value,
        "attempts": delivery.attempts,
        "last_status_code": delivery.last_status_code,
        "last_error": delivery.last_error,
        "next_attempt_at": when(delivery.next_attempt_at),
        "created_at": when(delivery.created_at),
        "delivered_at": when(delivery.delivered_at),
    }


@app.command("list")
def list_deliveries(
    status: Annotated[DeliveryStatus | None, typer.Option(help="only this status")] = None,
    job: Annotated[str | None, typer.Option("--job", help="only this job's deliveries")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 100,
    as_json: JsonFlag = False,
) -> None:
    """The newest deliveries: event, target, status, attempts, last answer."""
    rows = [_row(d) for d in context.store().webhooks.recent(status=status, job_key=job, limit=limit)]
    if as_json:
        emit_json(rows)
        return
    table(
        "Completion webhooks",
        ["id", "job", "event", "target", "status", "attempts", "last answer", "next attempt"],
        [
            (
                r["id"],
                r["job_key"],
                r["event"],
                r["target"],
                r["status"],
                r["attempts"],
                r["last_error"] or r["last_status_code"],
                r["next_attempt_at"],
            )
            for r in rows
        ],
    )


@app.command("replay")
def replay(
    delivery_id: Annotated[int | None, typer.Argument(help="the delivery's id (regq webhooks list)")] = None,
    job: Annotated[str | None, typer.Option("--job", help="every delivery of this job key")] = None,
) -> None:
    """Deliver again: due now, retried for another REGQ_WEBHOOK_RETRY_HORIZON_SECONDS."""
    if (delivery_id is None) == (job is None):
        errors.print("[red]give a delivery ID or --job KEY (one of them)[/red]")
        raise typer.Exit(2)
    settings = context.settings()
    horizon = timedelta(seconds=settings.webhook_retry_horizon_seconds)
    replayed = context.store().webhooks.replay(horizon, delivery_id=delivery_id, job_key=job)
    if not replayed:
        errors.print("[red]nothing to replay[/red] (no such delivery, or it is being sent right now)")
        raise typer.Exit(1)
    try:
        producer = context.producer()
        for replayed_id in replayed:
            producer.send_task("regq.webhook_deliver", kwargs={"delivery_id": replayed_id})
    except kombu.exceptions.OperationalError:
        errors.print("[yellow]broker unreachable: the next webhook sweep delivers them[/yellow]")
    errors.print(f"replayed {len(replayed)} deliveries: {', '.join(str(i) for i in replayed)}")
