"""SIGKILL and restart the stack's processes: every worker at once, beat, any child by name."""

from __future__ import annotations

import time
from collections.abc import Iterable

import kombu.exceptions
import redis

from workers.embedded.processes import Child
from workers.embedded.stack import Stack, WorkerGroup
from workers.embedded.supervisor import Supervisor


def kill_child(stack: Stack, name: str) -> None:
    """SIGKILL the child's whole process group (no clean-up, nothing given back to the broker)."""
    stack.children[name].kill()


def restart_child(stack: Stack, name: str) -> Child:
    """Start the child again with the same command line, environment and log (appended to)."""
    old = stack.children[name]
    if old.alive:
        raise RuntimeError(f"{name} is still running: kill it first")
    child = stack.children[name] = old.restarted()
    return child


def kill_all_workers(stack: Stack, groups: Iterable[WorkerGroup]) -> list[str]:
    """SIGKILL every worker of ``groups`` (in turn, as fast as possible); their names."""
    names = [g.name for g in groups]
    for name in names:
        kill_child(stack, name)
    return names


def restart_all_workers(stack: Stack, groups: Iterable[WorkerGroup], timeout: float = 90) -> None:
    """Start every worker of ``groups`` again and wait until each answers a ping."""
    groups = list(groups)
    for group in groups:
        stack.start_worker(group)
    stack.wait_for_workers([g.name for g in groups], timeout=timeout)


def revive_exited_workers(stack: Stack, groups: Iterable[WorkerGroup]) -> list[str]:
    """Start again every worker of ``groups`` whose process exited, as the deployment's supervisor does
    (compose: ``restart: unless-stopped``); the names revived. A scenario reports them: an exit is a
    finding even when nothing is lost. One look of the embedded stack's own :class:`Supervisor` (a fresh
    one: no restart pause carried over from an earlier call)."""
    return Supervisor(stack.children, [g.name for g in groups]).check_once()


def wait_reconnected(
    stack: Stack, groups: Iterable[WorkerGroup], timeout: float = 60, revived: list[str] | None = None
) -> float:
    """Until every worker of ``groups`` answers a ping again after its broker came back; seconds taken.

    The first pings may meet a connection the outage killed (the producer's pool): tried again, and only
    the deadline fails it. With ``revived`` (a list), a worker that exited meanwhile is started again
    (:func:`revive_exited_workers`) and its name appended; without it, an exit fails at once."""
    groups = list(groups)
    began = time.monotonic()
    deadline = began + timeout
    while True:
        if revived is not None:
            revived.extend(revive_exited_workers(stack, groups))
        try:
            stack.wait_for_workers(
                [g.name for g in groups], timeout=min(5.0, max(1.0, deadline - time.monotonic()))
            )
            return time.monotonic() - began
        except (OSError, redis.RedisError, kombu.exceptions.OperationalError, TimeoutError, RuntimeError):
            if time.monotonic() > deadline or (revived is None and _exited(stack, groups)):
                raise
            time.sleep(0.2)


def _exited(stack: Stack, groups: list[WorkerGroup]) -> bool:
    return any(not stack.children[g.name].alive for g in groups)
