"""The running stack's settings file: how a second terminal's ``regq`` finds ``make up``.

Flow: :class:`~workers.embedded.stack.Stack` calls :func:`write` once everything answers, with the
environment its children got, and :func:`remove` when it stops. The file is ``<var dir>/stack.env``
(``var/stack.env`` for ``make up``, beside the stack's SQLite file and logs): one stack per var dir, so
stacks in other var dirs (tests, benchmarks) never meet. It holds every ``REGQ_*`` setting the children
run with (Redis URL and prefix, broker, database URL, the sandbox upstreams' URLs and their sandbox
credentials) plus the URLs of the API, Flower and the exporter, and ``REGQ_STACK_PID``, the process that
wrote it. It never holds the stack's API token or Flower password: those are printed once by ``make up``
(and the CLI can make a token of its own: ``regq api-token create``). Mode 0600: a Redis URL may carry a
password.

Readers: :func:`shared.settings.stack_file` (every ``regq`` run in that directory, below the environment;
a file whose writer is gone is ignored) and ``regq stack env`` (``export`` lines to ``eval``). The format
is dotenv (https://github.com/theskumar/python-dotenv#file-format), values in single quotes (literal);
a value with a single quote or a line break cannot be written so and is left out (said in a comment).
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from pathlib import Path

from shared.settings import ENV_PREFIX, STACK_FILE_VARIABLE, STACK_PID_VARIABLE

NAME = "stack.env"


def path_in(var_dir: Path) -> Path:
    return var_dir / NAME


def render(env: Mapping[str, str], urls: Mapping[str, str | None], pid: int) -> str:
    """The file's text: the ``REGQ_*`` part of ``env``, then ``urls`` (``REGQ_API_URL``, ...)."""
    lines = [
        f"# regq: the embedded stack run by process {pid}, started {time.strftime('%Y-%m-%dT%H:%M:%S%z')}.",
        "# `regq` run in this directory's parent reads it below the environment, and",
        '# `eval "$(regq stack env)"` exports it. Removed when the stack stops',
        "# (workers/embedded/stack_file.py says more).",
        f"{STACK_PID_VARIABLE}='{pid}'",
    ]
    values = {k: v for k, v in sorted(env.items()) if k.startswith(ENV_PREFIX) and k != STACK_FILE_VARIABLE}
    values.update({k: v for k, v in urls.items() if v})
    for key, value in values.items():
        if "'" in value or "\n" in value or "\r" in value:
            lines.append(f"# {key} left out: its value cannot be written in single quotes")
            continue
        lines.append(f"{key}='{value}'")
    return "\n".join(lines) + "\n"


def write(var_dir: Path, env: Mapping[str, str], urls: Mapping[str, str | None]) -> Path:
    """Write the file atomically (a reader never sees half of it), mode 0600; returns its path."""
    var_dir.mkdir(parents=True, exist_ok=True)
    path = path_in(var_dir)
    partial = path.with_name(f".{NAME}.{os.getpid()}")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(render(env, urls, os.getpid()))
    os.replace(partial, path)
    return path


def remove(var_dir: Path) -> None:
    """Remove the file if this process wrote it (a file another stack wrote since stays)."""
    path = path_in(var_dir)
    try:
        mine = f"{STACK_PID_VARIABLE}='{os.getpid()}'" in path.read_text("utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return
    if mine:
        path.unlink(missing_ok=True)
