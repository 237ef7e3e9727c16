"""``regq stack env``: the running embedded stack's settings as ``export`` lines, for ``eval``.

``make up`` writes ``var/stack.env`` (``workers/embedded/stack_file.py``) and every ``regq`` run from the
same directory reads it anyway (:func:`shared.settings.stack_file`); this command is for the other cases:
another directory (``--file``), or a program that only reads its environment (``celery``, a script)::

    eval "$(.venv/bin/regq stack env)"
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Annotated

import typer

from shared.settings import ENV_PREFIX, STACK_PID_VARIABLE, stack_file
from workers.console import errors

app = typer.Typer(help="The running embedded stack: print its settings as export lines to eval.")


@app.command("env")
def env(
    file: Annotated[
        Path | None,
        typer.Option("--file", help="the stack's file (default: REGQ_STACK_FILE, else var/stack.env here)"),
    ] = None,
) -> None:
    """Print export lines for the running stack's settings: eval "$(regq stack env)"."""
    from dotenv import dotenv_values  # pydantic-settings reads the same file with it

    path = stack_file(file)
    if path is None:
        where = file or "var/stack.env (or REGQ_STACK_FILE)"
        errors.print(f"[red]no running stack[/red] at {where}: start one with `make up`", soft_wrap=True)
        raise typer.Exit(1)
    for key, value in dotenv_values(path).items():
        if key.startswith(ENV_PREFIX) and key != STACK_PID_VARIABLE and value is not None:
            print(f"export {key}={shlex.quote(value)}")
