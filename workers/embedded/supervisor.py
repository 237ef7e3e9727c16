"""Restart what dies on its own: the embedded stack's process supervisor (``regq up``, ``regq demo``).

In compose a worker that exits is restarted by ``restart: unless-stopped``; the embedded stack had no
one to do that, so a worker that died (kombu 5.7 can stop one with ``AttributeError: 'NoneType' object
has no attribute 'hostname'`` when its Redis broker restarts, celery#8030 / kombu#2007; an OOM kill)
left its queue without a consumer until the stack was restarted. Nothing is lost either way (the
database is the truth and the sweep republishes), but the queue stood still.

:class:`Supervisor` looks at the named children once a second and starts again, with the same command
line, environment and log file, any that exited; a child that keeps dying is restarted with a doubling
pause (1 s up to 60 s) so a broken configuration does not spin.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, MutableMapping

from workers.embedded.processes import Child

log = logging.getLogger(__name__)

CHECK_SECONDS = 1.0
MAX_PAUSE_SECONDS = 60.0


class Supervisor:
    """Watches ``children[name]`` for each of ``names`` until :meth:`stop`; ``restarts`` counts them."""

    def __init__(
        self,
        children: MutableMapping[str, Child],
        names: Iterable[str],
        on_restart: Callable[[str], object] | None = None,
    ) -> None:
        self.children = children
        self.names = tuple(names)
        self.on_restart = on_restart
        self.restarts: dict[str, int] = dict.fromkeys(self.names, 0)
        self._pause: dict[str, float] = dict.fromkeys(self.names, 1.0)
        self._not_before: dict[str, float] = dict.fromkeys(self.names, 0.0)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="stack-supervisor", daemon=True)

    def start(self) -> Supervisor:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop watching (before the stack stops its children, so none is started again)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def check_once(self, now: float | None = None) -> list[str]:
        """Restart each watched child that exited (and whose pause is over); the names restarted."""
        moment = time.monotonic() if now is None else now
        restarted = []
        for name in self.names:
            child = self.children.get(name)
            if child is None or child.alive or moment < self._not_before[name] or self._stop.is_set():
                continue
            code = child.proc.returncode if child.proc is not None else None
            log.warning("%s exited (code %s): starting it again (see %s)", name, code, child.log_path)
            self.children[name] = child.restarted()
            self.restarts[name] += 1
            self._not_before[name] = moment + self._pause[name]
            self._pause[name] = min(self._pause[name] * 2, MAX_PAUSE_SECONDS)
            restarted.append(name)
            if self.on_restart is not None:
                self.on_restart(name)
        return restarted

    def _run(self) -> None:
        while not self._stop.wait(CHECK_SECONDS):
            self.check_once()
