"""The transfer lock (job kind ``lock``): read the domain's state, change it only when it differs.

A registrar without a transfer lock (ROTLD) is refused before any request (:class:`Unsupported`: the job
ends ``rejected`` naming it); a Gandi TLD without one (``can_tld_lock: false``) is refused by the gateway
before its PATCH."""

from __future__ import annotations

from typing import Any

from shared.execution.autorenew import remember_autorenew
from shared.execution.context import Execution
from shared.execution.day2_ops import day2
from shared.jobs_day2 import LockJob


def run_lock(ex: Execution) -> dict[str, Any]:
    job = ex.job
    assert isinstance(job, LockJob)
    gateway = day2(ex.registrar, "set_lock", "a transfer lock")
    state = gateway.domain_state(job.domain, ex.policy)
    remember_autorenew(ex, job.domain, state.autorenew)  # the read shows it (Gandi): kept for domains show
    if state.locked is not None and state.locked == job.locked:
        return {"locked": state.locked, "changed": False}
    after = gateway.set_lock(job.domain, job.locked, ex.policy)  # Unsupported where the TLD has none
    return {"locked": bool(after.locked) if after.locked is not None else job.locked, "changed": True}
