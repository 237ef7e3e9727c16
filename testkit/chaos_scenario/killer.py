"""The killer of a chaos run: SIGKILLs whole registrar workers at seeded moments and restarts them."""

from __future__ import annotations

import logging
import os
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import sqlalchemy as sa

from shared.jobs import JobStatus
from shared.store import Store
from shared.store.schema import JobRow, utcnow
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
    in_flight: tuple[str, ...] = ()  # jobs whose lease the killed worker held (with ``before_kill``)


def leases_held(stack: Stack, store: Store, group: WorkerGroup) -> tuple[str, ...]:
    """The keys of the running jobs whose unexpired lease a process of ``group``'s worker holds now (the
    lease owner is ``host:pid:task id``, see :mod:`tasks.delivery`; the pid is matched to the worker's
    process group, so call it before the kill)."""
    child = stack.children.get(group.name)
    if child is None or child.proc is None:
        return ()
    with store.db.session() as session:
        rows = session.execute(
            sa.select(JobRow.key, JobRow.lease_owner).where(
                JobRow.status == JobStatus.RUNNING.value, JobRow.lease_until > utcnow()
            )
        ).all()
    held = []
    for key, owner in rows:
        try:
            pid = int(str(owner).rsplit(":", 2)[1])
            if os.getpgid(pid) == child.proc.pid:
                held.append(key)
        except (IndexError, ValueError, ProcessLookupError, PermissionError):
            continue
    return tuple(sorted(held))


Pick = Callable[[random.Random, list[WorkerGroup]], WorkerGroup]


def busy_first(stack: Stack, store: Store, patience: float = 3.0) -> Pick:
    """A ``pick`` for :class:`Killer`: a worker holding a running job's lease (the kill lands mid-job,
    mostly mid-call), looked for every 0.1 s for up to ``patience`` seconds, the one killed least so far
    among them; then any."""
    killed: Counter[str] = Counter()

    def pick(rng: random.Random, groups: list[WorkerGroup]) -> WorkerGroup:
        until = time.monotonic() + patience
        busy = [g for g in groups if leases_held(stack, store, g)]
        while not busy and time.monotonic() < until:
            time.sleep(0.1)
            busy = [g for g in groups if leases_held(stack, store, g)]
        pool = busy or groups
        fewest = min(killed[g.name] for g in pool)
        chosen = rng.choice([g for g in pool if killed[g.name] == fewest])
        killed[chosen.name] += 1
        return chosen

    return pick


class Killer:
    """SIGKILLs a random registrar worker's process group every ``kill_interval`` and starts a new one."""

    def __init__(
        self,
        stack: Stack,
        groups: list[WorkerGroup],
        config: ChaosConfig,
        before_kill: Callable[[WorkerGroup], tuple[str, ...]] | None = None,
        pick: Pick | None = None,
        overlap: bool = False,
    ) -> None:
        """``before_kill(group)``, if given, runs right before each SIGKILL: what it returns (the jobs
        the worker holds, say :func:`leases_held`) is kept as the kill's ``in_flight``. ``pick(rng,
        groups)`` chooses the worker to kill (default: any, uniformly; see :func:`busy_first`). With
        ``overlap`` the next kill does not wait for the last restart (a worker still restarting is not
        chosen): kills keep their pace however slowly a worker starts."""
        self.stack, self.groups, self.config = stack, groups, config
        self.before_kill, self.pick, self.overlap = before_kill, pick, overlap
        self._lock = threading.Lock()
        self._restarting: set[str] = set()
        self._waiters: list[threading.Thread] = []
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
        killed = 0
        while not self._stop.wait(self.rng.uniform(low, high)):
            with self._lock:
                ready = [g for g in self.groups if g.name not in self._restarting]
            if not ready:
                continue
            group = self.pick(self.rng, ready) if self.pick else self.rng.choice(ready)
            at, wall = time.monotonic(), time.time()
            try:
                held = self.before_kill(group) if self.before_kill is not None else ()
                self.stack.kill_worker(group.name)
                self.stack.start_worker(group)
            except Exception as exc:  # noqa: BLE001 - reported as a problem
                self.errors.append(f"kill/restart of {group.name}: {type(exc).__name__}: {exc}")
                return
            killed += 1
            if self.overlap:
                with self._lock:
                    self._restarting.add(group.name)
                waiter = threading.Thread(
                    target=self._restarted, args=(group, at, wall, held), name=f"chaos-restart-{group.name}"
                )
                waiter.start()
                self._waiters.append(waiter)
            elif not self._restarted(group, at, wall, held):
                return
            if self.config.max_kills and killed >= self.config.max_kills:
                return

    def _restarted(self, group: WorkerGroup, at: float, wall: float, held: tuple[str, ...]) -> bool:
        """Wait until ``group``'s new worker answers a ping, then record the kill (False: it did not)."""
        try:
            if self.overlap:
                self._await_ping(group)
            else:
                self.stack.wait_for_workers([group.name], timeout=90)
        except Exception as exc:  # noqa: BLE001 - reported as a problem
            self.errors.append(f"kill/restart of {group.name}: {type(exc).__name__}: {exc}")
            self._stop.set()
            return False
        restarted = round(time.monotonic() - at, 1)
        with self._lock:
            self.kills.append(Kill(round(at - self._started, 1), group.name, restarted, wall, held))
            self._restarting.discard(group.name)
        log.info("killed and restarted %s (%d kills)", group.name, len(self.kills))
        return True

    def _await_ping(self, group: WorkerGroup, timeout: float = 90.0) -> None:
        """:meth:`Stack.wait_for_workers` for one worker, looking at that worker's process only (another
        one may be dead for a moment, between its kill and its restart)."""
        app = self.stack.producer()
        name = f"{group.name}@{os.uname().nodename}"
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                child = self.stack.children[group.name]
                if not child.alive:
                    raise RuntimeError(f"{group.name} exited early: see {child.log_path}")
                if app.control.ping(destination=[name], timeout=1.0):
                    return
            raise TimeoutError(f"worker {name} did not answer within {timeout} s")
        finally:
            app.close()

    def stop(self) -> list[Kill]:
        self._stop.set()
        self._thread.join(timeout=120)
        for waiter in self._waiters:
            waiter.join(timeout=120)
        return sorted(self.kills, key=lambda k: k.at)
