"""What the tasks share in one process: :class:`shared.services.Services` plus Celery's producer app.

``get()`` is the per-process accessor (a :class:`shared.services.PerProcess`): built on first use, built
again in a forked pool process (pid check), after ``close()`` and when the settings changed.
"""

from __future__ import annotations

from typing import Any

from celery import Celery

from shared.services import PerProcess, Services
from shared.settings import get_settings
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


def get() -> Runtime:
    """This process's runtime."""
    return _process.get()
