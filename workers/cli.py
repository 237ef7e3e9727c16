"""The ``regq`` command line: submit and inspect jobs, operate limits and breakers, run the stack."""

from __future__ import annotations

import errno
import json
import logging
import sys
from typing import Any

import typer
import typer.main
from rich.markup import escape

from shared.errors import ConfigError
from workers.commands.lazy import Lazy, LazyGroup
from workers.console import errors


def limits_app() -> typer.Typer:
    """``regq limits`` over this process's shared limiter."""
    from workers.commands import limits

    return limits.build_app(lambda: _runtime().limiter)


def breaker_app() -> typer.Typer:
    """``regq breaker`` over this process's shared breaker, for the known registrars."""
    from shared.names import Registrar
    from workers.commands import breaker

    return breaker.build_app(lambda: _runtime().breaker, lambda: [r.value for r in Registrar])


def _runtime() -> Any:
    from tasks import runtime

    return runtime.get()


class RegqGroup(LazyGroup):
    """``regq``'s commands, each imported when it runs (``workers/commands/lazy.py`` says how): ``regq
    --help`` imports none of them, ``regq status KEY`` only ``workers.commands.jobs``."""

    lazy = {
        "jobs": Lazy("workers.commands.jobs:jobs", "List the newest jobs."),
        "status": Lazy("workers.commands.jobs:status", "Show one job's outcome."),
        "lookup": Lazy(
            "workers.commands.lookup:lookup",
            "Look DOMAIN up: registrar, dates, statuses, nameservers, their addresses and who holds those.",
        ),
        "demo": Lazy(
            "workers.commands.stack:demo",
            "Start the embedded stack, publish a mixed batch, wait for every job, print a summary, stop.",
        ),
        "up": Lazy("workers.commands.stack:up", "Run the embedded stack until Ctrl-C."),
        "stack": Lazy(
            "workers.commands.stack_env:app",
            "The running embedded stack: print its settings as export lines to eval.",
            group=True,
        ),
        "exporter": Lazy(
            "workers.commands.exporter:exporter",
            "Serve the fleet's metrics (jobs, queues, breakers, limiter, upstream calls, renewals)"
            " at /metrics.",
        ),
        "replay": Lazy(
            "workers.commands.replay:replay",
            "Reset a failed job to queued and republish it under the same key"
            " (the effect stays exactly-once).",
        ),
        "replays": Lazy("workers.commands.replay:replays", "List recorded replays, newest first."),
        "api": Lazy(
            "workers.api.commands:api",
            "Serve the HTTP API (POST /v1/jobs, GET /v1/jobs/{key}, ...; /openapi.json describes it).",
        ),
        "submit": Lazy(
            "workers.commands.submit_day2:app",  # submit's app, with the day-2 commands
            "Submit jobs (validated here, before anything reaches a broker or a registrar).",
            group=True,
        ),
        "domains": Lazy(
            "workers.commands.domains:app",
            "The inventory of held domains: import, list, show, sync with the registrars.",
            group=True,
        ),
        "renewals": Lazy(
            "workers.commands.renewals:app",
            "Nightly renewals: run the scan now, see renewals that failed for good.",
            group=True,
        ),
        "transfers": Lazy(
            "workers.commands.transfers:app",
            "Transfer-ins under way: list them, resend the FOA e-mail, replace the auth code.",
            group=True,
        ),
        "api-token": Lazy(
            "workers.api.commands:tokens_app",
            "HTTP API tokens: create (shown once), list, revoke, rotate-secret.",
            group=True,
        ),
        "webhooks": Lazy(
            "workers.commands.webhooks:app",
            "Completion webhooks: list the outbox, replay deliveries.",
            group=True,
        ),
        "limits": Lazy(
            "workers.cli:limits_app", "Shared rate-limit buckets and active block windows.", group=True
        ),
        "breaker": Lazy("workers.cli:breaker_app", "Shared circuit breakers per registrar.", group=True),
    }


app = typer.Typer(
    cls=RegqGroup,
    help="regq: register, renew and look up domain names through registrar APIs.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

db_app = typer.Typer(help="Database migrations.")
app.add_typer(db_app, name="db")


def job_schema() -> dict[str, Any]:
    from shared.jobs import job_schema as schema_of_jobs

    return schema_of_jobs()


@app.command()
def schema() -> None:
    """Print the JSON Schema of job messages."""
    print(json.dumps(job_schema(), indent=2))


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply every migration to REGQ_DATABASE_URL."""
    from workers import context

    store = context.store()
    store.upgrade()
    typer.echo(f"database at revision {store.db.current_revision()}")


def main() -> None:
    """The ``regq`` entry point, and the one error handler of every command: a bad setting is one line
    naming the variable, exit 2; any other exception a command lets out is one line naming the command and
    the exception's type, exit 1. No traceback and no exception text (it may carry personal data: a
    contact, a token) reaches the terminal or a log."""
    logging.lastResort = _QuietHandler()  # an unconfigured logger's records: the message, no traceback
    try:
        app()
    except ConfigError as exc:
        errors.print(f"[red]configuration error[/red] {escape(str(exc))}", soft_wrap=True)
        raise SystemExit(2) from None
    except Exception as exc:  # noqa: BLE001 (the last resort: what no command turned into a message)
        errors.print(f"[red]error[/red] {escape(failure_line(sys.argv[1:], exc))}", soft_wrap=True)
        raise SystemExit(1) from None


def failure_line(argv: list[str], exc: BaseException) -> str:
    """``regq submit register failed: OSError [ENAMETOOLONG] (details withheld: ...)``: the command (its
    names only, found by walking the command tree, never an argument's value) and the exception's type."""
    kind = type(exc).__name__
    if isinstance(exc, OSError) and exc.errno is not None and exc.errno in errno.errorcode:
        kind += f" [{errno.errorcode[exc.errno]}]"
    return f"{command_path(argv)} failed: {kind} (details withheld: they may hold personal data)"


def command_path(argv: list[str]) -> str:
    """The names of the (sub)commands ``argv`` invokes: ``regq submit register``, not its arguments."""
    names = ["regq"]
    command: Any = typer.main.get_command(app)
    for arg in argv:
        if not hasattr(command, "get_command"):  # a command, not a group (typer vendors its own click)
            break
        command = command.get_command(typer.Context(command), arg)  # a lazy group imports it here
        if command is None:
            break
        names.append(arg)
    return " ".join(names)


class _QuietHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """``logging.lastResort`` without tracebacks: WARNING and above as one line on stderr."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)
        self.setLevel(logging.WARNING)
        self.setFormatter(_NoTracebackFormatter("%(levelname)s %(name)s: %(message)s"))


class _NoTracebackFormatter(logging.Formatter):
    def formatException(self, ei: Any) -> str:
        return ""

    def formatStack(self, stack_info: str) -> str:
        return ""

    def format(self, record: logging.LogRecord) -> str:
        record.exc_text = None
        return super().format(record).rstrip()
