"""A command group whose subcommands are imported when they run, not when ``regq`` starts.

Click documents the pattern ("Lazily Loading Subcommands",
https://click.palletsprojects.com/en/stable/complex/#lazily-loading-subcommands): a ``Group`` subclass
whose ``list_commands`` names every subcommand and whose ``get_command`` imports the one asked for. This
is that pattern on typer's group (typer vendors its own click), with one addition: the group's own
``--help`` lists each lazy subcommand with the one-line help written beside its name here, so
``regq --help`` imports no command module at all. Running ``regq status KEY`` imports
``workers.commands.jobs`` and what it imports, nothing else; ``regq submit ...`` imports the submit
commands only.

A lazy entry names ``module:attribute``: a function (made a command with typer, exactly as
``app.command(name)(function)`` would) or a ``typer.Typer`` (a sub-app, as ``app.add_typer``), or a
function without parameters that returns a ``typer.Typer`` (a sub-app built on demand).
``tests/test_cli_start.py`` checks that each entry's help line is the loaded command's.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from difflib import get_close_matches
from typing import Any, ClassVar

import typer
import typer.main
from typer._click.exceptions import UsageError  # typer vendors click: its UsageError
from typer.core import TyperCommand, TyperGroup


@dataclass(frozen=True)
class Lazy:
    """``target`` (``module:attribute``) loads the command; ``help`` is its line in the group's help;
    ``group`` says the target is (or builds) a ``typer.Typer`` sub-app rather than a command function."""

    target: str
    help: str
    group: bool = False

    def load(self, name: str) -> Any:
        module, _, attribute = self.target.partition(":")
        obj = getattr(importlib.import_module(module), attribute)
        if self.group:
            sub = obj if isinstance(obj, typer.Typer) else obj()
            command: Any = typer.main.get_group(sub)  # a group even when the sub-app has one command
        else:
            single = typer.Typer()
            single.command(name)(obj)
            command = typer.main.get_command(single)  # one command, no callback: the command itself
        command.name = name
        return command


class LazyGroup(TyperGroup):
    """A typer group with lazily imported subcommands: subclass it and fill ``lazy``."""

    lazy: ClassVar[dict[str, Lazy]] = {}
    _listing = False  # True while the group formats its own help: unloaded entries show as placeholders

    def list_commands(self, ctx: Any) -> list[str]:
        eager = super().list_commands(ctx)
        return [*[name for name in self.lazy if name not in eager], *eager]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        entry = self.lazy.get(cmd_name)
        if entry is not None and cmd_name not in self.commands:
            if self._listing:
                return TyperCommand(cmd_name, help=entry.help)
            self.commands[cmd_name] = entry.load(cmd_name)
        return self.commands.get(cmd_name)

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        try:
            return super().resolve_command(ctx, args)
        except UsageError as error:  # typer suggests from the loaded commands only: the lazy ones too
            matches = get_close_matches(args[0], self.list_commands(ctx)) if args else []
            if self.suggest_commands and matches and "Did you mean" not in error.message:
                suggestions = ", ".join(repr(m) for m in matches)
                error.message = f"{error.message.rstrip('.')}. Did you mean {suggestions}?"
            raise

    def format_help(self, ctx: Any, formatter: Any) -> None:
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False
