"""The soak scenario of ``bench/soak.py``: a bounded run of mixed register/renew/lookup jobs through the
real embedded stack while faults happen on a schedule, then every figure that says it held up.

* :mod:`~testkit.soak.schedule`: the seeded fault timeline (SIGKILLs, Redis restarts, 5xx / 429 phases);
* :mod:`~testkit.soak.injector`: the thread playing it against the stack;
* :mod:`~testkit.soak.redis_restart`: the Redis (also the broker) that a restart empties;
* :mod:`~testkit.soak.workload`: the jobs (the chaos scenario's plan plus lookups) and their producer;
* :mod:`~testkit.soak.memory`: RSS of every process from ``/proc``, and the growth verdict;
* :mod:`~testkit.soak.report`: :class:`SoakReport` (tables, JSON);
* :mod:`~testkit.soak.run`: :class:`SoakConfig`, the stack's settings and layout, :func:`run_soak`.
"""

from testkit.soak.memory import MemoryRow, MemorySampler, Sample, summarize, write_samples
from testkit.soak.redis_restart import RestartableRedis
from testkit.soak.report import SoakReport, percentile
from testkit.soak.run import SoakConfig, SoakRun, run_soak, soak_env, worker_groups
from testkit.soak.schedule import CYCLE, FaultEvent, build_schedule, phase_rules
from testkit.soak.workload import Mix

__all__ = [
    "CYCLE",
    "FaultEvent",
    "MemoryRow",
    "MemorySampler",
    "Mix",
    "RestartableRedis",
    "Sample",
    "SoakConfig",
    "SoakReport",
    "SoakRun",
    "build_schedule",
    "percentile",
    "phase_rules",
    "run_soak",
    "soak_env",
    "summarize",
    "worker_groups",
    "write_samples",
]
