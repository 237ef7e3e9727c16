"""``regq transfers list|resend-foa|replace-code``: operating the transfer-ins under way (issue 20).

``list [--json]``: transfer and owner-change jobs not final, oldest first, with their kind, age and why
they wait.
``resend-foa DOMAIN``: the registrar sends the confirmation (FOA) e-mail again.
``replace-code DOMAIN --auth-code-file F | --auth-code -``: a new auth code for the running transfer; the
code is read from the file or stdin (never argv: ``ps`` shows it) and never printed back.

Both actions are one synchronous registrar call (:mod:`shared.execution.transfer_admin`), not jobs.
Exit codes: 0 done; 1 the registrar refused or does not offer it (ROTLD); 2 bad input; 3 try later (the
registrar's breaker is open, or our limiter says wait).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from shared.execution.follow import age_text
from shared.execution.transfer_admin import (
    TransferAction,
    pending_transfers,
    replace_auth_code,
    resend_confirmation,
)
from shared.gateways.day2 import Secret
from shared.jobs import JobKind
from workers import context
from workers.commands.day2 import fail, on_registrar
from workers.commands.submit_day2 import _AUTH_CODE_HELP, _auth_code
from workers.console import emit_json, errors, table

JsonFlag = Annotated[bool, typer.Option("--json", help="machine-readable output")]

app = typer.Typer(help="Transfer-ins under way: list them, resend the FOA e-mail, replace the auth code.")


@app.command("list")
def list_transfers(as_json: JsonFlag = False) -> None:
    """Transfer and owner-change jobs not final yet, oldest first: status, why they wait, age."""
    rows = pending_transfers(context.store(), kinds=(JobKind.TRANSFER, JobKind.OWNER_CHANGE))
    if as_json:
        emit_json([row.to_dict() for row in rows])
        return
    if not rows:
        errors.print("no transfer under way")
        return
    table(
        f"transfers under way ({len(rows)})",
        ["key", "kind", "domain", "registrar", "status", "waiting for", "age"],
        [
            (r.key, r.kind, r.domain, r.registrar, r.status, r.wait_reason, age_text(r.age_seconds))
            for r in rows
        ],
    )


def _act(
    domain: str, as_json: bool, action: str, call: Callable[[Any, str], TransferAction], secret: bool = False
) -> TransferAction:
    """Run ``call(runtime, name)`` (:func:`~workers.commands.day2.on_registrar`; ``secret``: the request
    held a code, so a refusal is named by its type only, never its text)."""
    return on_registrar(
        domain, as_json, call, lambda exc: f"{action} refused: {type(exc).__name__ if secret else exc}"
    )


def _report(done: TransferAction, what: str, as_json: bool) -> None:
    job = done.job
    if as_json:
        emit_json(
            {
                "domain": done.domain,
                "registrar": done.registrar,
                "done": what,
                "job": job.key if job is not None else None,
                "job_status": job.status.value if job is not None else None,
            }
        )
        return
    errors.print(f"{done.domain} at {done.registrar}: {what}", soft_wrap=True, highlight=False)
    if not done.followed:
        errors.print(
            f"[yellow]note[/yellow] no transfer job under way follows {escape(done.domain)} in regq",
            soft_wrap=True,
        )


@app.command("resend-foa")
def resend_foa(domain: str, as_json: JsonFlag = False) -> None:
    """Ask the registrar to send DOMAIN's transfer confirmation (FOA) e-mail again."""
    done = _act(domain, as_json, "FOA resend", resend_confirmation)
    _report(done, "confirmation e-mail sent again", as_json)


@app.command("replace-code")
def replace_code(
    domain: str,
    auth_code_file: Annotated[
        Path | None, typer.Option("--auth-code-file", help="a file holding the new auth code (one line)")
    ] = None,
    auth_code: Annotated[str | None, typer.Option("--auth-code", help=_AUTH_CODE_HELP)] = None,
    as_json: JsonFlag = False,
) -> None:
    """Give the registrar a new auth code for DOMAIN's running transfer (read from a file or stdin)."""
    code = Secret(_auth_code(auth_code_file, auth_code, as_json))
    if not code.reveal():
        raise fail("auth_code: must not be empty", as_json, 2)
    done = _act(
        domain,
        as_json,
        "auth-code replacement",
        lambda rt, name: replace_auth_code(rt, name, code),
        secret=True,
    )
    _report(done, "auth code replaced (not shown)", as_json)
