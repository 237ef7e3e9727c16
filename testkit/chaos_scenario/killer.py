"""The killer of a chaos run: SIGKILLs whole registrar workers at seeded moments and restarts them."""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass

from testkit.chaos_scenario.config import ChaosConfig
from workers.embedded.stack import Stack, WorkerGroup

log = logging.getLogger("regq.chaos")


def killable(groups: Iterable[WorkerGroup]) -> list[WorkerGroup]:
    """The registrar workers: the ones the killer chooses from."""
    return [g for g in groups if any(q.startswith("registrar.") for q in g.queues)]


@dataclass(frozen=True)
class Kill:
    at: float  # seconds since the killer started
    worker: str
    restarted_in: float  # seconds until the new worker answered a ping
    wall: float = 0.0  # time.time() of the kill, to compare with the store's timestamps


class Killer:
    """SIGKILLs a random registrar worker's process group every ``kill_interval`` and starts a new one."""

    def __init__(self, stack: Stack, groups: list[WorkerGroup], config: ChaosConfig) -> None:
        self.stack, self.groups, self.config = stack, groups, config
        self.rng = random.Random(config.seed + 7)
        self.kills: list[Kill] = []
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="chaos-killer", daemon=True)
        self._started = 0.0

    def start(self) -> Killer:
        self._started = time.monotonic()
        self._thread.start()
        return self

    def _run(self) -> None:
        low, high = self.config.kill_interval
        while not self._stop.wait(self.rng.uniform(low, high)):
            group = self.rng.choice(self.groups)
            at, wall = time.monotonic(), time.time()
            try:
                self.stack.kill_worker(group.name)
                self.stack.start_worker(group)
                self.stack.wait_for_workers([group.name], timeout=90)
            except Exception as exc:  # noqa: BLE001 - reported as a problem
                self.errors.append(f"kill/restart of {group.name}: {type(exc).__name__}: {exc}")
                return
            restarted = round(time.monotonic() - at, 1)
            self.kills.append(Kill(round(at - self._started, 1), group.name, restarted, wall))
            log.info("killed and restarted %s (%d kills)", group.name, len(self.kills))

    def stop(self) -> list[Kill]:
        self._stop.set()
        self._thread.join(timeout=120)
        return self.kills
