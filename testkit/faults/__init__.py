"""Fault machinery for the scenarios of ``tests/test_faults_*.py``: real processes, real services.

* :mod:`~testkit.faults.proxy`: :class:`TcpProxy`, a TCP proxy the test controls (forward, cut every
  connection, refuse new ones, restore on the same port), between the stack and Postgres or a broker;
* :class:`RestartableRedis` (from :mod:`testkit.soak.redis_restart`, shared with the soak bench): a
  throwaway redis-server on a fixed port that a restart empties;
* :mod:`~testkit.faults.processes`: SIGKILL and restart every worker, beat, any child of the stack;
* :mod:`~testkit.faults.scenario`: the jobs a scenario submits and :func:`check`, its invariants (jobs
  submitted = jobs final, duplicate effects at the sandbox = 0, overlapping deliveries of one job = 0).
"""

from testkit.faults.broker import held_keys
from testkit.faults.processes import (
    kill_all_workers,
    kill_child,
    restart_all_workers,
    restart_child,
    revive_exited_workers,
    wait_reconnected,
)
from testkit.faults.proxy import TcpProxy
from testkit.faults.scenario import (
    FAST_RECOVERY,
    FAULT_GROUPS,
    FaultReport,
    check,
    overlapping_calls,
    records,
    submit_registers,
    wait_all_final,
)
from testkit.soak.redis_restart import RestartableRedis

__all__ = [
    "FAST_RECOVERY",
    "FAULT_GROUPS",
    "FaultReport",
    "RestartableRedis",
    "TcpProxy",
    "check",
    "held_keys",
    "kill_all_workers",
    "kill_child",
    "overlapping_calls",
    "records",
    "restart_all_workers",
    "restart_child",
    "revive_exited_workers",
    "submit_registers",
    "wait_all_final",
    "wait_reconnected",
]
