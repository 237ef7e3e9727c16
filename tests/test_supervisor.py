"""The embedded stack's supervisor restarts a child that died on its own, with the same command line."""

from __future__ import annotations

import sys
from pathlib import Path

from testkit.stacks import wait_for
from workers.embedded.processes import Child
from workers.embedded.supervisor import Supervisor

SLEEPER = [sys.executable, "-c", "import time; time.sleep(60)"]


def test_a_dead_child_is_started_again_and_a_stopped_supervisor_leaves_it(tmp_path: Path) -> None:
    log = tmp_path / "w.log"
    children = {"w": Child("w", SLEEPER, {}, log).start()}
    supervisor = Supervisor(children, ["w"])
    first = children["w"]
    try:
        assert supervisor.check_once() == []  # alive: nothing to do
        first.kill()
        wait_for(lambda: not first.alive, 10, "the child to die")
        assert supervisor.check_once(now=0.0) == ["w"]
        second = children["w"]
        assert second is not first and second.alive and second.argv == SLEEPER and second.log_path == log
        second.kill()
        wait_for(lambda: not second.alive, 10, "the second child to die")
        assert supervisor.check_once(now=0.5) == []  # within its 1 s pause: not yet
        assert supervisor.check_once(now=1.5) == ["w"] and supervisor.restarts["w"] == 2
        supervisor.stop()
        third = children["w"]
        third.kill()
        wait_for(lambda: not third.alive, 10, "the third child to die")
        assert supervisor.check_once(now=100.0) == []  # stopped: the stack is shutting down
    finally:
        for child in children.values():
            child.stop()


def test_the_supervisor_thread_restarts_on_its_own(tmp_path: Path) -> None:
    children = {"w": Child("w", SLEEPER, {}, tmp_path / "w.log").start()}
    first = children["w"]
    supervisor = Supervisor(children, ["w"]).start()
    try:
        first.kill()
        wait_for(lambda: children["w"] is not first and children["w"].alive, 10, "a restarted child")
    finally:
        supervisor.stop()
        for child in children.values():
            child.stop()
