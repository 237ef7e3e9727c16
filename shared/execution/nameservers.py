"""The nameserver step: after a register, and as a job of its own (kind ``nameservers``).

After a create, a failure here never fails the register: the domain exists and is ours. The step is
then reported in ``warnings`` and left to a follow-up ``nameservers`` job (stored by the runner), which
compares what the registry shows with what was asked and changes only what differs. A mere wait (our
limiter, a 429) is not a failure: the register waits and resumes at this step.
"""

from __future__ import annotations

from typing import Any

from shared.errors import RegqError
from shared.execution.context import Execution, LeaseLost
from shared.jobs import NameserversJob, RegisterJob


def _same(shown: list[str] | None, wanted: list[str]) -> bool:
    if shown is None:
        return False
    return sorted(h.lower().rstrip(".") for h in shown) == sorted(wanted)


def complete_nameservers(ex: Execution, job: RegisterJob, shown: list[str] | None) -> dict[str, Any]:
    """Make the nameservers what ``job`` asks, after the domain exists. A wait (throttled, rate limited)
    goes up: the job waits and resumes here (its create is recorded). A failure never fails the job: it
    becomes a warning and ``nameservers_pending`` (the runner then stores a follow-up job)."""
    if not job.nameservers or _same(shown, job.nameservers):
        return {"warnings": [], "nameservers_pending": False}
    try:
        ex.registrar.set_nameservers(job.domain, job.nameservers, ex.policy, glue=job.glue)
    except LeaseLost:
        raise
    except RegqError as exc:
        if exc.disposition == "wait":
            raise
        warning = (
            f"the domain is registered, but setting its nameservers failed ({exc}); left to a follow-up job"
        )
        return {"warnings": [warning], "nameservers_pending": True}
    return {"warnings": [], "nameservers_pending": False}


def run_nameservers(ex: Execution) -> dict[str, Any]:
    job = ex.job
    assert isinstance(job, NameserversJob)
    info = ex.registrar.info(job.domain, ex.policy)
    if _same(info.nameservers, job.nameservers):
        return {"nameservers": job.nameservers, "changed": False}
    ex.registrar.set_nameservers(job.domain, job.nameservers, ex.policy, glue=job.glue)
    return {"nameservers": job.nameservers, "changed": True}
