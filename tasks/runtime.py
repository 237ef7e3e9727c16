"""What the tasks share in one process: :class:`shared.services.Services` plus Celery's producer app.

``get()`` is the per-process accessor (a :class:`shared.services.PerProcess`): built on first use, built
again in a forked pool process (pid check), after ``close()`` and when the settings changed.

Every task calls ``get()``, so its common case is cheap: when the environment rules out a stack file
(``REGQ_STACK_FILE`` empty, as in every worker an embedded stack starts) the settings are a function of
the ``REGQ_*`` variables alone, and an unchanged set of them (compared as the raw bytes the process
holds, nothing decoded, nothing parsed) in the same, open process answers the runtime at hand. Any
change, or a stack file in play, takes the full path (``get_settings``: the decoded environment and the
stack file's identity).
"""

from __future__ import annotations

import os
from typing import Any

from celery import Celery

from shared.services import PerProcess, Services
from shared.settings import ENV_PREFIX, STACK_FILE_VARIABLE, get_settings
from tasks.producer import producer_app


class Runtime(Services):
    """The composition root plus the one Celery-specific part."""

    @property
    def producer(self) -> Celery:
        """Publishes with these settings (the sweeper and the renewal scan use it)."""
        return self._part("producer", lambda: producer_app(self.settings))

    def _close_parts(self, parts: dict[str, Any]) -> None:
        if "producer" in parts:
            parts["producer"].close()
        super()._close_parts(parts)


_process: PerProcess[Runtime] = PerProcess(Runtime, get_settings)
#: (the raw REGQ_* variables, pid, runtime) of the last full ``get()`` without a stack file in play.
_last: tuple[tuple[tuple[bytes, bytes], ...], int, Runtime] | None = None
_PREFIX = ENV_PREFIX.encode()
_NO_STACK_FILE = (STACK_FILE_VARIABLE.encode(), b"")


def get() -> Runtime:
    """This process's runtime."""
    global _last
    variables = _raw_regq_variables()
    last = _last
    if variables is not None and last is not None and last[0] == variables and last[1] == os.getpid():
        if not last[2].closed:
            return last[2]
    current = _process.get()
    _last = (variables, os.getpid(), current) if variables is not None else None
    return current


def _raw_regq_variables() -> tuple[tuple[bytes, bytes], ...] | None:
    """The ``REGQ_*`` variables as the process holds them (POSIX: bytes, in ``os.environ``'s own dict),
    when they rule out a stack file (``REGQ_STACK_FILE`` set and empty); None otherwise (or elsewhere)."""
    data = getattr(os.environ, "_data", None)
    if not isinstance(data, dict):
        return None
    found = tuple(item for item in data.items() if item[0][: len(_PREFIX)].upper() == _PREFIX)
    return found if _NO_STACK_FILE in found else None
