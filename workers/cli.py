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
from shared.jobs import job_schema
from shared.names import Registrar
from workers import context
from workers.api import commands as api_commands
from workers.commands import breaker as breaker_commands
from workers.commands import domains as domains_commands
from workers.commands import exporter as exporter_commands
from workers.commands import jobs as jobs_commands
from workers.commands import limits as limits_commands
from workers.commands import lookup as lookup_commands
from workers.commands import renewals as renewals_commands
from workers.commands import replay as replay_commands
from workers.commands import stack as stack_commands
from workers.commands import transfers as transfers_commands
from workers.commands import webhooks as webhooks_commands
from workers.commands.submit_day2 import app as submit_app  # submit's app, with the day-2 commands
from workers.console import errors

app = typer.Typer(
    help="regq: register, renew and look up domain names through registrar APIs.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(submit_app, name="submit")
app.add_typer(domains_commands.app, name="domains")
app.add_typer(renewals_commands.app, name="renewals")
app.add_typer(transfers_commands.app, name="transfers")
app.command("jobs")(jobs_commands.jobs)
app.command("status")(jobs_commands.status)
app.command("lookup")(lookup_commands.lookup)
app.command("demo")(stack_commands.demo)
app.command("up")(stack_commands.up)
app.command("exporter")(exporter_commands.exporter)
app.command("replay")(replay_commands.replay)
app.command("replays")(replay_commands.replays)
app.command("api")(api_commands.api)
app.add_typer(api_commands.tokens_app, name="api-token")
app.add_typer(webhooks_commands.app, name="webhooks")

limits_commands.register(app, lambda: _runtime().limiter)
breaker_commands.register(app, lambda: _runtime().breaker, lambda: [r.value for r in Registrar])


def _runtime():
    from tasks import runtime

    return runtime.get()


db_app = typer.Typer(help="Database migrations.")
app.add_typer(db_app, name="db")


@app.command()
def schema() -> None:
    """Print the JSON Schema of job messages."""
    print(json.dumps(job_schema(), indent=2))


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply every migration to REGQ_DATABASE_URL."""
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
        subcommands = getattr(command, "commands", None)  # a group's (typer vendors its own click)
        command = subcommands.get(arg) if isinstance(subcommands, dict) else None
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
