"""The chaos scenario shared by ``tests/test_chaos.py`` and ``bench/chaos.py``.

Real ``celery worker`` processes against the sandbox upstreams, while:

* the sandbox applies the effect then drops the connection (``commit_drop``) on a share of the creates
  and renewals, and answers 500 on another share (both providers: Gandi ``create``/``renew``, ROTLD
  ``domain-register``/``domain-renew``);
* every job is submitted ``copies`` times from concurrent producer threads through
  :func:`tasks.publish.submit` (same key: one creates, the others answer ``duplicate=True``), and
  for ``raw_share`` of the jobs ``raw_duplicates`` extra messages are published with
  :func:`tasks.publish.publish_record`, as a producer or broker duplicate would deliver them (the other
  jobs travel as a single message: when a kill takes it, only the sweep brings the job back);
* a killer thread SIGKILLs a whole registrar worker (its process group) at seeded random moments and
  starts a new one; beat and a maintenance worker run as the README documents, so the sweep republishes
  what the dead worker held.

Some register jobs name domains someone else already holds: they must end ``failed`` with
``domain_unavailable``. Renewals start from a seeded expiry and must move it by exactly the requested
years. :func:`run_chaos` drives it all and returns a :class:`ChaosReport`; ``report.problems`` lists
every violated invariant (empty when the run is clean).

Every random choice (names, the sandbox's fault RNG, producer orders, the kill schedule) comes from
``ChaosConfig.seed``: it is printed; pass it back to replay a failure (process timing still varies).

Modules: :mod:`~testkit.chaos_scenario.config` (:class:`ChaosConfig`, the worker layout, the stack's
settings), :mod:`~testkit.chaos_scenario.plan` (the planned jobs, the fault rules, seeding the sandbox),
:mod:`~testkit.chaos_scenario.producers` (the submitting threads), :mod:`~testkit.chaos_scenario.killer`
(the worker killer), :mod:`~testkit.chaos_scenario.report` (:class:`ChaosReport` and the checks) and
:mod:`~testkit.chaos_scenario.run` (:func:`run_chaos`).

The day-2 variant (``tests/test_chaos_day2.py``, ``bench/chaos_day2.py``: transfers, nameservers, locks,
contacts, glue, owner changes, each effect counted once at the sandbox) reuses the config, the killer and
the store reads: :mod:`~testkit.chaos_scenario.day2_plan` (:class:`Day2Config`, the jobs, seeding),
:mod:`~testkit.chaos_scenario.day2_run` (:func:`run_day2`) and :mod:`~testkit.chaos_scenario.day2_check`
(:class:`Day2Report` and the checks). They are imported from their modules, not from here, as is
:mod:`~testkit.chaos_scenario.bench` (what both benches share: the run on fresh services, the outcome).
"""

from testkit.chaos_scenario.config import ChaosConfig, stack_env, worker_groups
from testkit.chaos_scenario.killer import Kill, Killer, killable
from testkit.chaos_scenario.plan import (
    EFFECT_OPERATIONS,
    PROVIDER_OF_TLD,
    Plan,
    PlannedJob,
    fault_rules,
    plan_jobs,
    prepare,
)
from testkit.chaos_scenario.producers import SubmitLog, submit_all
from testkit.chaos_scenario.report import ChaosReport, Counts, check
from testkit.chaos_scenario.run import ChaosRun, load_records, run_chaos, wait_all_final

__all__ = [
    "EFFECT_OPERATIONS",
    "PROVIDER_OF_TLD",
    "ChaosConfig",
    "ChaosReport",
    "ChaosRun",
    "Counts",
    "Kill",
    "Killer",
    "Plan",
    "PlannedJob",
    "SubmitLog",
    "check",
    "fault_rules",
    "killable",
    "load_records",
    "plan_jobs",
    "prepare",
    "run_chaos",
    "stack_env",
    "submit_all",
    "wait_all_final",
    "worker_groups",
]
