"""The thread that plays a fault schedule against a running stack and records what each fault cost."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from testkit.faults.processes import revive_exited_workers
from testkit.soak.redis_restart import RestartableRedis
from testkit.soak.schedule import FaultEvent, phase_rules
from workers.embedded.stack import Stack

log = logging.getLogger("regq.soak")

#: The sandbox roles the 5xx and 429 phases hit (WHOIS and DNS have no fault rules).
PHASE_PROVIDERS = ("gandi", "rotld", "rdap")


@dataclass(frozen=True)
class Injected:
    """One fault as it happened: when (seconds after the start), and how long until the fleet was whole
    again (kill: the new worker answered a ping; redis: every worker answered after the restart)."""

    event: FaultEvent
    started_at: float
    recovered_in: float | None = None
    wall: float = 0.0  # time.time() when it started, to compare with the store's timestamps
    crashed: tuple[str, ...] | list[str] = ()  # redis: the workers that died of the restart (restarted)


@dataclass
class FaultInjector:
    """Plays ``events`` from :meth:`start`; :meth:`stop` ends any phase still on and returns the log."""

    stack: Stack
    redis: RestartableRedis
    events: Sequence[FaultEvent]
    baseline: dict[str, list[dict[str, Any]]]  # provider -> its rules outside phases
    seed: int = 0
    say: Callable[[str], None] = log.info
    done: list[Injected] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    crashes: list[tuple[float, str]] = field(default_factory=list)  # (when, worker) died, not killed by us
    _stop: threading.Event = field(default_factory=threading.Event, repr=False)
    _thread: threading.Thread | None = field(default=None, repr=False)
    _started: float = 0.0

    def start(self) -> FaultInjector:
        self._started = time.monotonic()
        self._thread = threading.Thread(target=self._run, name="soak-faults", daemon=True)
        self._thread.start()
        return self

    def _actions(self) -> list[tuple[float, str, FaultEvent]]:
        actions: list[tuple[float, str, FaultEvent]] = []
        for event in self.events:
            if event.kind in ("5xx", "429"):
                actions.append((event.at, "phase_on", event))
                actions.append((event.at + event.seconds, "phase_off", event))
            else:
                actions.append((event.at, event.kind, event))
        return sorted(actions, key=lambda a: (a[0], a[1] != "phase_off"))

    def _run(self) -> None:
        for at, action, event in self._actions():
            if self._stop.wait(max(0.0, self._started + at - time.monotonic())):
                return
            try:
                self._do(action, event)
            except Exception as exc:  # noqa: BLE001 - reported as a problem of the run
                self.errors.append(f"{event.describe()}: {type(exc).__name__}: {exc}")
                self.say(f"fault failed: {event.describe()}: {exc}")

    def _set_rules(self, event: FaultEvent | None) -> None:
        assert self.stack.sandbox is not None
        for number, provider in enumerate(PHASE_PROVIDERS):
            phase = phase_rules(event.kind, provider, event.index) if event else []
            rules = phase + self.baseline.get(provider, [])
            index = event.index if event else 0
            self.stack.sandbox.set_faults(provider, rules, seed=self.seed * 1000 + index * 10 + number)

    def _do(self, action: str, event: FaultEvent) -> None:
        began, wall = time.monotonic(), time.time()
        at = round(began - self._started, 1)
        self.crashes += [(at, name) for name in self._revive()]  # a worker that died since the last fault
        if action == "phase_on":
            self._set_rules(event)
            self.done.append(Injected(event, at, None, wall))
            self.say(f"t={at:.0f} s: {event.kind} phase on for {event.seconds:g} s")
        elif action == "phase_off":
            self._set_rules(None)
            self.say(f"t={at:.0f} s: {event.kind} phase off")
        elif action == "kill":
            group = next(g for g in self.stack.groups if g.name == event.target)
            self.stack.kill_worker(group.name)
            self.stack.start_worker(group)
            crashed = self._wait_whole(began + 120, [group.name])
            self.crashes += [(at, name) for name in crashed]
            took = round(time.monotonic() - began, 1)
            self.done.append(Injected(event, at, took, wall))
            self.say(f"t={at:.0f} s: SIGKILLed {group.name}, the new one answered after {took} s")
        elif action == "redis":
            self.redis.restart(event.seconds)
            crashed = self._wait_whole(began + 120)
            self.crashes += [(at, name) for name in crashed]
            took = round(time.monotonic() - began, 1)
            self.done.append(Injected(event, at, took, wall, crashed))
            died = f"; {', '.join(crashed)} died of it and were restarted" if crashed else ""
            self.say(f"t={at:.0f} s: Redis restarted (empty), every worker answered after {took} s{died}")
        else:
            raise ValueError(f"unknown fault action {action!r}")

    def _revive(self) -> list[str]:
        """Start again every worker whose process exited without being killed by us (a supervisor's job:
        compose restarts them, ``restart: unless-stopped``); the names of those that had died."""
        return revive_exited_workers(self.stack, self.stack.groups)

    def _wait_whole(self, deadline: float, names: list[str] | None = None) -> list[str]:
        """Until ``names`` (every worker) answer a ping, reviving any that die meanwhile; who died."""
        crashed: list[str] = []
        names = names or [g.name for g in self.stack.groups]
        while True:
            crashed += [n for n in self._revive() if n not in crashed]
            try:
                self.stack.wait_for_workers(names, timeout=5)
                return crashed
            except (RuntimeError, TimeoutError):
                if time.monotonic() >= deadline:
                    raise

    def stop(self) -> list[Injected]:
        """Stop playing; back to the baseline rules (a phase cut short by the end is ended here)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=180)
        try:
            self._set_rules(None)
            self.crashes += [(round(time.monotonic() - self._started, 1), n) for n in self._revive()]
        except Exception as exc:  # noqa: BLE001 - reported as a problem of the run
            self.errors.append(f"restoring the baseline fault rules: {type(exc).__name__}: {exc}")
        return self.done
