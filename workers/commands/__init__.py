"""CLI sub-apps. Each module exposes ``build_app(...)`` and ``register(parent, ...)``; the main CLI wires
them with the factories for the shared limiter and breaker."""

from __future__ import annotations

from typing import Any

from typer.core import TyperGroup


class DefaultCommandGroup(TyperGroup):
    """A group that runs its ``show`` command when invoked bare or with something that is not a
    subcommand: ``regq breaker``, ``regq breaker gandi --json`` and ``regq breaker show gandi`` are the
    same command; ``regq breaker reset gandi`` is the subcommand. (A name equal to a subcommand must be
    given as ``show NAME``.)"""

    default_command = "show"

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:  # click's Context (typer vendors it)
        if not args or (args[0] not in self.commands and args[0] not in ctx.help_option_names):
            args = [self.default_command, *args]
        return super().parse_args(ctx, args)
